//! APK repositories as build environments come from: versions, constraints
//! and the resolver.

pub mod constraint;
pub mod index;
pub mod lock;
pub mod resolve;
pub mod rootfs;
pub mod version;
