//! Any text as a lock file: an error naming the file, or locks that read
//! back the same once `melangec lock` writes them out again.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use melangec::environment::lockfile;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let name = Path::new("fuzz.lock.yaml");
    let Ok(locks) = lockfile::parse(name, text) else {
        return;
    };
    let written = lockfile::render(&locks);
    match lockfile::parse(name, &written) {
        Ok(again) => assert_eq!(
            again, locks,
            "a written lock reads back otherwise:\n{written}"
        ),
        Err(e) => panic!("a written lock does not read back: {e}\n{written}"),
    }
});
