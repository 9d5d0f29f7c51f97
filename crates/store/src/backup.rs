//! Single-file encrypted backups: create, verify without restoring, restore into a new profile.
//!
//! A backup file is
//!
//! ```text
//! "OUTPOST-BACKUP\n" (15) || version 0x02 || passphrase record (62)
//! || manifest length (u32 BE) || XChaCha20-Poly1305 nonce (24) || sealed manifest (JSON)
//! || SQLCipher database (the rest of the file)
//! ```
//!
//! The passphrase record (Argon2id, see `outpost_crypto::passphrase`) gives the database key of
//! the embedded database and the key that seals the manifest. The database is exported with
//! `sqlcipher_export` (consistent, including what is still in the WAL; never a raw file copy).
//! The manifest lists, per table, the row count and a SHA-256 over every row in a canonical
//! order; verification opens the embedded database and recomputes them, and verifies the
//! whole signed log. Version 2 also seals the creator's signing identity, wrapped under the
//! backup passphrase, so the restored profile's owner still signs as themselves. Version 1
//! files (schema 2 databases, no identity) are still restored; their owner registers a key at
//! the first unlock, as after an upgrade.

use std::{
    io::{Read, Write},
    path::{Path, PathBuf},
    sync::Arc,
};

use outpost_crypto::{KdfParams, PassphraseRecord, passphrase::RECORD_LEN, primitives};
use rand_core::{OsRng, RngCore};
use rusqlite::{Connection, types::ValueRef};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    Clock, Profile, RecoveryKey, Store, StoreError, User,
    db::{self, OpenMode, hex},
    profile::DatabaseClaim,
};

const MAGIC: &[u8; 15] = b"OUTPOST-BACKUP\n";
const VERSION: u8 = 2;
/// The version before signing identities: no identity in the manifest.
const VERSION_1: u8 = 1;

/// What a backup holds, sealed inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Manifest {
    /// When it was made (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub created_at: i64,
    /// Who made it; they own the restored profile.
    pub created_by: User,
    /// Schema version of the embedded database.
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub schema_version: i64,
    /// Per table: name, row count, SHA-256 of the rows.
    pub tables: Vec<TableDigest>,
}

/// Row count and content hash of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TableDigest {
    /// Table name.
    pub table: String,
    /// Number of rows.
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub rows: u64,
    /// SHA-256 over all rows in key order, hex.
    pub sha256: String,
}

/// What version 2 seals: the manifest, and the creator's identity under the backup passphrase.
#[derive(Serialize, Deserialize)]
struct Sealed {
    manifest: Manifest,
    owner_identity: String,
}

/// Every table of the database except SQLite's own, by name.
fn all_tables(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Row counts and hashes of `tables`, each over its rows sorted by every column (an order that
/// does not depend on how the rows were inserted).
pub fn content_digests<S: AsRef<str>>(
    conn: &Connection,
    tables: &[S],
) -> Result<Vec<TableDigest>, StoreError> {
    let mut out = Vec::with_capacity(tables.len());
    for table in tables {
        let table = table.as_ref();
        let columns = conn
            .prepare(&format!("SELECT * FROM {table}"))?
            .column_count();
        let order = (1..=columns)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))?;
        let mut rows = stmt.query([])?;
        let mut h = Sha256::new();
        let mut count = 0u64;
        while let Some(row) = rows.next()? {
            count += 1;
            for i in 0..columns {
                match row.get_ref(i)? {
                    ValueRef::Null => h.update([0u8]),
                    ValueRef::Integer(v) => {
                        h.update([1u8]);
                        h.update(v.to_be_bytes());
                    }
                    ValueRef::Real(v) => {
                        h.update([2u8]);
                        h.update(v.to_bits().to_be_bytes());
                    }
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        h.update([3u8]);
                        h.update((t.len() as u64).to_be_bytes());
                        h.update(t);
                    }
                }
            }
        }
        out.push(TableDigest {
            table: (*table).to_owned(),
            rows: count,
            sha256: hex(&h.finalize()),
        });
    }
    Ok(out)
}

