//! The runtime: our BuildKit client, the session protocols, progress.

pub mod apk;
pub mod atomic;
pub mod buildkit;
pub mod listing;
pub mod repo;
pub mod scratch;
pub mod status_view;
pub mod transfer;
