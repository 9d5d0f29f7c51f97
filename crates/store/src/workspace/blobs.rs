//! Attachment content through the relay: encrypted end to end as a blob named by the SHA-256
//! of its ciphertext, uploaded and downloaded one encrypted chunk at a time so a broken link
//! resumes where it stopped.
//!
//! # Blob format, version 1
//!
//! The content is cut into the store's chunks ([`CHUNK_SIZE`] bytes, the last shorter). Chunk
//! `i` of `n` is sealed with XChaCha20-Poly1305 under a random per-attachment key, with nonce
//! `HKDF-SHA256(ikm = key, info = "outpost/v1/blob/nonce" || i (u64) || last (u8))[..24]` and
//! AAD `"outpost/v1/blob" || attachment id (16) || i (u64) || last (u8)`, so chunks cannot be
//! reordered, dropped at the end, or moved to another attachment. The blob is the sealed
//! chunks concatenated (each [`CHUNK_SIZE`] + 16 bytes, the last shorter). The key travels only
//! inside the signed, end-to-end encrypted `attachment_uploaded` operation; the plaintext's
//! SHA-256 (in `attachment_added`) is checked when the last chunk arrives.

use outpost_crypto::primitives;
use outpost_proto::{AttachmentId, PatientId, Payload, RecordId, payload::AttachmentUploaded};
use rand_core::{OsRng, RngCore};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{Store, StoreError, attachments::CHUNK_SIZE};

/// Bytes of one sealed chunk (all but the last).
pub const SEALED_CHUNK: u64 = CHUNK_SIZE as u64 + 16;

/// An attachment to upload or download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobPlan {
    /// The attachment.
    pub attachment: AttachmentId,
    /// The blob's name on the relay.
    pub blob: [u8; 32],
    /// The blob's size.
    pub blob_size: u64,
    /// Sealed chunks in the blob.
    pub chunks: u64,
    /// For a download: the chunks already held here.
    pub have: u64,
}

fn chunks_of(size: u64) -> u64 {
    size.div_ceil(CHUNK_SIZE as u64).max(1)
}

fn nonce(key: &[u8; 32], i: u64, last: bool) -> [u8; primitives::XNONCE_LEN] {
    let derived = primitives::derive_key(
        b"",
        key,
        &[
            b"outpost/v1/blob/nonce",
            &i.to_be_bytes(),
            &[u8::from(last)],
        ],
    );
    let mut n = [0u8; primitives::XNONCE_LEN];
    n.copy_from_slice(&derived[..primitives::XNONCE_LEN]);
    n
}

fn aad(attachment: AttachmentId, i: u64, last: bool) -> Vec<u8> {
    let mut a = b"outpost/v1/blob".to_vec();
    a.extend_from_slice(&attachment.0);
    a.extend_from_slice(&i.to_be_bytes());
    a.push(u8::from(last));
    a
}

fn key32(v: &[u8]) -> Result<Zeroizing<[u8; 32]>, StoreError> {
    let mut k = Zeroizing::new([0u8; 32]);
    if v.len() != 32 {
        return Err(StoreError::Corrupt("a blob key has the wrong length"));
    }
    k.copy_from_slice(v);
    Ok(k)
}

