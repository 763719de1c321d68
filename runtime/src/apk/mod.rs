//! APK v2 packaging on the client: packages from the exported
//! `melange-out/<name>` trees, signatures, and the repository index. Keys
//! never reach the daemon.

pub mod gz;
pub mod index;
pub mod key;
pub mod package;
pub mod read;
pub mod sca;
pub mod tarball;
