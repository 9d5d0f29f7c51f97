//! Fails the build when a shipped schema migration was edited: databases in clinics were
//! upgraded by the migration as it shipped, so a change must be a new migration, never an
//! edit (`migrations/SHA256SUMS` pins each file's SHA-256).

use std::fmt::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};

fn main() {
    let dir = Path::new("migrations");
    println!("cargo::rerun-if-changed=migrations");
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).expect("migrations/SHA256SUMS");
    let pinned: Vec<(&str, &str)> = sums
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (hash, name) = l.split_once("  ").expect("`<sha256>  <file>` lines");
            (name.trim(), hash.trim())
        })
        .collect();
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("migrations/")
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| {
            Path::new(n)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("sql"))
        })
        .collect();
    files.sort();
    for name in &files {
        let bytes = std::fs::read(dir.join(name)).expect("a migration");
        let hash = Sha256::digest(&bytes)
            .iter()
            .fold(String::new(), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            });
        match pinned.iter().find(|(n, _)| n == name) {
            Some((_, h)) if *h == hash => {}
            Some(_) => panic!(
                "migration {name} differs from the one that shipped: write a new migration instead of editing it"
            ),
            None => panic!(
                "migration {name} is not pinned in migrations/SHA256SUMS: add `sha256sum migrations/{name}` there once it is final"
            ),
        }
    }
    for (name, _) in &pinned {
        assert!(
            files.iter().any(|f| f == name),
            "shipped migration {name} was deleted: databases in clinics were upgraded by it"
        );
    }
}
