//! Outpost's wire types: the signed operation every clinical change is, its canonical
//! encoding, typed ids, and the hybrid logical clock that orders operations across devices.
//!
//! Pure: no IO, no clock, no randomness of its own (ids take an rng), no secret held (signing
//! borrows the caller's identity). The store writes operations, sync carries them sealed in
//! envelopes, and every device verifies them with the same code.
//!
//! # Layout
//!
//! - [`canon`]: the canonical encoding (one byte string per value) and its decoder limits.
//! - [`ids`]: [`UserId`], [`PatientId`], [`NoteId`] and the other 16-byte ids; [`OpHash`].
//! - [`hlc`]: [`Hlc`], the hybrid logical clock.
//! - [`payload`]: [`Payload`], one typed body per kind of change, and the coded enums
//!   ([`Role`], [`EncounterKind`], [`AuditAction`], ...).
//! - [`op`]: [`Operation`], the signed, hash-linked envelope of a payload.
//! - [`relay`]: the relay protocol's requests and responses.
//!
//! # Formats
//!
//! Integers are big-endian. Field encodings are those of [`canon`].
//!
//! ## Operation, version 1
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | version = `0x01` |
//! | 1 | 2 | kind (see the table below) |
//! | 3 | 16 | author device id |
//! | 19 | 8 | sequence number in that device's log (from 1, no gaps) |
//! | 27 | 8 | hybrid logical clock: wall milliseconds |
//! | 35 | 4 | hybrid logical clock: counter |
//! | 39 | 16 | actor: the user who made (and signs) it |
//! | 55 | 16 | target: the record it is about (all zeros when none) |
//! | 71 | 32 | hash of the same device's previous operation (all zeros for sequence 1) |
//! | 103 | 4 | payload length `n` (at most 4 MiB) |
//! | 107 | n | payload: the kind's fields in canonical encoding |
//! | 107+n | 64 | Ed25519 signature by the actor |
//!
//! The signature is over `"outpost/v1/op-signature" || bytes 0..107+n`. An operation is named
//! by `SHA-256("outpost/v1/op-hash" || all its bytes)`, signature included; the next
//! operation of the same device carries that hash, so a device's log is a hash chain.
//!
//! ## Payload kinds
//!
//! | kind | name | target | fields, in order |
//! |---|---|---|---|
//! | `0x0001` | user_added | — | user id, name, role (u8), public identity (64)? |
//! | `0x0002` | user_removed | — | user id |
//! | `0x0003` | device_registered | — | public identity (64), name |
//! | `0x0004` | user_role_changed | — | user id, role (u8) |
//! | `0x0005` | device_admitted | — | device identity (64), device name, user id, user name, user identity (64), role (u8), invite id |
//! | `0x0006` | device_removed | — | device id, last valid sequence number (u64) |
//! | `0x0010` | patient_registered | patient | given, family, birth date, sex?, clinic id?, contact? |
//! | `0x0011` | patient_field_set | patient | field (u8), value?, replaced operation hashes |
//! | `0x0012` | patients_linked | patient | the other patient id |
//! | `0x0020` | encounter_opened | encounter | patient, kind (u8) |
//! | `0x0021` | encounter_finished | encounter | patient |
//! | `0x0030` | note_created | note | patient, encounter?, S, O, A, P |
//! | `0x0031` | note_revised | note | patient, base revisions, S, O, A, P |
//! | `0x0032` | note_signed | note | patient, encounter?, note author, revision, S, O, A, P |
//! | `0x0033` | addendum_signed | addendum | patient, note, text |
//! | `0x0040` | vital_recorded | vital | patient, encounter?, LOINC code, value (f64), value2 (f64?), UCUM unit, observed at (i64 ms) |
//! | `0x0050` | attachment_added | attachment | patient, encounter?, file name, media type, size (u64), SHA-256 (32) |
//! | `0x0060` | audit | record or zeros | action (u16 code as u8), patient?, subject user?, at (i64)?, detail? |
//! | `0x0051` | attachment_uploaded | attachment | patient, blob hash (32), blob size (u64), content key (32) |
//! | `0x0070` | legacy_record | as inner | recorded by, recorded at (i64), inner kind (u16), inner payload (bytes) |
//! | `0x0080` | workspace_created | — | workspace id, name, relay URL |
//! | `0x0081` | invite_created | — | invite id, role (u8), expires at (i64), SHA-256 of the secret (32) |
//! | `0x0082` | epoch_started | — | epoch (u32), SHA-256 of the member devices (32) |
//! | `0x0083` | receipt | — | list of (author device id, sequence number) |
//!
//! `x?` is an `Option`. Codes: role 1 physician, 2 nurse, 3 admin, 4 patient, 5 emergency; encounter kind
//! 1 video, 2 in person, 3 async consult; patient field 1 given name … 6 contact; audit
//! actions as listed on [`AuditAction`].

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![deny(missing_docs)]

pub mod canon;
pub mod hlc;
pub mod ids;
pub mod op;
pub mod payload;
pub mod relay;

pub use hlc::Hlc;
pub use ids::{
    AddendumId, AllergyId, AttachmentId, BadId, EncounterId, InviteId, MedicationId, NoteId,
    OpHash, PatientId, ProblemId, RecordId, UserId, VisitId, VitalId, WorkspaceId,
};
pub use op::{OpContext, OpError, OpHeader, Operation};
pub use outpost_crypto::DeviceId;
pub use payload::{
    AuditAction, EncounterKind, OpKind, PatientField, Payload, Role, Severity, Soap,
};
