//! APK repositories as build environments come from: versions, constraints
//! and the resolver.

pub mod cache;
pub mod constraint;
pub mod index;
pub mod lock;
pub mod pinned;
pub mod resolve;
pub mod rootfs;
pub mod version;
