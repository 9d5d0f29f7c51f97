//! What an operation says: one typed payload per kind of clinical or administrative change.
//!
//! Each payload's canonical encoding is its fields in order (see [`crate::canon`]). The kind
//! code in the operation header says which payload follows; a code this build does not know
//! is an error ([`DecodeError::UnknownCode`]), never a guess.

use crate::{
    canon::{Bytes, Canon, DecodeError},
    canon_struct, coded_enum,
    ids::{EncounterId, InviteId, NoteId, OpHash, PatientId, RecordId, UserId, WorkspaceId},
};
use outpost_crypto::DeviceId;

coded_enum! {
    /// What a person does, which decides what they may do.
    pub enum Role ("role") {
        /// Writes and signs notes, prescribes.
        Physician = 1 => "physician",
        /// Records vitals, photos and consult questions; writes draft notes.
        Nurse = 2 => "nurse",
        /// Manages users, devices and backups.
        Admin = 3 => "admin",
        /// A patient, in their own patient-mode profile (never a user of a clinic profile).
        Patient = 4 => "patient",
        /// Break-glass access with the recovery key: reads charts, restores access (adds
        /// users), makes backups; writes no clinical content.
        Emergency = 5 => "emergency",
    }
}

coded_enum! {
    /// How an encounter happens.
    pub enum EncounterKind ("encounter kind") {
        /// An end-to-end encrypted video visit.
        Video = 1 => "video",
        /// Face to face.
        InPerson = 2 => "in_person",
        /// A store-and-forward consult.
        AsyncConsult = 3 => "async_consult",
    }
}

coded_enum! {
    /// How bad an allergic reaction is (or was).
    pub enum Severity ("severity") {
        /// Uncomfortable; no treatment needed.
        Mild = 1 => "mild",
        /// Needed treatment.
        Moderate = 2 => "moderate",
        /// Life-threatening (anaphylaxis, airway), or needed emergency care.
        Severe = 3 => "severe",
    }
}

coded_enum! {
    /// A demographic field of a patient that can be edited on its own (and merged per field).
    pub enum PatientField ("patient field") {
        /// Given name(s).
        GivenName = 1 => "given_name",
        /// Family name.
        FamilyName = 2 => "family_name",
        /// Birth date, `YYYY-MM-DD`.
        BirthDate = 3 => "birth_date",
        /// Administrative sex.
        Sex = 4 => "sex",
        /// The clinic's patient number.
        ClinicId = 5 => "clinic_id",
        /// Contact details.
        Contact = 6 => "contact",
        /// A national identity number (or another card the clinic records).
        NationalId = 7 => "national_id",
        /// A child's parent or guardian: name, and how they are related.
        Guardian = 8 => "guardian",
        /// `"1"` when the birth date was estimated from an age ("about 40"); cleared when a
        /// real date is known.
        BirthDateEstimated = 9 => "birth_date_estimated",
    }
}

coded_enum! {
    /// An event recorded in the audit trail that changes no record.
    pub enum AuditAction ("audit action") {
        /// A chart was opened.
        ChartRead = 1 => "chart_read",
        /// An attachment's content was read.
        AttachmentRead = 2 => "attachment_read",
        /// A user unlocked the profile.
        Unlock = 3 => "unlock",
        /// The profile was locked (by the user, or when idle).
        Lock = 4 => "lock",
        /// A failed unlock, recorded at the next successful one (`at`: when; `subject`: who
        /// was tried, when known).
        UnlockFailed = 5 => "unlock_failed",
        /// Emergency access with the recovery key (`detail`: the reason given).
        EmergencyAccess = 6 => "emergency_access",
        /// A backup was written.
        BackupCreated = 7 => "backup_created",
        /// This profile was restored from a backup.
        BackupRestored = 8 => "backup_restored",
        /// Someone verified the audit trail.
        AuditVerified = 9 => "audit_verified",
        /// The profile was created.
        ProfileCreated = 10 => "profile_created",
        /// The database was found older than the head this device last showed
        /// (`detail`: what was missing).
        RollbackDetected = 11 => "rollback_detected",
        /// The pre-signature (schema 2) audit trail was imported and sealed (`detail`: its
        /// length and head hash, or where its hash chain was already broken).
        LegacyAuditSealed = 12 => "legacy_audit_sealed",
        /// A user changed their passphrase.
        PassphraseChanged = 13 => "passphrase_changed",
        /// A new recovery key was issued; the old one no longer opens the profile.
        RecoveryKeyRotated = 14 => "recovery_key_rotated",
        /// `profile.json` was found changed by someone without the database key, or replaced
        /// by an older copy (`detail`: which).
        ProfileFileAltered = 15 => "profile_file_altered",
        /// The database was given a new key (after a user was removed): old copies of
        /// `profile.json` and old passphrases no longer open it.
        DatabaseRekeyed = 16 => "database_rekeyed",
        /// The audit trail was exported (to CSV, for a privacy officer).
        AuditExported = 17 => "audit_exported",
    }
}