impl Store {
    /// Writes a backup of this profile to `path`, protected by `passphrase`. The file appears
    /// only once complete (written beside it, then renamed).
    pub fn create_backup(
        &mut self,
        path: &Path,
        passphrase: &[u8],
        params: KdfParams,
    ) -> Result<Manifest, StoreError> {
        self.check_backup_allowed(passphrase)?;
        let (record, keys) =
            PassphraseRecord::create(&crate::profile::normalized(passphrase), params, &mut OsRng)?;
        // The export goes beside the target. Created exclusively: an unlocked profile's
        // connection may not create files (so a missing database is never silently recreated)
        // and ATTACH inherits that; and a file of the user's with this name is never replaced.
        let export = ScratchFile::create_new(path.with_extension("partial-db"))?;
        if path.exists() {
            return Err(StoreError::Invalid {
                field: "path",
                reason: "a file exists there; choose a new name",
            });
        }
        let manifest = self.export_to(export.path(), &keys.database_key);
        // Detach whatever happened, so a failed backup does not break the next one.
        let _ = self.conn.execute("DETACH DATABASE backup", []);
        let manifest = manifest?;
        // Recorded before the file appears: a backup that cannot be audited is not made.
        self.audit_event(outpost_proto::AuditAction::BackupCreated, None, None)?;
        let sealed = Sealed {
            owner_identity: hex(&self.signer.wrap(&keys.key_encryption_key, &mut OsRng)?),
            manifest,
        };
        write_backup_file(
            path,
            export.path(),
            &record,
            &keys.key_encryption_key,
            &sealed,
        )?;
        drop(export);
        Ok(sealed.manifest)
    }

    /// Whether this user may make a backup with this passphrase: checked first by
    /// [`Store::create_backup`], and before the app asks where to save one, so nobody picks a
    /// file only to be refused.
    pub fn check_backup_allowed(&self, passphrase: &[u8]) -> Result<(), StoreError> {
        if !crate::authz::BACKUP_MAKERS.contains(&self.user.role) {
            return Err(StoreError::NotPermitted {
                action: "making a backup",
                needs: "an admin or physician",
                role: self.user.role,
            });
        }
        // The same policy as for a user's passphrase: a backup holds every chart.
        crate::profile::validate_passphrase(passphrase)
    }

    /// Exports the database into the (empty) file at `export`, keyed with `key`, and describes
    /// it; both in one read transaction, so the manifest matches the export exactly.
    fn export_to(&mut self, export: &Path, key: &[u8; 32]) -> Result<Manifest, StoreError> {
        let tx = self.conn.transaction()?;
        let manifest = Manifest {
            created_at: self.clock.now_ms(),
            created_by: self.user.clone(),
            schema_version: tx.pragma_query_value(None, "user_version", |r| r.get(0))?,
            tables: content_digests(&tx, &all_tables(&tx)?)?,
        };
        tx.execute(
            "ATTACH DATABASE ?1 AS backup KEY ?2",
            rusqlite::params![export.to_string_lossy(), db::raw_key_literal(key).as_str()],
        )?;
        tx.query_row("SELECT sqlcipher_export('backup')", [], |_| Ok(()))?;
        tx.pragma_update(Some("backup"), "user_version", manifest.schema_version)?;
        tx.commit()?;
        Ok(manifest)
    }
}

/// A scratch file this process created exclusively. Removed on drop, with any SQLite `-wal`
/// and `-shm` beside it, unless [`ScratchFile::forget`] hands it on.
struct ScratchFile(Option<PathBuf>);

impl ScratchFile {
    fn create_new(path: PathBuf) -> Result<Self, StoreError> {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => Ok(Self(Some(path))),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(StoreError::Invalid {
                field: "path",
                reason: "a leftover .partial file is in the way; remove it",
            }),
            Err(e) => Err(e.into()),
        }
    }

    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }

    /// Keeps the file: it has been renamed into place.
    fn forget(mut self) {
        self.0 = None;
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

fn write_backup_file(
    path: &Path,
    export: &Path,
    record: &PassphraseRecord,
    kek: &[u8; 32],
    sealed: &Sealed,
) -> Result<(), StoreError> {
    let json = serde_json::to_vec(sealed).map_err(|_| StoreError::BadBackup("manifest"))?;
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut nonce);
    let (scratch, file) = crate::publish::Scratch::beside(path)?;
    let mut out = std::io::BufWriter::new(file);
    out.write_all(&head_and_manifest(record, kek, &json, nonce)?)?;
    std::io::copy(&mut std::fs::File::open(export)?, &mut out)?;
    out.flush()?;
    let file = out
        .into_inner()
        .map_err(std::io::IntoInnerError::into_error)?;
    // Flushed, then named without replacing a file that appeared at `path` meanwhile, on a
    // FAT USB stick too (no hard links there); the scratch file goes if anything fails.
    scratch.publish(file, path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            StoreError::Invalid {
                field: "path",
                reason: "a file exists there; choose a new name",
            }
        } else {
            e.into()
        }
    })?;
    Ok(())
}

