//! Any text through every compiler pass: diagnostics, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use melangec_compiler::{compile, Arch, Options, PipelineLibrary, SourceFile};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let lib = PipelineLibrary::builtin();
        let _ = compile(
            &SourceFile::new("fuzz.yaml", text),
            &Options::new(Arch::X86_64),
            &lib,
        );
    }
});
