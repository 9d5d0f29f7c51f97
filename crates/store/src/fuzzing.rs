//! Entry points for the fuzz targets in `fuzz/`: the readers of files anyone with the laptop
//! (or a crafted download) can hand Outpost, on raw bytes, each checking what must hold for
//! any input. Not an API: hidden from the docs, kept public only for the fuzz crate.

use crate::backup::{HEADER_LEN, parse_header};
use crate::profile::file::{FileKey, ProfileFile};
use crate::profile::{Failures, MAX_BACKOFF_SECS, MAX_FAILURES_KEPT, RecoverySheet};

/// `profile.json`: any bytes parse or are refused without panicking; what parses can be
/// checked against a seal and, when its recovery wraps are well formed, printed as a
/// recovery sheet that reads back as the same text.
pub fn profile_file(bytes: &[u8]) {
    let Ok(file) = ProfileFile::parse(bytes) else {
        return;
    };
    let _ = file.id_bytes();
    let _ = file.seal(&FileKey::of(&[7; 32]));
    let sheet = RecoverySheet {
        profile_id: file.profile_id.clone(),
        kind: file.kind,
        wrapped_key: file.recovery.wrapped_key.clone(),
        identity: file.recovery.identity.clone(),
    };
    if let Ok(text) = sheet.text() {
        let read = RecoverySheet::parse(&text).expect("a printed sheet reads back");
        assert_eq!(read.text().expect("and prints again"), text);
    }
}

/// A recovery sheet as typed: refused, or read into something that prints and reads back.
pub fn recovery_sheet(text: &str) {
    if let Ok(sheet) = RecoverySheet::parse(text) {
        let printed = sheet.text().expect("a read sheet prints");
        assert_eq!(
            RecoverySheet::parse(&printed).expect("and reads back"),
            sheet
        );
    }
}

/// `unlock-failures.json`: whatever it holds, at most [`MAX_FAILURES_KEPT`] entries are
/// believed, none dated after `now_ms`, none naming an unknown user, and nobody waits longer
/// than the longest back-off.
pub fn failures(bytes: &[u8], now_ms: i64) {
    let known = ["a".repeat(32)];
    let f = Failures::read(bytes, &known, now_ms);
    assert!(f.failures.len() <= MAX_FAILURES_KEPT);
    for (at, who) in &f.failures {
        assert!((0..=now_ms).contains(at));
        assert!(who.as_ref().is_none_or(|w| known.contains(w)));
    }
    for user in [None, Some(known[0].as_str())] {
        assert!(f.backoff_secs(user, now_ms) <= MAX_BACKOFF_SECS);
    }
}

/// A backup's header: refused, or within the limits that keep a crafted file from
/// exhausting the machine before any passphrase is tried.
pub fn backup_header(bytes: &[u8]) {
    let Some(head) = bytes
        .get(..HEADER_LEN)
        .and_then(|h| <&[u8; HEADER_LEN]>::try_from(h).ok())
    else {
        return;
    };
    if let Ok(header) = parse_header(head) {
        assert!(
            header
                .record
                .params()
                .within(outpost_crypto::KdfParams::FOREIGN_MAX)
        );
        assert!(header.manifest_len <= 16 << 20);
        assert!(header.version == 1 || header.version == 2);
        let _ = header.nonce;
    }
}
