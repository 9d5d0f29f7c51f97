//! Fuzz a backup's header, read before any passphrase is tried: a crafted file is refused or
//! stays within the key-derivation and manifest limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    outpost_store::fuzzing::backup_header(data);
});
