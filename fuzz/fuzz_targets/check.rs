//! Load, check and render one file's bytes in every format: no panic, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

thread_local! {
    static DIR: tempfile::TempDir = tempfile::tempdir().expect("a temporary directory");
}

fuzz_target!(|data: &[u8]| {
    DIR.with(|dir| {
        let path = dir.path().join("input.yaml");
        meshlint::fuzzing::check(&path, data).expect("the input file can be written");
    });
});
