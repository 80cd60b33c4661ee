//! The block-subset YAML parser declines any bytes or builds exactly the tree the general
//! parser builds, which finds no error in them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = meshlint::fuzzing::parsers_agree(data) {
        panic!("{e}");
    }
});
