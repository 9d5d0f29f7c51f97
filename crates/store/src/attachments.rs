//! Attachments (photos, documents): content stored once per SHA-256 in fixed-size chunks inside
//! the encrypted database, so a 50 MB photo series never needs 50 MB of memory to write or
//! read; the attachment itself is a signed operation naming the content's hash.

use std::io::{Read, Seek, SeekFrom, Write};

use outpost_proto::{
    AttachmentId, AuditAction, EncounterId, PatientId, Payload, RecordId, UserId,
    payload::AttachmentAdded,
};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Store, StoreError, oplog, records::id_col};

/// Bytes per stored chunk.
pub const CHUNK_SIZE: usize = 256 * 1024;
/// Largest attachment accepted (a clinic photo or scanned document, with room to spare).
pub const MAX_ATTACHMENT_SIZE: u64 = 512 * 1024 * 1024;

/// An attachment's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AttachmentInfo {
    /// Stable id.
    pub id: AttachmentId,
    /// The patient.
    pub patient_id: PatientId,
    /// The encounter, if any.
    pub encounter_id: Option<EncounterId>,
    /// The original file name.
    pub file_name: String,
    /// MIME type (`image/jpeg`, `application/pdf`, ...).
    pub media_type: String,
    /// Size in bytes.
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub size: u64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// When it was added (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub created_at: i64,
    /// Who added it.
    pub created_by: UserId,
    /// Added before operations were signed.
    pub legacy: bool,
}

/// SHA-256 and length of everything `content` yields.
fn hash_stream(content: &mut impl Read, buf: &mut [u8]) -> Result<([u8; 32], u64), StoreError> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    loop {
        let n = read_full(content, buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        if size > MAX_ATTACHMENT_SIZE {
            return Err(StoreError::Invalid {
                field: "file",
                reason: "larger than 512 MiB",
            });
        }
        hasher.update(&buf[..n]);
        if n < buf.len() {
            break;
        }
    }
    Ok((hasher.finalize().into(), size))
}

impl Store {
    /// Stores the bytes read from `content` as an attachment. The content is hashed first, then
    /// written in chunks under that hash in the same transaction as the signed operation that
    /// names it (and hashed again as it is written: a file that changed meanwhile is refused).
    /// Either the whole attachment is stored, or nothing.
    pub fn add_attachment(
        &mut self,
        patient_id: PatientId,
        encounter_id: Option<EncounterId>,
        file_name: &str,
        media_type: &str,
        mut content: impl Read + Seek,
    ) -> Result<AttachmentInfo, StoreError> {
        if file_name.trim().is_empty() || file_name.len() > 255 {
            return Err(StoreError::Invalid {
                field: "file_name",
                reason: "must be 1 to 255 characters",
            });
        }
        let mut buf = vec![0u8; CHUNK_SIZE];
        let (sha256, size) = hash_stream(&mut content, &mut buf)?;
        content.seek(SeekFrom::Start(0))?;
        let id = AttachmentId::random(&mut rand_core::OsRng);
        let payload = AttachmentAdded {
            patient: patient_id,
            encounter: encounter_id,
            file_name: file_name.to_owned(),
            media_type: media_type.to_owned(),
            size,
            sha256,
        };
        let op = self.write_with(|tx, author| {
            // Stored already only if whole: a download from the relay still in progress keeps
            // its first chunks under the same hash.
            let stored: i64 = tx.query_row(
                "SELECT coalesce(sum(length(data)), 0) FROM blobs WHERE sha256 = ?1",
                [sha256.as_slice()],
                |r| r.get(0),
            )?;
            if u64::try_from(stored).ok() != Some(size) {
                tx.execute("DELETE FROM blobs WHERE sha256 = ?1", [sha256.as_slice()])?;
                let mut insert =
                    tx.prepare_cached("INSERT INTO blobs (sha256, idx, data) VALUES (?1, ?2, ?3)")?;
                let mut hasher = Sha256::new();
                let mut written = 0u64;
                let mut idx: i64 = 0;
                loop {
                    let n = read_full(&mut content, &mut buf)?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                    written += n as u64;
                    insert.execute(params![sha256.as_slice(), idx, &buf[..n]])?;
                    idx += 1;
                    if n < CHUNK_SIZE || written > size {
                        break;
                    }
                }
                if written != size || <[u8; 32]>::from(hasher.finalize()) != sha256 {
                    return Err(StoreError::Invalid {
                        field: "file",
                        reason: "the file changed while it was being added",
                    });
                }
            }
            oplog::append(
                tx,
                author,
                RecordId::from(id),
                &Payload::AttachmentAdded(payload.clone()),
            )
        })?;
        if size >= crate::db::LARGE_WRITE {
            crate::db::checkpoint(&self.conn);
        }
        Ok(AttachmentInfo {
            id,
            patient_id,
            encounter_id,
            file_name: payload.file_name,
            media_type: payload.media_type,
            size,
            sha256: outpost_proto::ids::to_hex(&sha256),
            created_at: i64::try_from(op.header().hlc.wall_ms).unwrap_or(i64::MAX),
            created_by: self.user.id,
            legacy: false,
        })
    }

