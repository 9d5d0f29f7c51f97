//! The chart API: everything a physician or nurse does with charts, over the encrypted store.
//!
//! Each function is a thin async wrapper: it checks the session, runs the store call on a
//! blocking thread, and returns the store's typed result.

use std::path::PathBuf;

use outpost_crypto::KdfParams;
use outpost_store::{
    AttachmentId, EncounterId, NoteId, OpHash, PatientId, Profile, Role, Store, UnlockWarning,
    User, VitalId,
    attachments::AttachmentInfo,
    audit::{AuditEntry, AuditFilter},
    backup::Manifest,
    records::{
        Addendum, Chart, Encounter, EncounterKind, NewPatient, Note, Patient, PatientPage, Soap,
        Vital, VitalKind,
    },
    verify::LogReport,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{Core, CoreError, backup_place::BackupPlace};

/// Who is signed in, and what the unlock found that they must be told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SessionInfo {
    /// The signed-in user.
    pub user: User,
    /// Warnings to show before anything else (a profile restored to an earlier state).
    pub warnings: Vec<UnlockWarning>,
}

impl SessionInfo {
    fn of(store: &Store) -> Self {
        Self {
            user: store.user().clone(),
            warnings: store.warnings().to_vec(),
        }
    }
}

/// A backup just written: its manifest, where it is, and whether that is the chart's own disk.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BackupWritten {
    /// What the backup holds.
    pub manifest: Manifest,
    /// The file written.
    pub file: PathBuf,
    /// True when the file is on the same file system as the chart: copy it elsewhere.
    pub same_disk_as_data: bool,
}

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
        let anchors = self.inner.anchor_dir.clone();
        let (store, recovery) = self
            .blocking(move || {
                Ok(Profile::create_in(
                    &dir,
                    &name,
                    role,
                    passphrase.as_bytes(),
                    KdfParams::DEFAULT,
                    clock,
                    anchors,
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
    ) -> Result<SessionInfo, CoreError> {
        let profile = self.profile();
        let clock = self.clock();
        let store = self
            .blocking(move || Ok(profile?.unlock(&user, passphrase.as_bytes(), clock)?))
            .await?;
        let info = SessionInfo::of(&store);
        self.install(store).await;
        Ok(info)
    }

    /// Emergency access with the recovery key, as the profile's emergency user, with the
    /// reason recorded in the audit trail.
    pub async fn unlock_with_recovery(
        &self,
        recovery: Zeroizing<String>,
        reason: String,
    ) -> Result<SessionInfo, CoreError> {
        let profile = self.profile();
        let clock = self.clock();
        let store = self
            .blocking(move || Ok(profile?.unlock_with_recovery(&recovery, &reason, clock)?))
            .await?;
        let info = SessionInfo::of(&store);
        self.install(store).await;
        Ok(info)
    }

    /// Emergency access when `profile.json` and its copy are lost or damaged: the recovery key
    /// with the recovery sheet printed beside it (its text as printed or typed).
    pub async fn unlock_with_recovery_sheet(
        &self,
        sheet: String,
        recovery: Zeroizing<String>,
        reason: String,
    ) -> Result<SessionInfo, CoreError> {
        let dir = self.inner.data_dir.clone();
        let anchors = self.inner.anchor_dir.clone();
        let clock = self.clock();
        let store = self
            .blocking(move || {
                let sheet = outpost_store::RecoverySheet::parse(&sheet)?;
                let profile = outpost_store::Profile::from_recovery_sheet(&dir, &sheet)?
                    .with_anchor_dir(anchors);
                Ok(profile.unlock_with_recovery(&recovery, &reason, clock)?)
            })
            .await?;
        let info = SessionInfo::of(&store);
        self.install(store).await;
        Ok(info)
    }

    /// The recovery sheet's text for the current recovery key (nothing secret: it opens
    /// nothing without the key).
    pub fn recovery_sheet(&self) -> Result<String, CoreError> {
        Ok(self.profile()?.recovery_sheet().text()?)
    }

    /// Adds a user with their own passphrase (needs an admin or physician session).
    pub async fn add_user(
        &self,
        name: String,
        role: Role,
        passphrase: Zeroizing<String>,
    ) -> Result<User, CoreError> {
        let profile = self.profile();
        self.with_store(move |store: &mut Store| {
            let mut profile = profile?;
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

    /// Issues a new recovery key (an admin or physician); the old one no longer opens this
    /// profile. The new key is returned once, to be shown and written down. `confirm` is the
    /// signed-in user's passphrase, asked again.
    pub async fn rotate_recovery(
        &self,
        confirm: Zeroizing<String>,
    ) -> Result<outpost_store::profile::RecoveryKey, CoreError> {
        let profile = self.profile();
        self.with_store(move |store: &mut Store| {
            profile?.rotate_recovery(store, confirm.as_bytes())
        })
        .await
    }

    /// The people registered in this profile's log, removed ones included.
    pub async fn members(&self) -> Result<Vec<outpost_store::users::Member>, CoreError> {
        self.with_store(|store: &mut Store| store.members()).await
    }

    /// Removes a user for good (an admin or physician): signed out of the log, their entry in
    /// `profile.json` destroyed and the database re-keyed. Returns the new recovery key, to be
    /// shown once. `confirm` is the signed-in user's passphrase, asked again.
    pub async fn remove_user(
        &self,
        user: String,
        confirm: Zeroizing<String>,
    ) -> Result<outpost_store::profile::RecoveryKey, CoreError> {
        let profile = self.profile();
        self.with_store(move |store: &mut Store| {
            let user = user
                .trim()
                .parse()
                .map_err(|_| outpost_store::StoreError::Invalid {
                    field: "user",
                    reason: "give the user's id (32 hex characters)",
                })?;
            profile?.remove_user(store, user, confirm.as_bytes())
        })
        .await
    }

    /// Changes the signed-in user's passphrase (the current one is asked again).
    pub async fn change_passphrase(
        &self,
        current: Zeroizing<String>,
        new: Zeroizing<String>,
    ) -> Result<(), CoreError> {
        let profile = self.profile();
        self.with_store(move |store: &mut Store| {
            profile?.change_passphrase(
                store,
                current.as_bytes(),
                new.as_bytes(),
                KdfParams::DEFAULT,
            )
        })
        .await
    }

    /// What the signed-in user may do, so screens offer only what the core accepts.
    pub async fn capabilities(&self) -> Result<outpost_store::Capabilities, CoreError> {
        self.with_store(|s| Ok(s.capabilities())).await
    }

    /// Who is using the unlocked profile.
    pub async fn current_user(&self) -> Result<User, CoreError> {
        self.with_store(|s| Ok(s.user().clone())).await
    }

    /// Registers a patient.
    pub async fn add_patient(&self, patient: NewPatient) -> Result<Patient, CoreError> {
        self.with_store(move |s| s.add_patient(&patient)).await
    }

    /// Charts that may be the same person as `patient`, to warn before registering.
    pub async fn similar_patients(&self, patient: NewPatient) -> Result<Vec<Patient>, CoreError> {
        self.with_store(move |s| s.similar_patients(&patient)).await
    }

    /// One page of the patients matching every word of `query` (all when empty): `limit`
    /// patients from `offset`, and whether more remain.
    pub async fn search_patients(
        &self,
        query: String,
        offset: u32,
        limit: u32,
    ) -> Result<PatientPage, CoreError> {
        self.with_store(move |s| s.find_patients(&query, offset, limit))
            .await
    }

    /// A patient's whole chart (audited).
    pub async fn chart(&self, patient_id: PatientId) -> Result<Chart, CoreError> {
        self.with_store(move |s| s.chart(patient_id)).await
    }

    /// Opens an encounter.
    pub async fn add_encounter(
        &self,
        patient_id: PatientId,
        kind: EncounterKind,
        reason: Option<String>,
    ) -> Result<Encounter, CoreError> {
        self.with_store(move |s| {
            let reason = reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
            // Refused before anything is written: a retry must not open a second encounter.
            let reason = reason
                .map(outpost_store::records::encounters::check_reason)
                .transpose()?;
            let opened = s.add_encounter(patient_id, kind)?;
            match reason {
                Some(reason) => s.set_encounter_reason(opened.id, &reason),
                None => Ok(opened),
            }
        })
        .await
    }

    /// Sets (or corrects) why the patient came.
    pub async fn set_encounter_reason(
        &self,
        id: EncounterId,
        reason: String,
    ) -> Result<Encounter, CoreError> {
        self.with_store(move |s| s.set_encounter_reason(id, &reason))
            .await
    }

    /// Finishes an encounter.
    pub async fn finish_encounter(&self, id: EncounterId) -> Result<Encounter, CoreError> {
        self.with_store(move |s| s.finish_encounter(id)).await
    }

    /// Writes a draft note.
    pub async fn write_note(
        &self,
        patient_id: PatientId,
        encounter_id: Option<EncounterId>,
        soap: Soap,
    ) -> Result<Note, CoreError> {
        self.with_store(move |s| s.write_note(patient_id, encounter_id, &soap))
            .await
    }

    /// Saves a draft revision replacing `bases` (the revision the editor showed, or every
    /// current revision when merging); a stale base keeps both texts and is a conflict.
    pub async fn update_draft(
        &self,
        note_id: NoteId,
        bases: Vec<OpHash>,
        soap: Soap,
    ) -> Result<Note, CoreError> {
        self.with_store(move |s| s.update_draft(note_id, &bases, &soap))
            .await
    }

    /// Signs a draft if its text is still the one whose content hash the caller showed.
    pub async fn sign_note(
        &self,
        note_id: NoteId,
        expected_content_hash: String,
    ) -> Result<Note, CoreError> {
        self.with_store(move |s| s.sign_note(note_id, &expected_content_hash))
            .await
    }

    /// Adds a signed addendum to a signed note.
    pub async fn add_addendum(&self, note_id: NoteId, text: String) -> Result<Addendum, CoreError> {
        self.with_store(move |s| s.add_addendum(note_id, &text))
            .await
    }

    /// One saved text of a note, current or replaced.
    pub async fn note_revision(
        &self,
        note_id: NoteId,
        revision: OpHash,
    ) -> Result<outpost_store::records::NoteRevision, CoreError> {
        self.with_store(move |s| s.note_revision(note_id, revision))
            .await
    }

    /// One note with its addenda, signatures verified.
    pub async fn note(&self, note_id: NoteId) -> Result<Note, CoreError> {
        self.with_store(move |s| s.note(note_id)).await
    }

    /// Records a vital sign.
    pub async fn add_vital(
        &self,
        patient_id: PatientId,
        encounter_id: Option<EncounterId>,
        kind: VitalKind,
        value: f64,
        value2: Option<f64>,
    ) -> Result<Vital, CoreError> {
        self.add_vital_at(patient_id, encounter_id, kind, value, value2, None)
            .await
    }

    /// Records a vital sign measured at `observed_at` (UTC ms; `None`: now), as when
    /// readings are entered from paper.
    pub async fn add_vital_at(
        &self,
        patient_id: PatientId,
        encounter_id: Option<EncounterId>,
        kind: VitalKind,
        value: f64,
        value2: Option<f64>,
        observed_at: Option<i64>,
    ) -> Result<Vital, CoreError> {
        self.with_store(move |s| {
            s.add_vital_at(patient_id, encounter_id, kind, value, value2, observed_at)
        })
        .await
    }

    /// Strikes out a reading entered in error, saying why: it stays in the chart, struck
    /// through, and counts nowhere.
    pub async fn mark_vital_in_error(
        &self,
        id: VitalId,
        reason: String,
    ) -> Result<Vital, CoreError> {
        self.with_store(move |s| s.mark_vital_in_error(id, &reason))
            .await
    }

    /// Stores a file as an attachment, streamed from disk.
    pub async fn add_attachment(
        &self,
        patient_id: PatientId,
        path: PathBuf,
        media_type: String,
    ) -> Result<AttachmentInfo, CoreError> {
        self.with_store(move |s| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let file = std::io::BufReader::new(std::fs::File::open(&path)?);
            s.add_attachment(patient_id, None, &name, &media_type, file)
        })
        .await
    }

    /// Stores bytes the UI read from a file as an attachment.
    pub async fn add_attachment_bytes(
        &self,
        patient_id: PatientId,
        file_name: String,
        media_type: String,
        bytes: Vec<u8>,
    ) -> Result<AttachmentInfo, CoreError> {
        self.add_attachment_to(patient_id, None, file_name, media_type, bytes)
            .await
    }

    /// Stores `bytes` as an attachment on the patient's chart, in an encounter if given.
    pub async fn add_attachment_to(
        &self,
        patient_id: PatientId,
        encounter_id: Option<EncounterId>,
        file_name: String,
        media_type: String,
        bytes: Vec<u8>,
    ) -> Result<AttachmentInfo, CoreError> {
        self.with_store(move |s| {
            let info = s.add_attachment(
                patient_id,
                encounter_id,
                &file_name,
                &media_type,
                std::io::Cursor::new(&bytes[..]),
            )?;
            // Made now, while the photo is in memory: the chart shows it small from the start.
            // The attachment is stored either way; a thumbnail that fails is made at first view.
            if media_type.starts_with("image/") {
                let _ = s.keep_thumbnail(info.id, &bytes);
            }
            Ok(info)
        })
        .await
    }

    /// An image attachment's thumbnail (a small JPEG) as a `data:` URL, or `None` for other
    /// files and images that do not decode. Never the full photo.
    pub async fn attachment_thumbnail_url(
        &self,
        id: AttachmentId,
    ) -> Result<Option<String>, CoreError> {
        self.with_store(move |s| {
            Ok(s.attachment_thumbnail(id)?
                .map(|jpeg| format!("data:image/jpeg;base64,{}", base64(&jpeg))))
        })
        .await
    }

    /// Writes an attachment to `dest`; the file appears only once its hash has checked out.
    pub async fn save_attachment(
        &self,
        id: AttachmentId,
        dest: PathBuf,
    ) -> Result<AttachmentInfo, CoreError> {
        self.with_store(move |s| {
            // A scratch file of its own (never truncating another), flushed, then named
            // without replacing a file already at `dest`; removed if anything fails.
            let (scratch, file) = outpost_store::publish::Scratch::beside(&dest)?;
            let mut out = std::io::BufWriter::new(file);
            let info = s.read_attachment(id, &mut out)?;
            let file = out
                .into_inner()
                .map_err(std::io::IntoInnerError::into_error)?;
            scratch.publish(file, &dest).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    outpost_store::StoreError::Invalid {
                        field: "path",
                        reason: "a file exists there; choose a new name",
                    }
                } else {
                    e.into()
                }
            })?;
            Ok(info)
        })
        .await
    }

    /// Audit entries, newest first.
    pub async fn audit_entries(&self, filter: AuditFilter) -> Result<Vec<AuditEntry>, CoreError> {
        self.with_store(move |s| s.audit_entries(&filter)).await
    }

    /// Writes the entries `filter` selects as CSV to `path` for a privacy officer (an admin
    /// or physician; the export is recorded before the file appears, as a backup is): written
    /// beside it, flushed, then published under its name, never over an existing file, and
    /// readable by its owner only (it names patients). Returns how many entries it holds.
    pub async fn export_audit(
        &self,
        filter: AuditFilter,
        path: PathBuf,
    ) -> Result<usize, CoreError> {
        let csv = self.with_store(move |s| s.audit_csv(&filter)).await?;
        let entries = csv.lines().count().saturating_sub(1);
        self.blocking(move || {
            use std::io::Write;
            let published = (|| {
                let (scratch, mut file) = outpost_store::publish::Scratch::beside(&path)?;
                file.write_all(csv.as_bytes())?;
                scratch.publish(file, &path)
            })();
            Ok(published.map_err(outpost_store::StoreError::from)?)
        })
        .await?;
        Ok(entries)
    }

    /// Verifies the whole log: links, signatures, roles, and the chart tables against it.
    pub async fn verify_audit(&self) -> Result<LogReport, CoreError> {
        self.with_store(Store::verify_audit).await
    }

    /// Writes an encrypted backup protected by `passphrase`, and says whether it landed on the
    /// chart's own disk (where a lost laptop takes both).
    pub async fn create_backup(
        &self,
        path: PathBuf,
        passphrase: Zeroizing<String>,
    ) -> Result<BackupWritten, CoreError> {
        let data_dir = self.data_dir().to_path_buf();
        self.with_store(move |s| {
            let manifest = s.create_backup(&path, passphrase.as_bytes(), KdfParams::DEFAULT)?;
            Ok(BackupWritten {
                same_disk_as_data: crate::backup_place::same_disk(&path, &data_dir),
                file: path,
                manifest,
            })
        })
        .await
    }

    /// Refuses, before anyone picks a file, a backup this user may not make or a passphrase
    /// the policy refuses (the same checks [`Core::create_backup`] makes).
    pub async fn check_backup_allowed(
        &self,
        passphrase: Zeroizing<String>,
    ) -> Result<(), CoreError> {
        self.with_store(move |s| s.check_backup_allowed(passphrase.as_bytes()))
            .await
    }

    /// Where to offer to save a backup today: a mounted USB stick first (see
    /// [`crate::backup_place`]).
    pub fn backup_place(&self, home: Option<&std::path::Path>) -> BackupPlace {
        let today = outpost_clinical::age::Date::from_unix_ms(self.clock().now_ms()).to_string();
        BackupPlace::find(self.data_dir(), home, &today)
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
        let anchors = self.inner.anchor_dir.clone();
        let (store, recovery) = self
            .blocking(move || {
                Ok(outpost_store::backup::restore_backup(
                    &path,
                    passphrase.as_bytes(),
                    &dir,
                    KdfParams::DEFAULT,
                    clock,
                    anchors,
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