canon_struct! {
    /// The four parts of a SOAP note.
    #[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[cfg_attr(feature = "specta", derive(specta::Type))]
    pub struct Soap {
        /// What the patient reports.
        pub subjective: String,
        /// What was observed and measured.
        pub objective: String,
        /// The clinician's assessment.
        pub assessment: String,
        /// What happens next.
        pub plan: String,
    }
}

canon_struct! {
    /// A person joins this profile (or workspace) with a role and their public identity.
    /// The first user of a profile adds themselves; later users are added by an admin or
    /// physician. `identity` is `None` only for users imported from an unsigned (schema 2)
    /// profile, who register their key themselves at their next unlock.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct UserAdded {
        /// The new user.
        pub user: UserId,
        /// Display name.
        pub name: String,
        /// Role.
        pub role: Role,
        /// Their public identity: Ed25519 public key || X25519 public key.
        pub identity: Option<[u8; 64]>,
    }
}

canon_struct! {
    /// A user may no longer act; what they did stays attributed to them.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct UserRemoved {
        /// Who.
        pub user: UserId,
    }
}

canon_struct! {
    /// A device (an installation) joins: its public identity, for transport and log authorship.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct DeviceRegistered {
        /// Ed25519 public key || X25519 public key of the device.
        pub identity: [u8; 64],
        /// A name people recognise ("Clinic laptop 2").
        pub name: String,
    }
}

canon_struct! {
    /// A member's role changes (admin-signed; takes effect from this operation's clock).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct UserRoleChanged {
        /// Who.
        pub user: UserId,
        /// Their new role.
        pub role: Role,
    }
}

canon_struct! {
    /// An admin admits a device that joined with an invite: the device's identity, and the
    /// person on it (registered here if new to the workspace) with the invite's role.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct DeviceAdmitted {
        /// Ed25519 public key || X25519 public key of the device.
        pub device_identity: [u8; 64],
        /// The device's name.
        pub device_name: String,
        /// The person using it.
        pub user: UserId,
        /// Their display name.
        pub user_name: String,
        /// Their public identity (Ed25519 || X25519).
        pub user_identity: [u8; 64],
        /// Their role, as the invite said.
        pub role: Role,
        /// The invite used (each admits one device, once).
        pub invite: InviteId,
    }
}

canon_struct! {
    /// A device leaves the workspace (a lost laptop, a member gone). Its operations up to
    /// `after_seq` stay; any later one is refused by every device, wherever it arrives first.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct DeviceRemoved {
        /// The device.
        pub device: DeviceId,
        /// The last of its operations the admin had seen (they remain valid).
        pub after_seq: u64,
    }
}

canon_struct! {
    /// Two charts are the same person (registered twice, on two devices): linked, never merged
    /// silently; both stay, each pointing to the other (the target is the first patient).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct PatientsLinked {
        /// The other chart.
        pub other: PatientId,
    }
}

canon_struct! {
    /// An attachment's content was encrypted and uploaded to the relay (the target is the
    /// attachment): where to fetch it and the key to read it. The key travels only inside
    /// end-to-end encrypted operations.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AttachmentUploaded {
        /// The patient (for routing on devices, never sent in clear).
        pub patient: PatientId,
        /// SHA-256 of the encrypted blob: its name on the relay.
        pub blob: [u8; 32],
        /// Size of the encrypted blob.
        pub blob_size: u64,
        /// The random key the content was encrypted with.
        pub content_key: [u8; 32],
    }
}

