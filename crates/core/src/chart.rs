//! The chart API: everything a physician or nurse does with charts, over the encrypted store.
//!
//! Each function is a thin async wrapper: it checks the session, runs the store call on a
//! blocking thread, and returns the store's typed result.

use std::path::PathBuf;

use outpost_crypto::KdfParams;
use outpost_store::{
    Profile, Role, Store, User,
    attachments::AttachmentInfo,
    audit::{AuditEntry, AuditFilter},
    backup::Manifest,
    records::{
        Addendum, Chart, Encounter, EncounterKind, NewPatient, Note, Patient, Soap, Vital,
        VitalKind,
    },
};
use zeroize::Zeroizing;

use crate::{Core, CoreError};

impl Core {
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, CoreError> + Send + 'static,
    ) -> Result<T, CoreError> {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|_| CoreError::Task)?
    }

    /// Creates the profile with its first user and unlocks it. Returns the recovery key text,
    /// to be shown once and never stored.
    pub async fn create_profile(
        &self,
        name: String,
        role: Role,
        passphrase: Zeroizing<String>,
    ) -> Result<Zeroizing<String>, CoreError> {
        let dir = self.data_dir().to_path_buf();
        let clock = self.clock();
        let (store, recovery) = self
            .blocking(move || {
                Ok(Profile::create(
                    &dir,
                    &name,
                    role,
                    passphrase.as_bytes(),
                    KdfParams::DEFAULT,
                    clock,
                )?)
            })
            .await?;
        self.install(store).await;
        Ok(recovery.display())
    }

    /// The users who can unlock this device's profile.
    pub async fn users(&self) -> Result<Vec<User>, CoreError> {
        let dir = self.data_dir().to_path_buf();
        self.blocking(move || Ok(Profile::open(&dir)?.users()))
            .await
    }

    /// Unlocks as `user` (name or id).
    pub async fn unlock(
        &self,
        user: String,
        passphrase: Zeroizing<String>,
    ) -> Result<User, CoreError> {
        let dir = self.data_dir().to_path_buf();
        let clock = self.clock();
        let store = self
            .blocking(move || {
                Ok(Profile::open(&dir)?.unlock(&user, passphrase.as_bytes(), clock)?)
            })
            .await?;
        let user = store.user().clone();
        self.install(store).await;
        Ok(user)
    }

    /// Emergency access with the recovery key (loudly audited).
    pub async fn unlock_with_recovery(
        &self,
        recovery: Zeroizing<String>,
    ) -> Result<User, CoreError> {
        let dir = self.data_dir().to_path_buf();
        let clock = self.clock();
        let store = self
            .blocking(move || Ok(Profile::open(&dir)?.unlock_with_recovery(&recovery, clock)?))
            .await?;
        let user = store.user().clone();
        self.install(store).await;
        Ok(user)
    }

    /// Adds a user with their own passphrase (needs an admin or physician session).
    pub async fn add_user(
        &self,
        name: String,
        role: Role,
        passphrase: Zeroizing<String>,
    ) -> Result<User, CoreError> {
        let dir = self.data_dir().to_path_buf();
        self.with_store(move |store: &mut Store| {
            let mut profile = Profile::open(&dir)?;
            profile.add_user(
                store,
                &name,
                role,
                passphrase.as_bytes(),
                KdfParams::DEFAULT,
            )
        })
        .await
    }

    /// Who is using the unlocked profile.
    pub async fn current_user(&self) -> Result<User, CoreError> {
        self.with_store(|s| Ok(s.user().clone())).await
    }

    /// Registers a patient.
    pub async fn add_patient(&self, patient: NewPatient) -> Result<Patient, CoreError> {
        self.with_store(move |s| s.add_patient(&patient)).await
    }

    /// Patients matching `query` (all when empty).
    pub async fn search_patients(&self, query: String) -> Result<Vec<Patient>, CoreError> {
        self.with_store(move |s| s.search_patients(&query)).await
    }

    /// A patient's whole chart (audited).
    pub async fn chart(&self, patient_id: String) -> Result<Chart, CoreError> {
        self.with_store(move |s| s.chart(&patient_id)).await
    }

    /// Opens an encounter.
    pub async fn add_encounter(
        &self,
        patient_id: String,
        kind: EncounterKind,
    ) -> Result<Encounter, CoreError> {
        self.with_store(move |s| s.add_encounter(&patient_id, kind))
            .await
    }

    /// Writes a draft note.
    pub async fn write_note(
        &self,
        patient_id: String,
        encounter_id: Option<String>,
        soap: Soap,
    ) -> Result<Note, CoreError> {
        self.with_store(move |s| s.write_note(&patient_id, encounter_id.as_deref(), &soap))
            .await
    }

    /// Saves a draft (autosave).
    pub async fn update_draft(&self, note_id: String, soap: Soap) -> Result<Note, CoreError> {
        self.with_store(move |s| s.update_draft(&note_id, &soap))
            .await
    }

    /// Signs a draft; it is immutable afterwards.
    pub async fn sign_note(&self, note_id: String) -> Result<Note, CoreError> {
        self.with_store(move |s| s.sign_note(&note_id)).await
    }

    /// Adds a signed addendum to a signed note.
    pub async fn add_addendum(&self, note_id: String, text: String) -> Result<Addendum, CoreError> {
        self.with_store(move |s| s.add_addendum(&note_id, &text))
            .await
    }

    /// One note with its addenda.
    pub async fn note(&self, note_id: String) -> Result<Note, CoreError> {
        self.with_store(move |s| s.note(&note_id)).await
    }

    /// Records a vital sign.
    pub async fn add_vital(
        &self,
        patient_id: String,
        encounter_id: Option<String>,
        kind: VitalKind,
        value: f64,
        value2: Option<f64>,
    ) -> Result<Vital, CoreError> {
        self.with_store(move |s| {
            s.add_vital(&patient_id, encounter_id.as_deref(), kind, value, value2)
        })
        .await
    }

    /// Stores a file as an attachment, streamed from disk.
    pub async fn add_attachment(
        &self,
        patient_id: String,
        path: PathBuf,
        media_type: String,
    ) -> Result<AttachmentInfo, CoreError> {
        self.with_store(move |s| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let file = std::io::BufReader::new(std::fs::File::open(&path)?);
            s.add_attachment(&patient_id, None, &name, &media_type, file)
        })
        .await
    }

    /// Stores bytes the UI read from a file as an attachment.
    pub async fn add_attachment_bytes(
        &self,
        patient_id: String,
        file_name: String,
        media_type: String,
        bytes: Vec<u8>,
    ) -> Result<AttachmentInfo, CoreError> {
        self.with_store(move |s| {
            s.add_attachment(&patient_id, None, &file_name, &media_type, bytes.as_slice())
        })
        .await
    }

    /// An image attachment as a `data:` URL for a thumbnail, or `None` for other types or
    /// images larger than `max_bytes`. Reading it is audited like any attachment read.
    pub async fn attachment_data_url(
        &self,
        id: String,
        max_bytes: u64,
    ) -> Result<Option<String>, CoreError> {
        self.with_store(move |s| {
            let info = s.attachment_info(&id)?;
            if !info.media_type.starts_with("image/") || info.size > max_bytes {
                return Ok(None);
            }
            let mut bytes = Vec::with_capacity(usize::try_from(info.size).unwrap_or(0));
            s.read_attachment(&id, &mut bytes)?;
            Ok(Some(format!(
                "data:{};base64,{}",
                info.media_type,
                base64(&bytes)
            )))
        })
        .await
    }

    /// Writes an attachment to `dest`; the file appears only once its hash has checked out.
    pub async fn save_attachment(
        &self,
        id: String,
        dest: PathBuf,
    ) -> Result<AttachmentInfo, CoreError> {
        self.with_store(move |s| {
            let tmp = dest.with_extension("partial");
            let result = (|| {
                let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
                let info = s.read_attachment(&id, &mut out)?;
                std::io::Write::flush(&mut out)?;
                Ok(info)
            })();
            match result {
                Ok(info) => {
                    std::fs::rename(&tmp, &dest)?;
                    Ok(info)
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    Err(e)
                }
            }
        })
        .await
    }

    /// Audit entries, newest first.
    pub async fn audit_entries(&self, filter: AuditFilter) -> Result<Vec<AuditEntry>, CoreError> {
        self.with_store(move |s| s.audit_entries(&filter)).await
    }

    /// Verifies the audit chain; the number of entries when it holds.
    pub async fn verify_audit(&self) -> Result<i64, CoreError> {
        self.with_store(Store::verify_audit).await
    }

    /// Writes an encrypted backup protected by `passphrase`.
    pub async fn create_backup(
        &self,
        path: PathBuf,
        passphrase: Zeroizing<String>,
    ) -> Result<Manifest, CoreError> {
        self.with_store(move |s| s.create_backup(&path, passphrase.as_bytes(), KdfParams::DEFAULT))
            .await
    }

    /// Checks a backup without restoring it.
    pub async fn verify_backup(
        &self,
        path: PathBuf,
        passphrase: Zeroizing<String>,
    ) -> Result<Manifest, CoreError> {
        let scratch = self.data_dir().to_path_buf();
        self.blocking(move || {
            Ok(outpost_store::backup::verify_backup(
                &path,
                passphrase.as_bytes(),
                &scratch,
            )?)
        })
        .await
    }

    /// Restores a backup into this runtime's (empty) data directory and unlocks it as the
    /// backup's creator. Returns the new recovery key text, to show once.
    pub async fn restore_backup(
        &self,
        path: PathBuf,
        passphrase: Zeroizing<String>,
    ) -> Result<Zeroizing<String>, CoreError> {
        let dir = self.data_dir().to_path_buf();
        let clock = self.clock();
        let (store, recovery) = self
            .blocking(move || {
                Ok(outpost_store::backup::restore_backup(
                    &path,
                    passphrase.as_bytes(),
                    &dir,
                    KdfParams::DEFAULT,
                    clock,
                )?)
            })
            .await?;
        self.install(store).await;
        Ok(recovery.display())
    }
}

/// Standard base64 with padding (RFC 4648), for `data:` URLs.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(input.as_bytes()), expected);
        }
    }
}