    /// Streams an attachment's bytes into `out`, checking the content hash as it goes. On a
    /// hash mismatch the bytes already written must be discarded by the caller (write to a
    /// scratch file and publish it only on success). Audited.
    pub fn read_attachment(
        &mut self,
        id: AttachmentId,
        mut out: impl Write,
    ) -> Result<AttachmentInfo, StoreError> {
        let info = self.attachment_info(id)?;
        let sha256 = outpost_proto::ids::from_hex::<32>(&info.sha256)
            .ok_or(StoreError::Corrupt("attachment hash"))?;
        // Recorded before a byte is handed out: a read that cannot be audited does not happen.
        self.audit_event(
            AuditAction::AttachmentRead,
            Some(RecordId::from(id)),
            Some(info.patient_id),
        )?;
        let mut hasher = Sha256::new();
        let mut written: u64 = 0;
        {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT data FROM blobs WHERE sha256 = ?1 ORDER BY idx")?;
            let mut rows = stmt.query([sha256.as_slice()])?;
            while let Some(row) = rows.next()? {
                let chunk = row
                    .get_ref(0)?
                    .as_blob()
                    .map_err(|_| StoreError::Corrupt("attachment chunk"))?;
                hasher.update(chunk);
                out.write_all(chunk)?;
                written += chunk.len() as u64;
            }
        }
        if written == 0 && info.size > 0 {
            return Err(StoreError::NotFound("attachment content"));
        }
        if written != info.size || <[u8; 32]>::from(hasher.finalize()) != sha256 {
            return Err(StoreError::Corrupt(
                "attachment content does not match its hash",
            ));
        }
        Ok(info)
    }

    /// An attachment's metadata.
    pub fn attachment_info(&self, id: AttachmentId) -> Result<AttachmentInfo, StoreError> {
        self.require_care_team("reading attachments")?;
        self.conn
            .query_row(
                &format!("SELECT {INFO_COLUMNS} FROM attachments WHERE id = ?1"),
                [id.to_hex()],
                info_from_row,
            )
            .optional()?
            .ok_or(StoreError::NotFound("attachment"))
    }

    pub(crate) fn attachment_list(
        &self,
        patient_id: PatientId,
    ) -> Result<Vec<AttachmentInfo>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {INFO_COLUMNS} FROM attachments WHERE patient_id = ?1 ORDER BY created_at DESC, id"
        ))?;
        let rows = stmt.query_map([patient_id.to_hex()], info_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

const INFO_COLUMNS: &str = "id, patient_id, encounter_id, file_name, media_type, size, sha256, created_at, created_by, legacy";

fn info_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AttachmentInfo> {
    Ok(AttachmentInfo {
        id: id_col(r, 0)?,
        patient_id: id_col(r, 1)?,
        encounter_id: crate::records::opt_id_col(r, 2)?,
        file_name: r.get(3)?,
        media_type: r.get(4)?,
        size: u64::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
        sha256: outpost_proto::ids::to_hex(&r.get::<_, Vec<u8>>(6)?),
        created_at: r.get(7)?,
        created_by: id_col(r, 8)?,
        legacy: r.get(9)?,
    })
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