canon_struct! {
    /// A care-team workspace is founded on this profile's log (by an admin or physician).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct WorkspaceCreated {
        /// Its id ([`WorkspaceId::of_root`] of this log's first operation).
        pub workspace: WorkspaceId,
        /// Its name ("Riverside clinic").
        pub name: String,
        /// The relay's URL.
        pub relay: String,
    }
}

canon_struct! {
    /// An admin invites someone: one device may join with it, once, before it expires.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct InviteCreated {
        /// The invite's id (the relay knows it, never the secret).
        pub invite: InviteId,
        /// The role the joiner gets.
        pub role: Role,
        /// When it expires (UTC ms).
        pub expires_at: i64,
        /// SHA-256 of the one-time secret in the invite code.
        pub secret_hash: [u8; 32],
    }
}

canon_struct! {
    /// A new group-key epoch (an admin-signed commit): the key itself reaches each member
    /// device sealed to it, bound to this operation's hash.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct EpochStarted {
        /// The epoch number (above every earlier one the admin knew).
        pub epoch: u32,
        /// SHA-256 over the member devices the key was delivered to (sorted ids and keys).
        pub members: [u8; 32],
    }
}

canon_struct! {
    /// How far a device has applied one author device's log.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Watermark {
        /// The author device.
        pub device: DeviceId,
        /// Every operation of it up to this sequence number is applied here.
        pub seq: u64,
    }
}

canon_struct! {
    /// A device's signed word of what it has received and applied, so "received by the
    /// physician's laptop" is that laptop's statement, not the relay's.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Receipt {
        /// Per author device (receipts themselves aside), how far this device has applied.
        pub seen: Vec<Watermark>,
    }
}

canon_struct! {
    /// A patient is registered (the target is the new patient id).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct PatientRegistered {
        /// Given name(s).
        pub given_name: String,
        /// Family name.
        pub family_name: String,
        /// Birth date, `YYYY-MM-DD`.
        pub birth_date: String,
        /// Administrative sex.
        pub sex: Option<String>,
        /// Clinic patient number.
        pub clinic_id: Option<String>,
        /// Contact details.
        pub contact: Option<String>,
    }
}

canon_struct! {
    /// One demographic field is set (the target is the patient). `replaces` names the writes
    /// of this field that the author had seen, so concurrent edits show as a conflict.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct PatientFieldSet {
        /// Which field.
        pub field: PatientField,
        /// The new value (`None` clears an optional field).
        pub value: Option<String>,
        /// The operations that last set this field, as the author saw them.
        pub replaces: Vec<OpHash>,
    }
}

canon_struct! {
    /// An encounter starts (the target is the new encounter id).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct EncounterOpened {
        /// The patient.
        pub patient: PatientId,
        /// How it happens.
        pub kind: EncounterKind,
    }
}

canon_struct! {
    /// An encounter is finished (the target is the encounter).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct EncounterFinished {
        /// The patient.
        pub patient: PatientId,
    }
}

canon_struct! {
    /// Why the patient came (the chief complaint), set or corrected (the target is the
    /// encounter). The latest by time wins.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct EncounterReasonSet {
        /// The patient.
        pub patient: PatientId,
        /// The reason, in the clinician's words.
        pub reason: String,
    }
}

canon_struct! {
    /// A draft note is started (the target is the new note id); this is its first revision.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct NoteCreated {
        /// The patient.
        pub patient: PatientId,
        /// The encounter, if written during one.
        pub encounter: Option<EncounterId>,
        /// The text.
        pub soap: Soap,
    }
}

canon_struct! {
    /// A new revision of a draft (the target is the note). `bases` are the revisions the
    /// author's text replaces: one for an ordinary save, several when a conflict is merged.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct NoteRevised {
        /// The patient.
        pub patient: PatientId,
        /// The revisions this one replaces.
        pub bases: Vec<OpHash>,
        /// The text.
        pub soap: Soap,
    }
}

canon_struct! {
    /// A physician signs a note (the target is the note). The payload repeats exactly what
    /// was signed (patient, encounter, the note's author, the revision and its full text), so
    /// the signature covers the text itself; the time is the operation's clock value.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct NoteSigned {
        /// The patient.
        pub patient: PatientId,
        /// The encounter, if any.
        pub encounter: Option<EncounterId>,
        /// Who wrote the note.
        pub author: UserId,
        /// The revision signed.
        pub revision: OpHash,
        /// Its text.
        pub soap: Soap,
    }
}

