//! Opening the SQLCipher database: raw key, key check, pragmas, migrations (each upgrade of a
//! database with data under an exclusive lock, after an encrypted copy is kept).

use std::fs::File;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use zeroize::Zeroizing;

use crate::StoreError;

/// Schema migrations, in order; migration `i` takes the schema from version `i` to `i + 1`.
/// Each is a file under `crates/store/migrations/`, applied in its own transaction.
pub const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/001_initial.sql"),
    include_str!("../migrations/002_audit_append_only.sql"),
    include_str!("../migrations/003_signed_operations.sql"),
    include_str!("../migrations/004_workspace.sql"),
    include_str!("../migrations/005_visits.sql"),
    include_str!("../migrations/006_patient_search.sql"),
    include_str!("../migrations/007_attachment_thumbnails.sql"),
    include_str!("../migrations/008_allergies_medications.sql"),
    include_str!("../migrations/009_problems.sql"),
    include_str!("../migrations/010_encounter_reasons.sql"),
    include_str!("../migrations/011_fill_ending_ops.sql"),
    include_str!("../migrations/012_patient_identity.sql"),
    include_str!("../migrations/013_alerts.sql"),
    include_str!("../migrations/014_vitals_in_error.sql"),
];

/// The schema version this build writes.
pub fn latest_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// SQLite page cache size in KiB, as `PRAGMA cache_size` takes it (negative = KiB).
pub const CACHE_SIZE_KIB: i64 = -32 * 1024;

/// The most the write-ahead log keeps after a checkpoint, in bytes.
pub const JOURNAL_SIZE_LIMIT: i64 = 64 << 20;
/// A write at least this large is folded into the database at once (see [`checkpoint`]).
pub const LARGE_WRITE: u64 = 16 << 20;

/// Folds the write-ahead log into the database and truncates it, after a large write. Busy
/// readers make it a partial checkpoint, which is fine: the next one finishes it.
pub(crate) fn checkpoint(conn: &Connection) {
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}

/// Whether to create the database file or require it to exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Create a new, empty database (fails if the file exists).
    Create,
    /// Open an existing one (fails if the file is missing; never creates).
    Existing,
}

/// Opens (or creates) an SQLCipher database with a raw 256-bit key and checks the key with a
/// read before anything else touches the file. A wrong key or a non-database file is
/// [`StoreError::NotADatabase`], and the file is left byte-for-byte as it was.
pub fn open(path: &Path, key: &[u8; 32], mode: OpenMode) -> Result<Connection, StoreError> {
    let flags = match mode {
        OpenMode::Create => {
            if path.exists() {
                return Err(StoreError::ProfileExists);
            }
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
        }
        OpenMode::Existing => {
            if !path.is_file() {
                return Err(StoreError::ProfileFile {
                    file: "outpost.db",
                    reason: "missing",
                });
            }
            OpenFlags::SQLITE_OPEN_READ_WRITE
        }
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    apply_key(&conn, key)?;
    // The first read decrypts page 1; a wrong key fails here, before any write.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
    // WAL keeps readers off the writer's back; FULL fsyncs every commit, because a clinical
    // write that returned success must survive a power cut.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    // SQLCipher decrypts (and HMAC-checks) a page on every page-cache miss, where plain SQLite
    // would hit the OS cache: a 32 MiB page cache keeps a clinic's working set decrypted in
    // memory (measured: indexed reads went from 9.8x plain SQLite to par; `make bench`).
    conn.pragma_update(None, "cache_size", CACHE_SIZE_KIB)?;
    // After a checkpoint the write-ahead log is cut back to this, instead of keeping the size
    // of the largest transaction ever made (a 500 MiB video) on a small disk.
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)?;
    // Temporary tables and sorts stay in memory, never in an unencrypted temp file.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// `PRAGMA key = "x'<hex>'"`: a raw key, so SQLCipher skips its own PBKDF2 (the key already
/// comes from Argon2id).
pub(crate) fn apply_key(conn: &Connection, key: &[u8; 32]) -> Result<(), StoreError> {
    keyed_pragma(conn, "key", key)
}

/// `PRAGMA rekey`: re-encrypts every page under a new raw key.
pub(crate) fn apply_rekey(conn: &Connection, key: &[u8; 32]) -> Result<(), StoreError> {
    keyed_pragma(conn, "rekey", key)
}

fn keyed_pragma(conn: &Connection, pragma: &str, key: &[u8; 32]) -> Result<(), StoreError> {
    let mut sql = Zeroizing::new(String::with_capacity(64 + 80));
    sql.push_str("PRAGMA ");
    sql.push_str(pragma);
    sql.push_str(" = \"");
    sql.push_str(&raw_key_literal(key));
    sql.push_str("\";");
    conn.execute_batch(&sql)?;
    Ok(())
}

/// SQLCipher's raw-key literal `x'<64 hex digits>'`, built in place (sized up front so no
/// reallocation leaves a copy of the key behind) and zeroized on drop.
pub(crate) fn raw_key_literal(key: &[u8; 32]) -> Zeroizing<String> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = Zeroizing::new(String::with_capacity(67));
    s.push_str("x'");
    for b in key {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s.push('\'');
    s
}

/// Brings the schema up to [`latest_version`]; refuses a database from a newer build.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current = schema_version(conn)?;
    let latest = latest_version();
    if current > latest {
        return Err(StoreError::NewerSchema {
            found: current,
            supported: latest,
        });
    }
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(index + 1).unwrap_or(i64::MAX),
        )?;
        tx.commit()?;
    }
    Ok(())
}

