//! Our own protobuf schemas, compiled by prost-build. `pb` is BuildKit's LLB;
//! with the `grpc` feature, `moby`, `fsutil` and `grpc` hold BuildKit's
//! Control API and the session services, with tonic clients and servers.

#[cfg(not(feature = "grpc"))]
/// BuildKit's LLB wire format (package `pb`).
#[allow(clippy::all, missing_docs)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/pb.rs"));
}

#[cfg(feature = "grpc")]
#[allow(clippy::all, missing_docs)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/grpc.rs"));
}

#[cfg(feature = "grpc")]
pub use generated::*;