canon_struct! {
    /// A signed correction or addition to a signed note (the target is the new addendum id).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AddendumAdded {
        /// The patient.
        pub patient: PatientId,
        /// The note it amends.
        pub note: NoteId,
        /// The text.
        pub text: String,
    }
}

canon_struct! {
    /// A vital sign is recorded (the target is the new vital id).
    #[derive(Debug, Clone, PartialEq)]
    pub struct VitalRecorded {
        /// The patient.
        pub patient: PatientId,
        /// The encounter, if any.
        pub encounter: Option<EncounterId>,
        /// LOINC code.
        pub code: String,
        /// The value (systolic for blood pressure).
        pub value: f64,
        /// Diastolic for blood pressure.
        pub value2: Option<f64>,
        /// UCUM unit.
        pub unit: String,
        /// When it was measured (UTC ms).
        pub observed_at: i64,
    }
}

canon_struct! {
    /// A vital sign was entered in error (a slip of the keyboard, the wrong patient): it stays
    /// in the chart, struck through with the reason, and stops counting (the target is the
    /// vital id). Nothing written is taken back; it is corrected in the open.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct VitalEnteredInError {
        /// The patient.
        pub patient: PatientId,
        /// Why (typed 7.0 for 70 kg, measured on another patient).
        pub reason: String,
    }
}

canon_struct! {
    /// An allergy or intolerance is recorded (the target is the new allergy id).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AllergyRecorded {
        /// The patient.
        pub patient: PatientId,
        /// What the patient reacts to, as typed.
        pub substance: String,
        /// What allergy checking understood it as (`atc:J01CA04`, `group:penicillins`), or
        /// `None` for a substance it does not know (a food, latex).
        pub code: Option<String>,
        /// The reaction (rash, wheeze, anaphylaxis).
        pub reaction: String,
        /// How bad.
        pub severity: Severity,
    }
}

canon_struct! {
    /// An allergy no longer holds, or was entered in error (the target is the allergy id).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AllergyRemoved {
        /// The patient.
        pub patient: PatientId,
        /// Why (outgrown, tolerated since, entered in error).
        pub reason: String,
    }
}

canon_struct! {
    /// The patient was asked and has no known drug allergies (the target is the patient).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct NoKnownAllergies {
        /// The patient (the target again, so the payload alone names the chart).
        pub patient: PatientId,
    }
}

canon_struct! {
    /// A medication is prescribed (the target is the new medication id).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MedicationPrescribed {
        /// The patient.
        pub patient: PatientId,
        /// The encounter, if any.
        pub encounter: Option<EncounterId>,
        /// ATC code of the catalogue drug, or `None` for a drug outside the catalogue.
        pub atc: Option<String>,
        /// The drug's name.
        pub drug: String,
        /// Dose ("500 mg").
        pub dose: String,
        /// Route ("oral").
        pub route: String,
        /// How often ("three times a day").
        pub frequency: String,
        /// For how long ("5 days").
        pub duration: String,
        /// Anything else for the patient or the dispenser.
        pub instructions: String,
        /// Why the prescriber went ahead despite an allergy conflict (`None`: no conflict).
        pub override_reason: Option<String>,
    }
}

canon_struct! {
    /// A medication is stopped (the target is the medication id).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MedicationStopped {
        /// The patient.
        pub patient: PatientId,
        /// Why.
        pub reason: String,
    }
}

canon_struct! {
    /// A problem (a diagnosis) is added to the patient's list (the target is the new problem
    /// id).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ProblemAdded {
        /// The patient.
        pub patient: PatientId,
        /// The encounter whose assessment added it, if any.
        pub encounter: Option<EncounterId>,
        /// ICD-10-CM code, or `None` for a problem written as text only.
        pub code: Option<String>,
        /// The diagnosis as shown (the code's title, or the text written).
        pub title: String,
        /// When it began (`YYYY-MM-DD`), if known.
        pub onset: Option<String>,
    }
}

