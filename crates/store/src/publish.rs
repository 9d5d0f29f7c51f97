//! Putting a finished file where a person will look for it (a backup on a USB stick, an
//! attachment saved to the desktop): written under a scratch name first, flushed to the disk,
//! and only then given its name, never replacing a file that is already there, including on
//! the FAT and exFAT sticks clinics back up to, which have no hard links and no
//! `RENAME_NOREPLACE`.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore};

/// A scratch file beside its destination, removed on drop unless published.
#[derive(Debug)]
pub struct Scratch {
    path: Option<PathBuf>,
}

impl Scratch {
    /// Creates `.<name>.<random>.partial` beside `dest`, exclusively (it never truncates
    /// anything), and returns it with the file open for writing.
    pub fn beside(dest: &Path) -> io::Result<(Self, File)> {
        let name = dest
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
        let mut tag = [0u8; 6];
        OsRng.fill_bytes(&mut tag);
        let mut scratch = std::ffi::OsString::from(".");
        scratch.push(name);
        scratch.push(format!(".{}.partial", crate::db::hex(&tag)));
        let path = dest.with_file_name(scratch);
        let mut options = OpenOptions::new();
        options.write(true).read(true).create_new(true);
        // What is published holds patient data (a backup, an attachment): owner only.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path)?;
        Ok((Self { path: Some(path) }, file))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// Gives the finished, flushed file the name `dest`, unless something is there already
    /// (then `AlreadyExists`, and the scratch file is removed on drop).
    pub fn publish(mut self, file: File, dest: &Path) -> io::Result<()> {
        file.sync_all()?;
        drop(file);
        publish_no_replace(self.path(), dest)?;
        self.path = None;
        Ok(())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Renames `from` to `to` unless `to` exists (`AlreadyExists`), then flushes the directory
/// so the new name survives a power cut.
///
/// `renameat2(RENAME_NOREPLACE)` does it in one step where the file system supports it. Where
/// it does not (FAT and exFAT, FUSE file systems), the name is first claimed by creating an
/// empty file exclusively, and the rename then replaces only that claim: a file that appeared
/// at `to` meanwhile is never overwritten. A crash between the two leaves an empty file at
/// `to`, never a partial one.
pub fn publish_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    match rename_noreplace(from, to) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(e),
        Err(e) if unsupported(&e) => {
            OpenOptions::new().write(true).create_new(true).open(to)?;
            if let Err(e) = std::fs::rename(from, to) {
                // Only our own empty claim is there: take it back.
                let _ = std::fs::remove_file(to);
                return Err(e);
            }
        }
        Err(e) => return Err(e),
    }
    sync_dir(to)
}

/// Flushes the directory holding `path` (its entries, not the file's content).
pub fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match File::open(dir).and_then(|d| d.sync_all()) {
        // Some file systems refuse fsync on a directory; the rename itself stands.
        Err(e) if unsupported(&e) || e.kind() == io::ErrorKind::PermissionDenied => Ok(()),
        other => other,
    }
}

/// Bytes free for an unprivileged writer in the file system holding `dir`; `None` where the
/// platform does not say.
pub fn free_bytes(dir: &Path) -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let s = rustix::fs::statvfs(dir).ok()?;
        Some(s.f_bavail.saturating_mul(s.f_frsize))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        None
    }
}

fn unsupported(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Unsupported
        || matches!(e.raw_os_error(), Some(code) if is_unsupported_code(code))
}

#[cfg(target_os = "linux")]
fn is_unsupported_code(code: i32) -> bool {
    use rustix::io::Errno;
    [Errno::INVAL, Errno::NOSYS, Errno::OPNOTSUPP]
        .iter()
        .any(|e| e.raw_os_error() == code)
}

#[cfg(not(target_os = "linux"))]
fn is_unsupported_code(_: i32) -> bool {
    false
}

#[cfg(target_os = "linux")]
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn rename_noreplace(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn a_file_appears_complete_and_never_replaces_one_that_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("report.pdf");
        let (scratch, mut f) = Scratch::beside(&dest).unwrap();
        f.write_all(b"first").unwrap();
        assert!(
            !dest.exists(),
            "nothing under the name before it is published"
        );
        scratch.publish(f, &dest).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"first");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "only the owner may read it");
        }

        let (scratch, mut f) = Scratch::beside(&dest).unwrap();
        f.write_all(b"second").unwrap();
        let e = scratch.publish(f, &dest).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(
            std::fs::read(&dest).unwrap(),
            b"first",
            "the first file is untouched"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no scratch file left behind");
    }

    #[test]
    fn a_scratch_file_never_truncates_another() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x.jpg");
        let (a, _fa) = Scratch::beside(&dest).unwrap();
        let (b, _fb) = Scratch::beside(&dest).unwrap();
        assert_ne!(a.path(), b.path());
        drop(a);
        assert!(b.path().exists());
    }
}
