//! Any bytes as an .llb file: an error or a rendering, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = melangec_compiler::render::render_bytes(data);
});
