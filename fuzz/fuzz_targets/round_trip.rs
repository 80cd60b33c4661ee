//! inject → inject → uninject: exact (the original text back, the second inject a no-op)
//! or refused at some step.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = meshlint::fuzzing::round_trip(data) {
        panic!("{broken}");
    }
});
