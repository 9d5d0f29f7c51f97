//! A 50 MB attachment streams in and out in chunks: the bytes round-trip exactly, and the
//! process never holds anything like the whole file (peak RSS growth stays well under 50 MB,
//! even with SQLite's 32 MiB page cache filling up). Its own test binary, so that no other test
//! moves the process's memory high-water mark.

mod common;

use std::io::{Read, Seek, SeekFrom, Write};

use common::Fixture;
use outpost_store::records::NewPatient;
use sha2::{Digest, Sha256};

const SIZE: u64 = 50 * 1024 * 1024;

/// Deterministic bytes, generated as they are read (and again after a seek to the start, as
/// a file would give them).
struct Generated {
    left: u64,
    state: u32,
}

impl Seek for Generated {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        assert_eq!(pos, SeekFrom::Start(0), "only rewinding is supported");
        *self = Self::new();
        Ok(0)
    }
}

impl Generated {
    fn new() -> Self {
        Self {
            left: SIZE,
            state: 7,
        }
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = usize::try_from(self.left.min(buf.len() as u64)).unwrap();
        for b in &mut buf[..n] {
            self.state = self
                .state
                .wrapping_mul(1_664_525)
                .wrapping_add(1_013_904_223);
            *b = (self.state >> 24) as u8;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Hashes what is written, keeping none of it.
struct Hashing(Sha256, u64);

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        self.1 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn fifty_megabytes_stream_in_and_out() {
    let (fx, mut store, _) = Fixture::new();
    let p = store
        .add_patient(&NewPatient {
            given_name: "S".into(),
            family_name: "T".into(),
            birth_date: "2010-10-10".into(),
            ..Default::default()
        })
        .unwrap();
    let mut reference = Hashing(Sha256::new(), 0);
    std::io::copy(
        &mut Generated {
            left: SIZE,
            state: 7,
        },
        &mut reference,
    )
    .unwrap();
    let expected = outpost_store::db::hex_for_tests(&reference.0.finalize());

    let before = peak_rss_kib();
    let info = store
        .add_attachment(
            p.id,
            None,
            "ultrasound.mp4",
            "video/mp4",
            Generated {
                left: SIZE,
                state: 7,
            },
        )
        .unwrap();
    // The write-ahead log does not stay the size of the file: it is folded into the database
    // after a large write (a clinic laptop's disk is small).
    let wal = std::fs::metadata(fx.dir().join("outpost.db-wal")).map_or(0, |m| m.len());
    assert!(
        wal < 4 << 20,
        "the WAL kept {wal} bytes after a 50 MiB attachment"
    );
    let mut out = Hashing(Sha256::new(), 0);
    store.read_attachment(info.id, &mut out).unwrap();
    let growth_mib = (peak_rss_kib() - before) / 1024;

    assert_eq!(info.size, SIZE);
    assert_eq!(info.sha256, expected);
    assert_eq!(out.1, SIZE);
    assert_eq!(
        outpost_store::db::hex_for_tests(&out.0.finalize()),
        expected
    );
    eprintln!("peak RSS growth while streaming 50 MiB in and out: {growth_mib} MiB");
    assert!(
        growth_mib < 45,
        "peak memory grew by {growth_mib} MiB while streaming a 50 MiB file"
    );
}

/// The first chunk of the same content, left by a download from the relay still in progress,
/// is not taken for the whole file: the attachment added locally reads back complete.
#[test]
fn a_partly_downloaded_copy_of_the_same_content_is_not_taken_for_the_whole() {
    let (fx, mut store, _) = Fixture::new();
    let p = store
        .add_patient(&NewPatient {
            given_name: "S".into(),
            family_name: "T".into(),
            birth_date: "2010-10-10".into(),
            ..Default::default()
        })
        .unwrap();
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let sha = Sha256::digest(&content);
    let key = common::database_key(&fx.dir(), common::DOCTOR, common::PASSPHRASE);
    outpost_store::db::open(
        &fx.dir().join("outpost.db"),
        &key,
        outpost_store::db::OpenMode::Existing,
    )
    .unwrap()
    .execute(
        "INSERT INTO blobs (sha256, idx, data) VALUES (?1, 0, ?2)",
        rusqlite::params![sha.as_slice(), &content[..1000]],
    )
    .unwrap();
    let info = store
        .add_attachment(
            p.id,
            None,
            "scan.pdf",
            "application/pdf",
            std::io::Cursor::new(content.clone()),
        )
        .unwrap();
    let mut back = Vec::new();
    store.read_attachment(info.id, &mut back).unwrap();
    assert_eq!(back, content);
}
