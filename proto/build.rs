//! Compiles our `.proto` schemas with protox (pure Rust, so a fresh machine
//! needs no system `protoc`) and generates prost types with sorted maps, which
//! keeps every encoded map in key order.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let schemas = ["schema/ops.proto"];
    for schema in schemas {
        println!("cargo:rerun-if-changed={schema}");
    }
    let descriptors = protox::compile(schemas, ["schema"])?;
    prost_build::Config::new()
        .btree_map(["."])
        .compile_fds(descriptors)?;
    Ok(())
}
