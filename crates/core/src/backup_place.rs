//! Where a backup goes by default: a removable drive when one is mounted, and never, without
//! saying so, the disk that holds the chart itself.
//!
//! A backup on the laptop's own disk is lost with the laptop (theft, a dead disk, a fire), so
//! the save dialog opens on a USB stick when one is plugged in, and a backup written to the
//! data's own file system is reported as such for the screen to warn about. The mount table is
//! parsed here without I/O ([`removable_mounts`]); [`BackupPlace::find`] reads it.

use std::{
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

use serde::Serialize;

/// Where the save dialog for a new backup opens, and the name it offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupPlace {
    /// The folder the dialog opens in.
    pub dir: PathBuf,
    /// The file name it offers: `outpost-backup-YYYY-MM-DD.outpost`.
    pub file_name: String,
    /// True when `dir` is a removable drive (a USB stick, an SD card).
    pub removable: bool,
}

impl BackupPlace {
    /// The suggestion for a backup made on `today` (`YYYY-MM-DD`): the first removable drive
    /// mounted, else `home`, else the folder above the data directory.
    pub fn find(data_dir: &Path, home: Option<&Path>, today: &str) -> Self {
        let mounts = std::fs::read_to_string("/proc/self/mountinfo")
            .map(|text| removable_mounts(&text))
            .unwrap_or_default();
        Self::choose(&mounts, data_dir, home, today)
    }

    /// [`BackupPlace::find`] over a given list of removable mount points (the first one that is
    /// a writable-looking directory wins).
    pub fn choose(mounts: &[PathBuf], data_dir: &Path, home: Option<&Path>, today: &str) -> Self {
        let file_name = format!("outpost-backup-{today}.outpost");
        if let Some(dir) = mounts.iter().find(|m| m.is_dir()) {
            return Self {
                dir: dir.clone(),
                file_name,
                removable: true,
            };
        }
        let dir = home.filter(|h| h.is_dir()).map_or_else(
            || data_dir.parent().unwrap_or(data_dir).to_path_buf(),
            Path::to_path_buf,
        );
        Self {
            dir,
            file_name,
            removable: false,
        }
    }
}

/// True when `file` lies on the same file system as `data_dir` (so one lost disk loses both).
/// Unknown (either cannot be read) counts as not the same: the warning is advice, not a gate.
pub fn same_disk(file: &Path, data_dir: &Path) -> bool {
    let parent = file.parent().unwrap_or(file);
    match (std::fs::metadata(parent), std::fs::metadata(data_dir)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev(),
        _ => false,
    }
}

/// File systems that a USB stick or an SD card usually carries.
const REMOVABLE_TYPES: &[&str] = &[
    "vfat",
    "exfat",
    "msdos",
    "ntfs",
    "ntfs3",
    "fuseblk",
    "fuse.fusefat",
    "udf",
];

/// The mount points in a `/proc/self/mountinfo` text that look like removable drives: those
/// desktop environments mount under `/media/` or `/run/media/`, and any FAT, exFAT or NTFS file
/// system outside `/boot` (the EFI system partition is FAT too). Malformed lines are skipped.
pub fn removable_mounts(mountinfo: &str) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|line| {
            // "36 35 98:0 /root /mount/point options optional... - fstype source superopts"
            let (left, right) = line.split_once(" - ")?;
            let mount_point = unescape(left.split(' ').nth(4)?);
            let fs_type = right.split(' ').next()?;
            let under_media =
                mount_point.starts_with("/media/") || mount_point.starts_with("/run/media/");
            let foreign_fs = REMOVABLE_TYPES.contains(&fs_type)
                && !(mount_point == "/boot" || mount_point.starts_with("/boot/"));
            (under_media || foreign_fs).then(|| PathBuf::from(mount_point))
        })
        .collect()
}

/// Undoes mountinfo's octal escapes (`\040` for a space, as in a stick labelled "CLINIC A").
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        if let Some(d) = octal {
            let value = d.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0'));
            out.push(u8::try_from(value).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as a Debian laptop shows them: root, the EFI partition, tmpfs, a USB stick with a
    /// space in its label, an exFAT card mounted by hand, and a stick on a Fedora-style path.
    const MOUNTINFO: &str = "\
22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro
23 22 259:1 / /boot/efi rw,relatime shared:2 - vfat /dev/nvme0n1p1 rw,fmask=0077
24 22 0:21 / /run rw,nosuid shared:5 - tmpfs tmpfs rw,size=1628748k
88 22 8:17 / /media/nurse/CLINIC\\040A rw,nosuid,nodev shared:40 - vfat /dev/sdb1 rw,uid=1000
89 22 8:33 / /mnt/card rw,relatime shared:41 - exfat /dev/sdc1 rw
90 24 8:49 / /run/media/amina/BACKUPS rw shared:42 - ext4 /dev/sdd1 rw
garbage line without the separator
91 22 0:50 / /srv/data rw shared:43 - xfs /dev/sde1 rw
";

    #[test]
    fn removable_drives_are_found_and_the_efi_partition_and_fixed_disks_are_not() {
        assert_eq!(
            removable_mounts(MOUNTINFO),
            vec![
                PathBuf::from("/media/nurse/CLINIC A"),
                PathBuf::from("/mnt/card"),
                PathBuf::from("/run/media/amina/BACKUPS"),
            ]
        );
    }

    #[test]
    fn a_mounted_stick_is_offered_first_then_home_then_beside_the_data() {
        let stick = tempfile::tempdir().unwrap();
        let home = tempfile::tempdir().unwrap();
        let data = home.path().join("outpost/profile");
        let gone = PathBuf::from("/media/nobody/UNPLUGGED");
        let chosen = BackupPlace::choose(
            &[gone.clone(), stick.path().to_path_buf()],
            &data,
            Some(home.path()),
            "2026-11-29",
        );
        assert_eq!(chosen.dir, stick.path());
        assert!(chosen.removable);
        assert_eq!(chosen.file_name, "outpost-backup-2026-11-29.outpost");

        let chosen = BackupPlace::choose(
            std::slice::from_ref(&gone),
            &data,
            Some(home.path()),
            "2026-11-29",
        );
        assert_eq!(
            (chosen.dir.as_path(), chosen.removable),
            (home.path(), false)
        );
        let chosen = BackupPlace::choose(&[gone], &data, None, "2026-11-29");
        assert_eq!(chosen.dir, home.path().join("outpost"));
    }

    #[test]
    fn a_file_beside_the_data_is_on_the_same_disk() {
        let dir = tempfile::tempdir().unwrap();
        assert!(same_disk(&dir.path().join("backup.outpost"), dir.path()));
        // /proc is its own file system everywhere Linux runs.
        assert!(!same_disk(
            Path::new("/proc/self/backup.outpost"),
            dir.path()
        ));
    }
}
