//! Fuzz `profile.json` and the recovery sheet, which anyone with the laptop (or the printout)
//! can change: never a panic, and what is read prints and reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    outpost_store::fuzzing::profile_file(data);
    if let Ok(text) = std::str::from_utf8(data) {
        outpost_store::fuzzing::recovery_sheet(text);
    }
});
