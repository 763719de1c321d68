//! One gzip member with fixed header bytes (no name, MTIME 0, OS 255) and a
//! pinned DEFLATE implementation and level, so equal input gives equal
//! bytes on every machine.

use std::io::Write;

use flate2::{Compression, GzBuilder};

pub fn member(data: &[u8]) -> Vec<u8> {
    let mut gz = GzBuilder::new()
        .mtime(0)
        .write(Vec::with_capacity(data.len() / 3 + 64), Compression::new(6));
    gz.write_all(data).expect("writing to memory");
    gz.finish().expect("writing to memory")
}