/// Held shared by every open store of a profile (`File::lock_shared`), and exclusively while
/// its schema is upgraded, so that a newer build never changes the schema under an older one
/// that has the profile open.
pub const IN_USE_FILE: &str = "database.lock";

/// A held lock on [`IN_USE_FILE`]; released on drop.
#[derive(Debug)]
pub(crate) struct InUse(File);

impl InUse {
    fn file(dir: &Path) -> Result<File, StoreError> {
        Ok(std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(IN_USE_FILE))?)
    }

    /// The lock an open store holds. Waits for an upgrade in progress (seconds at most).
    pub(crate) fn shared(dir: &Path) -> Result<Self, StoreError> {
        let file = Self::file(dir)?;
        file.lock_shared()?;
        Ok(Self(file))
    }

    /// Turns this shared lock into the exclusive one (the same file handle, so this process's
    /// own hold does not count against it), refused while anyone else has the profile open.
    pub(crate) fn make_exclusive(&self) -> Result<(), StoreError> {
        match self.0.try_lock() {
            Ok(()) => Ok(()),
            // A failed upgrade of a `flock` can drop the shared lock this handle held: it is
            // taken again, so the session stays protected from an upgrade under it.
            Err(std::fs::TryLockError::WouldBlock) => {
                self.0.lock_shared()?;
                Err(StoreError::InUseElsewhere)
            }
            Err(std::fs::TryLockError::Error(e)) => {
                self.0.lock_shared()?;
                Err(e.into())
            }
        }
    }

    /// Back to shared after [`InUse::make_exclusive`].
    pub(crate) fn make_shared(&self) -> Result<(), StoreError> {
        Ok(self.0.lock_shared()?)
    }

    /// The lock an upgrade holds: refused, not waited for, while anyone has the profile open.
    fn exclusive(dir: &Path) -> Result<Self, StoreError> {
        let file = Self::file(dir)?;
        match file.try_lock() {
            Ok(()) => Ok(Self(file)),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::InUseElsewhere),
            Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
        }
    }
}

/// The schema version of an open database.
pub fn schema_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Where the copy of a schema-`version` database is kept before it is upgraded.
pub fn snapshot_path(database: &Path, version: i64) -> PathBuf {
    let mut name = database.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".schema-v{version}"));
    database.with_file_name(name)
}

/// Opens an existing profile's database for use: takes the shared in-use lock and, when the
/// schema is older than this build's, upgrades it under the exclusive lock after keeping a
/// copy of the database as it was ([`snapshot_path`]; still encrypted under the same key, and
/// never replaced: a copy from an earlier interrupted attempt is the same schema). A database
/// with data is never changed by a migration that has no copy to go back to.
pub(crate) fn upgrade(conn: &mut Connection, database: &Path) -> Result<InUse, StoreError> {
    let dir = database.parent().unwrap_or(Path::new("."));
    let in_use = InUse::shared(dir)?;
    if schema_version(conn)? >= latest_version() {
        migrate(conn)?; // refuses a newer schema
        return Ok(in_use);
    }
    drop(in_use);
    let exclusive = InUse::exclusive(dir)?;
    // Another process may have upgraded between the two locks.
    let current = schema_version(conn)?;
    if (1..latest_version()).contains(&current) {
        keep_copy(conn, database, current)?;
    }
    migrate(conn)?;
    drop(exclusive);
    InUse::shared(dir)
}

/// Copies the whole database (after folding the write-ahead log into it) to
/// [`snapshot_path`], flushed to disk, owner-only.
fn keep_copy(conn: &Connection, database: &Path, version: i64) -> Result<(), StoreError> {
    let dest = snapshot_path(database, version);
    if dest.exists() {
        return Ok(());
    }
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let size = std::fs::metadata(database)?.len();
    // The copy, plus room for the upgrade's own write-ahead log.
    let needed = size.saturating_add(size / 4).saturating_add(16 << 20);
    if crate::publish::free_bytes(database.parent().unwrap_or(Path::new(".")))
        .is_some_and(|free| free < needed)
    {
        return Err(StoreError::NoSpaceForUpgrade {
            needed_mib: needed.div_ceil(1 << 20),
        });
    }
    let (scratch, mut out) = crate::publish::Scratch::beside(&dest)?;
    std::io::copy(&mut File::open(database)?, &mut out)?;
    match scratch.publish(out, &dest) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e.into()),
    }
    crate::publish::sync_dir(database.parent().unwrap_or(Path::new(".")))?;
    Ok(())
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Lowercase hex, for tests outside the crate.
#[doc(hidden)]
pub fn hex_for_tests(bytes: &[u8]) -> String {
    hex(bytes)
}

/// Parses lowercase or uppercase hex.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
