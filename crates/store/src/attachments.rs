//! Attachments (photos, documents): content-hashed and stored in fixed-size chunks inside the
//! encrypted database, so a 50 MB photo series never needs 50 MB of memory to write or read.

use std::io::{Read, Write};

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Store, StoreError, audit, db::hex, profile::random_id};

/// Bytes per stored chunk.
pub const CHUNK_SIZE: usize = 256 * 1024;
/// Largest attachment accepted (a clinic photo or scanned document, with room to spare).
pub const MAX_ATTACHMENT_SIZE: u64 = 512 * 1024 * 1024;

/// An attachment's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AttachmentInfo {
    /// Stable id.
    pub id: String,
    /// The patient.
    pub patient_id: String,
    /// The encounter, if any.
    pub encounter_id: Option<String>,
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
}

impl Store {
    /// Stores the bytes read from `content` as an attachment, chunk by chunk, in one
    /// transaction: either the whole file is stored, or nothing.
    pub fn add_attachment(
        &mut self,
        patient_id: &str,
        encounter_id: Option<&str>,
        file_name: &str,
        media_type: &str,
        mut content: impl Read,
    ) -> Result<AttachmentInfo, StoreError> {
        self.require_patient(patient_id)?;
        if file_name.trim().is_empty() || file_name.len() > 255 {
            return Err(StoreError::Invalid {
                field: "file_name",
                reason: "must be 1 to 255 characters",
            });
        }
        let id = random_id();
        let now = self.now();
        let user = self.user.id.clone();
        let tx = self.conn.transaction()?;
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut buf = vec![0u8; CHUNK_SIZE];
        let mut idx: i64 = 0;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO attachment_chunks (attachment_id, idx, data) VALUES (?1, ?2, ?3)",
            )?;
            loop {
                let n = read_full(&mut content, &mut buf)?;
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
                insert.execute(params![id, idx, &buf[..n]])?;
                idx += 1;
                if n < CHUNK_SIZE {
                    break;
                }
            }
        }
        let info = AttachmentInfo {
            id,
            patient_id: patient_id.to_owned(),
            encounter_id: encounter_id.map(str::to_owned),
            file_name: file_name.to_owned(),
            media_type: media_type.to_owned(),
            size,
            sha256: hex(&hasher.finalize()),
            created_at: now,
        };
        tx.execute(
            "INSERT INTO attachments (id, patient_id, encounter_id, file_name, media_type, size, sha256, created_at, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                info.id,
                info.patient_id,
                info.encounter_id,
                info.file_name,
                info.media_type,
                i64::try_from(size).unwrap_or(i64::MAX),
                info.sha256,
                now,
                user
            ],
        )?;
        audit::append(
            &tx,
            now,
            Some(&user),
            "attachment_added",
            Some("attachment"),
            Some(&info.id),
        )?;
        tx.commit()?;
        Ok(info)
    }

    /// Streams an attachment's bytes into `out`, checking the content hash as it goes. On a
    /// hash mismatch the bytes already written must be discarded by the caller (write to a
    /// temporary file and rename on success).
    pub fn read_attachment(
        &mut self,
        id: &str,
        mut out: impl Write,
    ) -> Result<AttachmentInfo, StoreError> {
        self.require_care_team()?;
        let info = self.attachment_info(id)?;
        let mut hasher = Sha256::new();
        let mut written: u64 = 0;
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT data FROM attachment_chunks WHERE attachment_id = ?1 ORDER BY idx",
            )?;
            let mut rows = stmt.query([id])?;
            while let Some(row) = rows.next()? {
                let chunk = row
                    .get_ref(0)?
                    .as_blob()
                    .map_err(|_| StoreError::Corrupt("attachment chunk".into()))?;
                hasher.update(chunk);
                out.write_all(chunk)?;
                written += chunk.len() as u64;
            }
        }
        if written != info.size || hex(&hasher.finalize()) != info.sha256 {
            return Err(StoreError::Corrupt(
                "attachment content does not match its hash".into(),
            ));
        }
        self.audit_now("attachment_read", Some("attachment"), Some(id))?;
        Ok(info)
    }

    /// An attachment's metadata.
    pub fn attachment_info(&self, id: &str) -> Result<AttachmentInfo, StoreError> {
        self.conn
            .query_row(
                "SELECT id, patient_id, encounter_id, file_name, media_type, size, sha256, created_at FROM attachments WHERE id = ?1",
                [id],
                info_from_row,
            )
            .optional()?
            .ok_or(StoreError::NotFound("attachment"))
    }

    pub(crate) fn attachment_list(
        &self,
        patient_id: &str,
    ) -> Result<Vec<AttachmentInfo>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, patient_id, encounter_id, file_name, media_type, size, sha256, created_at FROM attachments WHERE patient_id = ?1 ORDER BY created_at DESC",
        )?;
        let rows = stmt.query_map([patient_id], info_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn info_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AttachmentInfo> {
    Ok(AttachmentInfo {
        id: r.get(0)?,
        patient_id: r.get(1)?,
        encounter_id: r.get(2)?,
        file_name: r.get(3)?,
        media_type: r.get(4)?,
        size: u64::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
        sha256: r.get(6)?,
        created_at: r.get(7)?,
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
