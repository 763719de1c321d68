//! No input makes the compiler panic: every testdata recipe cut short at
//! every line and with bytes flipped, run through the whole pipeline.

mod common;

use melangec_compiler::{compile, render, Arch, Options, SourceFile};

/// A tiny deterministic generator, so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn survive(text: &str) {
    let lib = common::testdata_library();
    let file = SourceFile::new("fuzz.yaml", text);
    if let Ok(c) = compile(&file, &Options::new(Arch::X86_64), &lib) {
        render::render_bytes(&c.bytes).expect("our own output renders");
    }
}

#[test]
fn truncated_and_mutated_recipes_do_not_panic() {
    let mut rng = Lcg(42);
    let specials = b"{}[]:-'\"$#&*!|>%@` \n\t";
    for path in common::yaml_files(&common::root().join("testdata")) {
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, _) in text.match_indices('\n') {
            survive(&text[..i]);
        }
        for _ in 0..300 {
            let mut bytes = text.clone().into_bytes();
            for _ in 0..1 + rng.next() % 4 {
                let at = (rng.next() as usize) % bytes.len();
                bytes[at] = specials[(rng.next() as usize) % specials.len()];
            }
            if let Ok(s) = String::from_utf8(bytes) {
                survive(&s);
            }
        }
    }
}

#[test]
fn garbage_llb_is_an_error_not_a_panic() {
    let mut rng = Lcg(7);
    for len in 0..200 {
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let _ = render::render_bytes(&bytes);
    }
}