impl Store {
    /// The content hash and size of an attachment, and whether its content is all here.
    fn content_state(&self, attachment: AttachmentId) -> Result<([u8; 32], u64, bool), StoreError> {
        let (sha, size): (Vec<u8>, i64) = self.conn.query_row(
            "SELECT sha256, size FROM attachments WHERE id = ?1",
            [attachment.to_hex()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let sha: [u8; 32] = sha
            .try_into()
            .map_err(|_| StoreError::Corrupt("attachment hash"))?;
        let size = u64::try_from(size).unwrap_or(0);
        let held: i64 = self.conn.query_row(
            "SELECT coalesce(sum(length(data)), 0) FROM blobs WHERE sha256 = ?1",
            [sha.as_slice()],
            |r| r.get(0),
        )?;
        Ok((sha, size, u64::try_from(held).unwrap_or(0) == size))
    }

    fn sealed_chunk(
        &self,
        attachment: AttachmentId,
        sha: &[u8; 32],
        key: &[u8; 32],
        i: u64,
        n: u64,
    ) -> Result<Vec<u8>, StoreError> {
        let plain: Vec<u8> = self
            .conn
            .query_row(
                "SELECT data FROM blobs WHERE sha256 = ?1 AND idx = ?2",
                params![sha.as_slice(), i64::try_from(i).unwrap_or(i64::MAX)],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or_default();
        let last = i + 1 == n;
        Ok(primitives::xchacha_seal(
            key,
            &nonce(key, i, last),
            &aad(attachment, i, last),
            &plain,
        )?)
    }

    /// The next attachment whose content this device holds and the workspace does not: small
    /// before large. Its key and blob name are fixed the first time (so an interrupted upload
    /// resumes with the same bytes).
    pub fn next_upload(&mut self, skip: &[AttachmentId]) -> Result<Option<BlobPlan>, StoreError> {
        if self.workspace()?.is_none() || !self.is_admitted()? {
            return Ok(None);
        }
        let mut stmt = self.conn.prepare(
            "SELECT a.id FROM attachments a
             WHERE NOT EXISTS (SELECT 1 FROM attachment_uploads u WHERE u.attachment_id = a.id)
             ORDER BY a.size, a.id",
        )?;
        let candidates: Vec<AttachmentId> = stmt
            .query_map([], |r| crate::records::id_col(r, 0))?
            .collect::<Result<_, _>>()?;
        drop(stmt);
        for attachment in candidates {
            if skip.contains(&attachment) {
                continue;
            }
            let (sha, size, complete) = self.content_state(attachment)?;
            if !complete {
                continue;
            }
            let n = chunks_of(size);
            let planned: Option<(Vec<u8>, Vec<u8>)> = self
                .conn
                .query_row(
                    "SELECT blob, content_key FROM transfers WHERE attachment_id = ?1 AND direction = 'up'",
                    [attachment.to_hex()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            // Each chunk grows by its 16-byte tag.
            let blob_size = size + 16 * n;
            let blob = if let Some((blob, _)) = planned {
                blob.try_into()
                    .map_err(|_| StoreError::Corrupt("transfer blob name"))?
            } else {
                let mut key = Zeroizing::new([0u8; 32]);
                OsRng.fill_bytes(key.as_mut());
                let mut hasher = Sha256::new();
                for i in 0..n {
                    hasher.update(self.sealed_chunk(attachment, &sha, &key, i, n)?);
                }
                let blob: [u8; 32] = hasher.finalize().into();
                self.conn.execute(
                    "INSERT INTO transfers (attachment_id, direction, done, blob, content_key, updated_at)
                     VALUES (?1, 'up', 0, ?2, ?3, ?4)",
                    params![attachment.to_hex(), blob.as_slice(), key.as_slice(), self.now()],
                )?;
                blob
            };
            return Ok(Some(BlobPlan {
                attachment,
                blob,
                blob_size,
                chunks: n,
                have: 0,
            }));
        }
        Ok(None)
    }

    /// Sealed chunk `i` of an attachment being uploaded.
    pub fn upload_chunk(&self, attachment: AttachmentId, i: u64) -> Result<Vec<u8>, StoreError> {
        let key: Vec<u8> = self.conn.query_row(
            "SELECT content_key FROM transfers WHERE attachment_id = ?1 AND direction = 'up'",
            [attachment.to_hex()],
            |r| r.get(0),
        )?;
        let key = key32(&key)?;
        let (sha, size, _) = self.content_state(attachment)?;
        self.sealed_chunk(attachment, &sha, &key, i, chunks_of(size))
    }

    /// The relay holds the whole blob: record where it is and its key, signed, for the team.
    pub fn upload_done(&mut self, plan: &BlobPlan) -> Result<(), StoreError> {
        let (key, patient): (Vec<u8>, String) = self.conn.query_row(
            "SELECT t.content_key, a.patient_id FROM transfers t JOIN attachments a ON a.id = t.attachment_id
             WHERE t.attachment_id = ?1 AND t.direction = 'up'",
            [plan.attachment.to_hex()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let key = key32(&key)?;
        let patient: PatientId = patient.parse()?;
        let (_, size, _) = self.content_state(plan.attachment)?;
        self.write(
            RecordId::from(plan.attachment),
            &Payload::AttachmentUploaded(AttachmentUploaded {
                patient,
                blob: plan.blob,
                blob_size: size + 16 * chunks_of(size),
                content_key: *key,
            }),
        )?;
        self.conn.execute(
            "DELETE FROM transfers WHERE attachment_id = ?1 AND direction = 'up'",
            [plan.attachment.to_hex()],
        )?;
        Ok(())
    }

    /// Forgets an upload's key and name (the relay refused the blob): the next attempt starts
    /// afresh.
    pub fn upload_failed(&mut self, attachment: AttachmentId) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM transfers WHERE attachment_id = ?1 AND direction = 'up'",
            [attachment.to_hex()],
        )?;
        Ok(())
    }

    /// The next attachment uploaded by someone whose content is not here yet: small first.
    pub fn next_download(&mut self, skip: &[AttachmentId]) -> Result<Option<BlobPlan>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT u.attachment_id, u.blob, u.blob_size FROM attachment_uploads u
             JOIN attachments a ON a.id = u.attachment_id ORDER BY a.size, a.id",
        )?;
        let rows: Vec<(AttachmentId, Vec<u8>, i64)> = stmt
            .query_map([], |r| {
                Ok((crate::records::id_col(r, 0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        drop(stmt);
        for (attachment, blob, blob_size) in rows {
            if skip.contains(&attachment) {
                continue;
            }
            let (sha, size, complete) = self.content_state(attachment)?;
            if complete {
                continue;
            }
            let have: i64 = self.conn.query_row(
                "SELECT count(*) FROM blobs WHERE sha256 = ?1",
                [sha.as_slice()],
                |r| r.get(0),
            )?;
            return Ok(Some(BlobPlan {
                attachment,
                blob: blob
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("attachment blob name"))?,
                blob_size: u64::try_from(blob_size).unwrap_or(0),
                chunks: chunks_of(size),
                have: u64::try_from(have).unwrap_or(0),
            }));
        }
        Ok(None)
    }

    /// Takes sealed chunk `i` of a download: opened with the attachment's key and kept. After
    /// the last chunk, the content must hash to what the attachment names, or it is all
    /// dropped (and fetched again later). Returns whether the attachment is complete.
    pub fn download_chunk(
        &mut self,
        plan: &BlobPlan,
        i: u64,
        sealed: &[u8],
    ) -> Result<bool, StoreError> {
        let key: Vec<u8> = self.conn.query_row(
            "SELECT content_key FROM attachment_uploads WHERE attachment_id = ?1",
            [plan.attachment.to_hex()],
            |r| r.get(0),
        )?;
        let key = key32(&key)?;
        let last = i + 1 == plan.chunks;
        let plain = primitives::xchacha_open(
            &key,
            &nonce(&key, i, last),
            &aad(plan.attachment, i, last),
            sealed,
        )
        .map_err(|_| StoreError::Invalid {
            field: "attachment",
            reason: "its content from the relay does not decrypt: altered or truncated",
        })?;
        let (sha, size, _) = self.content_state(plan.attachment)?;
        self.conn.execute(
            "INSERT OR REPLACE INTO blobs (sha256, idx, data) VALUES (?1, ?2, ?3)",
            params![
                sha.as_slice(),
                i64::try_from(i).unwrap_or(i64::MAX),
                plain.as_slice()
            ],
        )?;
        if !last {
            return Ok(false);
        }
        let mut hasher = Sha256::new();
        let mut total = 0u64;
        {
            let mut stmt = self
                .conn
                .prepare("SELECT data FROM blobs WHERE sha256 = ?1 ORDER BY idx")?;
            let mut rows = stmt.query([sha.as_slice()])?;
            while let Some(r) = rows.next()? {
                let chunk = r
                    .get_ref(0)?
                    .as_blob()
                    .map_err(|_| StoreError::Corrupt("chunk"))?;
                hasher.update(chunk);
                total += chunk.len() as u64;
            }
        }
        if total != size || <[u8; 32]>::from(hasher.finalize()) != sha {
            self.conn
                .execute("DELETE FROM blobs WHERE sha256 = ?1", [sha.as_slice()])?;
            return Err(StoreError::Invalid {
                field: "attachment",
                reason: "the downloaded content does not match the attachment's hash",
            });
        }
        Ok(true)
    }
}
