//! Fuzz `unlock-failures.json`, which is not authenticated: whatever it holds, the back-off
//! stays bounded and no entry is believed from the future or about an unknown user.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first eight bytes pick "now" (any instant, extremes included); the rest is the file.
    let (now, file) = data.split_at(data.len().min(8));
    let mut n = [0u8; 8];
    n[..now.len()].copy_from_slice(now);
    outpost_store::fuzzing::failures(file, i64::from_le_bytes(n));
});