/// What a backup file starts with: magic, version, key record, the sealed manifest's length,
/// its nonce, and the manifest sealed under a key derived from the passphrase's KEK with the
/// magic, version and record as associated data.
fn head_and_manifest(
    record: &PassphraseRecord,
    kek: &[u8; 32],
    manifest_json: &[u8],
    nonce: [u8; 24],
) -> Result<Vec<u8>, StoreError> {
    let sealed = primitives::xchacha_seal(
        &manifest_key(kek),
        &nonce,
        &header_aad(VERSION, record),
        manifest_json,
    )?;
    let len =
        u32::try_from(sealed.len()).map_err(|_| StoreError::BadBackup("manifest too large"))?;
    Ok([
        &MAGIC[..],
        &[VERSION],
        &record.encode(),
        &len.to_be_bytes(),
        &nonce,
        &sealed,
    ]
    .concat())
}

/// 16 random bytes as hex, for scratch file names.
fn random_hex() -> String {
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    hex(&b)
}

fn manifest_key(kek: &[u8; 32]) -> zeroize::Zeroizing<[u8; 32]> {
    primitives::derive_key(b"", kek, &[b"outpost/v1/backup/manifest"])
}

fn header_aad(version: u8, record: &PassphraseRecord) -> Vec<u8> {
    [&MAGIC[..], &[version], &record.encode()].concat()
}

/// A backup that passed verification, with its embedded database extracted to a temp file.
struct OpenedBackup {
    manifest: Manifest,
    /// The creator's identity (version 2), unwrapped with the backup passphrase.
    owner_identity: Option<outpost_crypto::DeviceIdentity>,
    database_key: zeroize::Zeroizing<[u8; 32]>,
    db_file: ScratchFile,
}

/// Checks a backup without restoring it: the passphrase, the sealed manifest, the embedded
/// database's integrity, its audit chain, and every table against the manifest's hashes.
pub fn verify_backup(
    path: &Path,
    passphrase: &[u8],
    scratch_dir: &Path,
) -> Result<Manifest, StoreError> {
    Ok(open_backup(path, passphrase, scratch_dir)?.manifest)
}

/// Free space left after opening a backup's database beside it (SQLite needs room to work).
const FREE_MARGIN: u64 = 64 * 1024 * 1024;

/// The fixed-size start of a backup file: magic, version, key record, manifest length, nonce.
pub(crate) const HEADER_LEN: usize = 15 + 1 + RECORD_LEN + 4 + 24;

/// A backup's header, read and checked before any key is derived.
pub(crate) struct Header {
    pub(crate) version: u8,
    pub(crate) record: PassphraseRecord,
    pub(crate) manifest_len: usize,
    pub(crate) nonce: [u8; 24],
}

/// Reads the header. Everything a crafted file could use to exhaust the machine is refused
/// here: key settings above [`KdfParams::FOREIGN_MAX`] and a manifest over 16 MiB.
pub(crate) fn parse_header(head: &[u8; HEADER_LEN]) -> Result<Header, StoreError> {
    if &head[..15] != MAGIC {
        return Err(StoreError::BadBackup("not an Outpost backup"));
    }
    let version = head[15];
    if version != VERSION && version != VERSION_1 {
        return Err(StoreError::BadBackup("unknown backup version"));
    }
    let record = PassphraseRecord::decode(&head[16..16 + RECORD_LEN])
        .map_err(|_| StoreError::BadBackup("key record"))?;
    // Checked before any hashing: a crafted file must not make this machine spend gigabytes
    // and minutes on its passphrase.
    if !record.params().within(KdfParams::FOREIGN_MAX) {
        return Err(StoreError::BadBackup(
            "its key settings ask for more memory or time than an Outpost backup uses",
        ));
    }
    let len_at = 16 + RECORD_LEN;
    let manifest_len = u32::from_be_bytes([
        head[len_at],
        head[len_at + 1],
        head[len_at + 2],
        head[len_at + 3],
    ]) as usize;
    if manifest_len > 16 * 1024 * 1024 {
        return Err(StoreError::BadBackup("manifest length"));
    }
    let nonce: [u8; 24] = head[len_at + 4..]
        .try_into()
        .map_err(|_| StoreError::BadBackup("nonce"))?;
    Ok(Header {
        version,
        record,
        manifest_len,
        nonce,
    })
}

