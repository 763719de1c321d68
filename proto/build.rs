//! Compiles our `.proto` schemas with protox (pure Rust, so a fresh machine
//! needs no system `protoc`) and generates prost types with sorted maps, which
//! keeps every encoded map in key order. With the `grpc` feature the Control
//! API and the session services are compiled too, with tonic stubs.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let grpc = std::env::var_os("CARGO_FEATURE_GRPC").is_some();
    let schemas: &[&str] = if grpc {
        &[
            "schema/ops.proto",
            "schema/worker.proto",
            "schema/control.proto",
            "schema/fsutil.proto",
            "schema/filesync.proto",
            "schema/health.proto",
        ]
    } else {
        &["schema/ops.proto"]
    };
    for schema in schemas {
        println!("cargo:rerun-if-changed={schema}");
    }
    let descriptors = protox::compile(schemas, ["schema"])?;
    #[cfg(feature = "grpc")]
    if grpc {
        tonic_prost_build::configure()
            .btree_map(".")
            .include_file("grpc.rs")
            .compile_fds(descriptors)?;
        return Ok(());
    }
    prost_build::Config::new()
        .btree_map(["."])
        .compile_fds(descriptors)?;
    Ok(())
}