canon_struct! {
    /// A problem is resolved, or was entered in error (the target is the problem id).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ProblemResolved {
        /// The patient.
        pub patient: PatientId,
        /// Why (resolved, entered in error).
        pub reason: String,
    }
}

canon_struct! {
    /// A photo or document is added (the target is the new attachment id). The content is
    /// stored by its hash; this names it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AttachmentAdded {
        /// The patient.
        pub patient: PatientId,
        /// The encounter, if any.
        pub encounter: Option<EncounterId>,
        /// The original file name.
        pub file_name: String,
        /// MIME type.
        pub media_type: String,
        /// Size in bytes.
        pub size: u64,
        /// SHA-256 of the content.
        pub sha256: [u8; 32],
    }
}

canon_struct! {
    /// A manager looked into an unusual-access alert (the target is all zeros): the alert's id
    /// (the same on every device, see `outpost-alerts`) and what they found.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AlertAcknowledged {
        /// The alert's id.
        pub alert: String,
        /// What was found, or done ("the nurse was preparing the clinic's vaccination list").
        pub note: String,
        /// How many events the alert had when acknowledged: if it grows, it is open again.
        pub events: u32,
    }
}

canon_struct! {
    /// A manager set the clinic's alert rules (the target is all zeros): thresholds and hours as
    /// JSON (`outpost-alerts`' `Rules`). The latest setting wins on every device, so every
    /// device of the team raises the same alerts.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AlertRulesSet {
        /// The rules, as JSON.
        pub rules: String,
    }
}

canon_struct! {
    /// An audit event (the target is the record acted on, or all zeros).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AuditEvent {
        /// What happened.
        pub action: AuditAction,
        /// The patient concerned, if any.
        pub patient: Option<PatientId>,
        /// Another person concerned (the user a failed unlock tried), if any.
        pub subject: Option<UserId>,
        /// When it happened, if earlier than the operation (a failed unlock recorded later).
        pub at: Option<i64>,
        /// A short reason or description, never patient data.
        pub detail: Option<String>,
    }
}

canon_struct! {
    /// A record written before operations were signed (schema 2 and earlier), imported by the
    /// user who upgraded the profile. Its attribution and time are as the old database said;
    /// the signature only attests that this device imported it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct LegacyRecord {
        /// The user the old database names as author.
        pub recorded_by: UserId,
        /// When the old database says it happened (UTC ms).
        pub recorded_at: i64,
        /// The kind of the inner payload.
        pub kind: u16,
        /// The inner payload's canonical bytes.
        pub body: Bytes,
    }
}

impl LegacyRecord {
    /// Wraps `inner` (which must not itself be legacy).
    pub fn wrap(recorded_by: UserId, recorded_at: i64, inner: &Payload) -> Self {
        Self {
            recorded_by,
            recorded_at,
            kind: inner.kind().0,
            body: Bytes(inner.body()),
        }
    }

    /// The record as it was.
    pub fn inner(&self) -> Result<Payload, DecodeError> {
        if self.kind == OpKind::LEGACY.0 {
            return Err(DecodeError::Malformed("nested legacy record"));
        }
        Payload::decode(OpKind(self.kind), &self.body.0)
    }
}

/// The kind code in an operation's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpKind(pub u16);

macro_rules! payloads {
    ( $( $code:literal => $variant:ident ( $ty:ident ), $name:literal, $konst:ident; )* ) => {
        /// The typed content of an operation.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum Payload {
            $(
                #[doc = concat!("Kind `", stringify!($code), "`, `", $name, "`.")]
                $variant($ty),
            )*
        }

        impl OpKind {
            $(
                #[doc = concat!("`", $name, "`")]
                pub const $konst: Self = Self($code);
            )*

            /// The stable name, or `None` for a code this build does not know.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $code => Some($name), )*
                    _ => None,
                }
            }
        }

        impl Payload {
            /// The kind code for the header.
            pub fn kind(&self) -> OpKind {
                match self {
                    $( Self::$variant(_) => OpKind($code), )*
                }
            }

            /// The canonical bytes of the payload.
            pub fn body(&self) -> Vec<u8> {
                match self {
                    $( Self::$variant(p) => p.to_canonical(), )*
                }
            }

            /// Decodes the payload of an operation of `kind`.
            pub fn decode(kind: OpKind, bytes: &[u8]) -> Result<Self, DecodeError> {
                match kind.0 {
                    $( $code => Ok(Self::$variant($ty::from_canonical(bytes)?)), )*
                    code => Err(DecodeError::UnknownCode {
                        field: "operation kind",
                        code: u32::from(code),
                    }),
                }
            }
        }
    };
}

