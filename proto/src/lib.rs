//! Our own protobuf schemas, compiled by prost-build. `pb` is BuildKit's LLB.

/// BuildKit's LLB wire format (package `pb`).
#[allow(clippy::all, missing_docs)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/pb.rs"));
}