fn open_backup(
    path: &Path,
    passphrase: &[u8],
    scratch_dir: &Path,
) -> Result<OpenedBackup, StoreError> {
    let mut file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut head = [0u8; HEADER_LEN];
    file.read_exact(&mut head)
        .map_err(|_| StoreError::BadBackup("truncated header"))?;
    let Header {
        version,
        record,
        manifest_len,
        nonce,
    } = parse_header(&head)?;
    let keys = crate::profile::unlock_record(&record, passphrase).map_err(|e| match e {
        outpost_crypto::CryptoError::WrongPassphrase => StoreError::WrongPassphrase,
        other => other.into(),
    })?;
    let mut sealed = vec![0u8; manifest_len];
    file.read_exact(&mut sealed)
        .map_err(|_| StoreError::BadBackup("truncated manifest"))?;
    let json = primitives::xchacha_open(
        &manifest_key(&keys.key_encryption_key),
        &nonce,
        &header_aad(version, &record),
        &sealed,
    )
    .map_err(|_| StoreError::BadBackup("manifest was altered"))?;
    let (manifest, owner_identity) = if version == VERSION_1 {
        let manifest: Manifest =
            serde_json::from_slice(&json).map_err(|_| StoreError::BadBackup("manifest format"))?;
        (manifest, None)
    } else {
        let sealed: Sealed =
            serde_json::from_slice(&json).map_err(|_| StoreError::BadBackup("manifest format"))?;
        let identity = outpost_crypto::DeviceIdentity::unwrap(
            &keys.key_encryption_key,
            &crate::db::unhex(&sealed.owner_identity)
                .ok_or(StoreError::BadBackup("owner identity"))?,
        )
        .map_err(|_| StoreError::BadBackup("owner identity"))?;
        (sealed.manifest, Some(identity))
    };

    std::fs::create_dir_all(scratch_dir)?;
    // The database is the rest of the file: make sure it fits before copying it out, so a
    // huge (or crafted) file says so instead of filling the disk the chart lives on.
    let consumed = (head.len() + manifest_len) as u64;
    let tail = std::fs::metadata(path)?.len().saturating_sub(consumed);
    if let Some(free) = crate::publish::free_bytes(scratch_dir)
        && tail.saturating_add(FREE_MARGIN) > free
    {
        return Err(StoreError::Io(std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            format!(
                "not enough free space to open this backup: it needs {} MB, {} MB are free",
                tail.div_ceil(1_000_000),
                free / 1_000_000
            ),
        )));
    }
    let db_file =
        ScratchFile::create_new(scratch_dir.join(format!(".restore-{}.db", random_hex())))?;
    {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .open(db_file.path())?;
        std::io::copy(&mut file, &mut out)?;
        out.sync_all()?;
    }
    check_embedded(db_file.path(), &keys.database_key, version, &manifest)?;
    Ok(OpenedBackup {
        manifest,
        owner_identity,
        database_key: keys.database_key,
        db_file,
    })
}

/// Opens the extracted database and checks it against the manifest: integrity, schema
/// version, every table's content, and its log (version 2) or old audit chain (version 1).
fn check_embedded(
    path: &Path,
    key: &[u8; 32],
    version: u8,
    manifest: &Manifest,
) -> Result<(), StoreError> {
    let conn = db::open(path, key, OpenMode::Existing).map_err(|e| match e {
        StoreError::NotADatabase | StoreError::Corrupt(_) => {
            StoreError::BadBackup("embedded database does not open")
        }
        other => other,
    })?;
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|_| StoreError::BadBackup("embedded database damaged"))?;
    if integrity != "ok" {
        return Err(StoreError::BadBackup("embedded database damaged"));
    }
    let schema: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if schema != manifest.schema_version {
        return Err(StoreError::BadBackup(
            "schema version differs from manifest",
        ));
    }
    // Version 1 listed the clinical tables it covered; version 2 covers every table, so a
    // table added to the embedded database (or left out of the manifest) fails too.
    let listed: Vec<&str> = manifest.tables.iter().map(|t| t.table.as_str()).collect();
    let tables =
        all_tables(&conn).map_err(|_| StoreError::BadBackup("embedded database damaged"))?;
    if version != VERSION_1 && tables != listed {
        return Err(StoreError::BadBackup("content differs from manifest"));
    }
    if content_digests(&conn, &listed)
        .map_err(|_| StoreError::BadBackup("embedded database damaged"))?
        != manifest.tables
    {
        return Err(StoreError::BadBackup("content differs from manifest"));
    }
    if version == VERSION_1 {
        crate::legacy::verify_schema2_audit(&conn)
            .map_err(|_| StoreError::BadBackup("audit chain broken"))?;
    } else {
        crate::verify::verify_log(&conn)
            .map_err(|_| StoreError::BadBackup("the signed log does not verify"))?;
    }
    Ok(())
}

