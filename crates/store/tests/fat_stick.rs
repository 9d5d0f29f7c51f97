//! Backups onto a FAT file system, the usual clinic USB stick: a real FAT image mounted through
//! FUSE (`fusefat`; this kernel has no vfat), where `link()` fails with EPERM and
//! `RENAME_NOREPLACE` with EINVAL, exactly the calls a careless publish would use. The backup is
//! written, verified and restored from the stick; a second backup never replaces the first; no
//! scratch file is left. Needs `fusefat` and `dosfstools` (`scripts/setup.sh` installs them)
//! and access to `/dev/fuse`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{FAST, Fixture, TestClock};
use outpost_store::{
    StoreError,
    backup::{restore_backup, verify_backup},
    records::NewPatient,
};

/// A FAT16 image mounted at a directory; unmounted on drop.
struct FatStick {
    mount: PathBuf,
    _dir: tempfile::TempDir,
}

impl FatStick {
    fn mount() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("stick.img");
        let mount = dir.path().join("stick");
        std::fs::create_dir(&mount).unwrap();
        let run = |cmd: &mut Command, what: &str| {
            let out = cmd
                .output()
                .unwrap_or_else(|e| panic!("{what}: {e} (scripts/setup.sh installs it)"));
            assert!(
                out.status.success(),
                "{what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(
            Command::new("mkfs.vfat")
                .args(["-C"])
                .arg(&image)
                .arg("32768"),
            "mkfs.vfat",
        );
        run(
            Command::new("fusefat")
                .args(["-o", "rw+"])
                .arg(&image)
                .arg(&mount),
            "fusefat",
        );
        Self { mount, _dir: dir }
    }
}

impl Drop for FatStick {
    fn drop(&mut self) {
        let _ = Command::new("fusermount")
            .arg("-u")
            .arg(&self.mount)
            .status();
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_backup_is_written_verified_and_restored_on_a_fat_stick_and_never_replaced() {
    let stick = FatStick::mount();
    // The file system really is one without hard links: the old publish would fail here.
    std::fs::write(stick.mount.join("probe"), b"x").unwrap();
    let linked = std::fs::hard_link(stick.mount.join("probe"), stick.mount.join("probe2"));
    assert!(linked.is_err(), "FAT has no hard links");
    std::fs::remove_file(stick.mount.join("probe")).unwrap();

    let (fx, mut store, _) = Fixture::new();
    store
        .add_patient(&NewPatient {
            given_name: "Abena".into(),
            family_name: "Owusu".into(),
            birth_date: "1990-02-14".into(),
            ..Default::default()
        })
        .unwrap();
    // FAT wants 8.3-safe-ish names; long names work through VFAT entries.
    let file = stick.mount.join("clinic.bak");
    let manifest = store
        .create_backup(&file, b"stick passphrase", FAST)
        .unwrap();
    assert_eq!(
        entries(&stick.mount),
        ["clinic.bak"],
        "no scratch file left"
    );
    let scratch = tempfile::tempdir().unwrap();
    assert_eq!(
        verify_backup(&file, b"stick passphrase", scratch.path()).unwrap(),
        manifest
    );

    // A second backup to the same name is refused and the first stays byte for byte.
    let before = std::fs::read(&file).unwrap();
    let again = store.create_backup(&file, b"stick passphrase", FAST);
    assert!(
        matches!(again, Err(StoreError::Invalid { field: "path", .. })),
        "{again:?}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert_eq!(
        entries(&stick.mount),
        ["clinic.bak"],
        "no scratch file left"
    );

    let target = tempfile::tempdir().unwrap();
    let (restored, _recovery) = restore_backup(
        &file,
        b"stick passphrase",
        &target.path().join("restored"),
        FAST,
        TestClock::at(1_800_000_000_000),
        Some(target.path().join("anchors")),
    )
    .unwrap();
    assert_eq!(restored.search_patients("Owusu").unwrap().len(), 1);
    restored.lock().unwrap();
    drop(fx);
}