payloads! {
    0x0001 => UserAdded(UserAdded), "user_added", USER_ADDED;
    0x0002 => UserRemoved(UserRemoved), "user_removed", USER_REMOVED;
    0x0003 => DeviceRegistered(DeviceRegistered), "device_registered", DEVICE_REGISTERED;
    0x0004 => UserRoleChanged(UserRoleChanged), "user_role_changed", USER_ROLE_CHANGED;
    0x0005 => DeviceAdmitted(DeviceAdmitted), "device_admitted", DEVICE_ADMITTED;
    0x0006 => DeviceRemoved(DeviceRemoved), "device_removed", DEVICE_REMOVED;
    0x0010 => PatientRegistered(PatientRegistered), "patient_registered", PATIENT_REGISTERED;
    0x0011 => PatientFieldSet(PatientFieldSet), "patient_field_set", PATIENT_FIELD_SET;
    0x0012 => PatientsLinked(PatientsLinked), "patients_linked", PATIENTS_LINKED;
    0x0020 => EncounterOpened(EncounterOpened), "encounter_opened", ENCOUNTER_OPENED;
    0x0021 => EncounterFinished(EncounterFinished), "encounter_finished", ENCOUNTER_FINISHED;
    0x0022 => EncounterReasonSet(EncounterReasonSet), "encounter_reason_set", ENCOUNTER_REASON_SET;
    0x0030 => NoteCreated(NoteCreated), "note_created", NOTE_CREATED;
    0x0031 => NoteRevised(NoteRevised), "note_revised", NOTE_REVISED;
    0x0032 => NoteSigned(NoteSigned), "note_signed", NOTE_SIGNED;
    0x0033 => AddendumAdded(AddendumAdded), "addendum_signed", ADDENDUM_ADDED;
    0x0040 => VitalRecorded(VitalRecorded), "vital_recorded", VITAL_RECORDED;
    0x0041 => AllergyRecorded(AllergyRecorded), "allergy_recorded", ALLERGY_RECORDED;
    0x0042 => AllergyRemoved(AllergyRemoved), "allergy_removed", ALLERGY_REMOVED;
    0x0043 => NoKnownAllergies(NoKnownAllergies), "no_known_allergies", NO_KNOWN_ALLERGIES;
    0x0044 => MedicationPrescribed(MedicationPrescribed), "medication_prescribed", MEDICATION_PRESCRIBED;
    0x0045 => MedicationStopped(MedicationStopped), "medication_stopped", MEDICATION_STOPPED;
    0x0046 => ProblemAdded(ProblemAdded), "problem_added", PROBLEM_ADDED;
    0x0047 => ProblemResolved(ProblemResolved), "problem_resolved", PROBLEM_RESOLVED;
    0x0048 => VitalEnteredInError(VitalEnteredInError), "vital_entered_in_error", VITAL_ENTERED_IN_ERROR;
    0x0050 => AttachmentAdded(AttachmentAdded), "attachment_added", ATTACHMENT_ADDED;
    0x0051 => AttachmentUploaded(AttachmentUploaded), "attachment_uploaded", ATTACHMENT_UPLOADED;
    0x0060 => Audit(AuditEvent), "audit", AUDIT;
    0x0070 => Legacy(LegacyRecord), "legacy_record", LEGACY;
    0x0080 => WorkspaceCreated(WorkspaceCreated), "workspace_created", WORKSPACE_CREATED;
    0x0081 => InviteCreated(InviteCreated), "invite_created", INVITE_CREATED;
    0x0082 => EpochStarted(EpochStarted), "epoch_started", EPOCH_STARTED;
    0x0083 => Receipt(Receipt), "receipt", RECEIPT;
    0x0090 => AlertAcknowledged(AlertAcknowledged), "alert_acknowledged", ALERT_ACKNOWLEDGED;
    0x0091 => AlertRulesSet(AlertRulesSet), "alert_rules_set", ALERT_RULES_SET;
}