/// Restores a verified backup into a new profile at `dir`, owned by the backup's creator and
/// unlocked with the backup passphrase. Refuses a directory that already holds a profile.
/// Returns the open store and the new profile's recovery key (to show once). `anchor_dir` is
/// where the new profile keeps the outside copy of its log head.
pub fn restore_backup(
    path: &Path,
    passphrase: &[u8],
    dir: &Path,
    params: KdfParams,
    clock: Arc<dyn Clock>,
    anchor_dir: Option<PathBuf>,
) -> Result<(Store, RecoveryKey), StoreError> {
    if Profile::exists(dir) {
        return Err(StoreError::ProfileExists);
    }
    std::fs::create_dir_all(dir)?;
    // Claim the directory first; a failed restore leaves it as it was.
    let claim = DatabaseClaim::take(dir)?;
    let opened = open_backup(path, passphrase, dir)?;
    // Fresh key for the new profile: the backup passphrase's key stays with the backup.
    let mut new_key = zeroize::Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(new_key.as_mut());
    let mut new_profile_id = [0u8; 16];
    OsRng.fill_bytes(&mut new_profile_id);
    {
        let conn = db::open(
            opened.db_file.path(),
            &opened.database_key,
            OpenMode::Existing,
        )?;
        db::apply_rekey(&conn, &new_key)?;
        // A restored copy is a new profile: its own id, so it never answers to the
        // original's log head anchors.
        let has_meta: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')",
            [],
            |r| r.get(0),
        )?;
        if has_meta {
            conn.execute(
                "UPDATE meta SET value = ?1 WHERE key = 'profile_id'",
                [hex(&new_profile_id)],
            )?;
        }
        conn.pragma_update(None, "journal_mode", "DELETE")?;
    }
    // Replaces the empty file this restore created itself (the claim), nothing else.
    std::fs::rename(opened.db_file.path(), claim.path())?;
    opened.db_file.forget();
    let owner = opened.manifest.created_by.clone();
    let (store, recovery) = Profile::adopt(
        dir,
        &owner,
        opened.owner_identity,
        passphrase,
        params,
        &new_key,
        clock,
        &new_profile_id,
        anchor_dir,
    )?;
    claim.keep();
    Ok((store, recovery))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known answer for the start of a backup file, computed independently (Python: PyNaCl's
    /// XChaCha20-Poly1305 and HKDF-SHA256 from `hmac`/`hashlib`) from the passphrase record and
    /// key-encryption key of the passphrase-record known answer in `outpost-crypto`, a fixed
    /// nonce and manifest.
    const KAT_HEAD: &str = "4f5554504f53542d4241434b55500a0201010000200000000001000000011111111111111111111111111111111111bd622d32451a3f48d047c75e5e16f1a94fe9774bcd872a00dfcd45cf950dc70000002b44444444444444444444444444444444444444444444444460aedd4b9e213b48e8d7dbead2fffb0e995be369fe0fbad791319d345fe3a44ca3c77867e3a20cde2b5b2a";
    const RECORD: &str = "01010000200000000001000000011111111111111111111111111111111111bd622d32451a3f48d047c75e5e16f1a94fe9774bcd872a00dfcd45cf950dc7";
    const KEK: &str = "95f7a51a843d7c4a7f49a1263cc66b362a68c488a92e28d1bd49766331cc0efa";
    const MANIFEST: &[u8] = br#"{"manifest":"known answer"}"#;

    #[test]
    fn the_head_of_a_backup_matches_the_independently_computed_bytes_and_reads_back() {
        let record = PassphraseRecord::decode(&crate::db::unhex(RECORD).unwrap()).unwrap();
        let kek: [u8; 32] = crate::db::unhex(KEK).unwrap().try_into().unwrap();
        let head = head_and_manifest(&record, &kek, MANIFEST, [0x44; 24]).unwrap();
        assert_eq!(hex(&head), KAT_HEAD);

        let fixed: &[u8; HEADER_LEN] = head[..HEADER_LEN].try_into().unwrap();
        let header = parse_header(fixed).unwrap();
        assert_eq!(header.version, VERSION);
        assert_eq!(header.manifest_len, head.len() - HEADER_LEN);
        // The passphrase opens the record to the same KEK, and that opens the manifest.
        let keys =
            crate::profile::unlock_record(&header.record, b"correct horse battery staple").unwrap();
        assert_eq!(keys.key_encryption_key.as_ref(), &kek);
        let manifest = primitives::xchacha_open(
            &manifest_key(&kek),
            &header.nonce,
            &header_aad(header.version, &header.record),
            &head[HEADER_LEN..],
        )
        .unwrap();
        assert_eq!(manifest.as_slice(), MANIFEST);
    }
}
