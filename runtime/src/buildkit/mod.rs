//! Our BuildKit client: where the daemon is, how to reach it, what it can
//! do, and one solve with its session.

pub mod addr;
pub mod connect;
pub mod daemon;
pub mod session;
pub mod solve;