impl Payload {
    /// The patient this operation concerns, if any (`target` is the operation's target, which
    /// is the patient for registrations and field edits).
    pub fn patient(&self, target: RecordId) -> Option<PatientId> {
        match self {
            Self::PatientRegistered(_) | Self::PatientFieldSet(_) | Self::PatientsLinked(_) => {
                Some(PatientId(target.0))
            }
            Self::AttachmentUploaded(p) => Some(p.patient),
            Self::EncounterOpened(p) => Some(p.patient),
            Self::EncounterFinished(p) => Some(p.patient),
            Self::EncounterReasonSet(p) => Some(p.patient),
            Self::NoteCreated(p) => Some(p.patient),
            Self::NoteRevised(p) => Some(p.patient),
            Self::NoteSigned(p) => Some(p.patient),
            Self::AddendumAdded(p) => Some(p.patient),
            Self::VitalRecorded(p) => Some(p.patient),
            Self::VitalEnteredInError(p) => Some(p.patient),
            Self::AllergyRecorded(p) => Some(p.patient),
            Self::AllergyRemoved(p) => Some(p.patient),
            Self::NoKnownAllergies(p) => Some(p.patient),
            Self::MedicationPrescribed(p) => Some(p.patient),
            Self::MedicationStopped(p) => Some(p.patient),
            Self::ProblemAdded(p) => Some(p.patient),
            Self::ProblemResolved(p) => Some(p.patient),
            Self::AttachmentAdded(p) => Some(p.patient),
            Self::Audit(p) => p.patient,
            Self::Legacy(l) => l.inner().ok().and_then(|p| p.patient(target)),
            Self::UserAdded(_)
            | Self::UserRemoved(_)
            | Self::DeviceRegistered(_)
            | Self::UserRoleChanged(_)
            | Self::DeviceAdmitted(_)
            | Self::DeviceRemoved(_)
            | Self::WorkspaceCreated(_)
            | Self::InviteCreated(_)
            | Self::EpochStarted(_)
            | Self::Receipt(_)
            | Self::AlertAcknowledged(_)
            | Self::AlertRulesSet(_) => None,
        }
    }

    /// The action name people see in the audit trail.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Audit(a) => a.action.as_str(),
            Self::Legacy(l) => l.inner().map_or("legacy_record", |p| p.action()),
            other => other.kind().name().unwrap_or("unknown"),
        }
    }

    /// What kind of record the target is.
    pub fn record_kind(&self) -> Option<&'static str> {
        Some(match self {
            Self::UserAdded(_)
            | Self::UserRemoved(_)
            | Self::UserRoleChanged(_)
            | Self::DeviceAdmitted(_) => "user",
            Self::DeviceRegistered(_) | Self::DeviceRemoved(_) => "device",
            Self::PatientRegistered(_)
            | Self::PatientFieldSet(_)
            | Self::PatientsLinked(_)
            | Self::NoKnownAllergies(_) => "patient",
            Self::WorkspaceCreated(_) => "workspace",
            Self::InviteCreated(_) => "invite",
            Self::EpochStarted(_) | Self::Receipt(_) => return None,
            Self::AlertAcknowledged(_) => "alert",
            Self::AlertRulesSet(_) => "setting",
            Self::EncounterOpened(_) | Self::EncounterFinished(_) | Self::EncounterReasonSet(_) => {
                "encounter"
            }
            Self::NoteCreated(_) | Self::NoteRevised(_) | Self::NoteSigned(_) => "note",
            Self::AddendumAdded(_) => "addendum",
            Self::VitalRecorded(_) | Self::VitalEnteredInError(_) => "vital",
            Self::AllergyRecorded(_) | Self::AllergyRemoved(_) => "allergy",
            Self::MedicationPrescribed(_) | Self::MedicationStopped(_) => "medication",
            Self::ProblemAdded(_) | Self::ProblemResolved(_) => "problem",
            Self::AttachmentAdded(_) | Self::AttachmentUploaded(_) => "attachment",
            Self::Audit(a) => match a.action {
                AuditAction::ChartRead => "patient",
                AuditAction::AttachmentRead => "attachment",
                _ => return None,
            },
            Self::Legacy(l) => return l.inner().ok().and_then(|p| p.record_kind()),
        })
    }
}
