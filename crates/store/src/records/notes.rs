//! SOAP notes: every save is a revision that names the revision it replaced, so nothing typed
//! is overwritten; signing names the exact text the physician saw; signatures and addenda are
//! verified every time a note is read.
//!
//! Revisions form a graph. A revision that no later revision replaced is a current text;
//! normally there is one. A save based on a revision that was already replaced (the desktop
//! and the command line editing one draft) is kept as a second current text, and the note is
//! in conflict until someone saves a revision replacing both. The text shown is the current
//! text latest in the log's total order (clock, device, sequence), so every device shows the
//! same one.

use std::collections::HashSet;

use outpost_proto::{
    AddendumId, EncounterId, NoteId, OpHash, OpKind, Operation, PatientId, Payload, RecordId, Role,
    Soap, UserId,
    canon::Canon,
    payload::{AddendumAdded, NoteCreated, NoteRevised, NoteSigned},
};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{hash_col, id_col, opt_id_col};
use crate::{Store, StoreError, oplog};

/// Whether a note or addendum is signed, and whether the signature holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Signature {
    /// A draft.
    Unsigned,
    /// Signed, and the signature verifies under the signer's registered key over exactly the
    /// text shown.
    Valid {
        /// Who signed.
        by: UserId,
        /// When (UTC ms).
        #[cfg_attr(feature = "specta", specta(type = f64))]
        at: i64,
    },
    /// The signature does not hold: never show this as signed.
    Invalid {
        /// Why, for the person reading.
        reason: String,
    },
    /// Signed before Outpost signed its records: attribution as the old database said,
    /// unverifiable.
    Unverified {
        /// Who the old database says signed.
        by: UserId,
        /// When (UTC ms).
        #[cfg_attr(feature = "specta", specta(type = f64))]
        at: i64,
    },
}

impl Signature {
    /// Whether the note counts as signed (valid or legacy), so it takes addenda, not edits.
    pub fn is_signed(&self) -> bool {
        matches!(self, Self::Valid { .. } | Self::Unverified { .. })
    }
}

/// A signed correction or addition to a signed note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Addendum {
    /// Stable id.
    pub id: AddendumId,
    /// Its author.
    pub author: UserId,
    /// The text.
    pub text: String,
    /// When it was signed (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub signed_at: i64,
    /// Its signature's state.
    pub signature: Signature,
}

/// One saved text of a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NoteRevision {
    /// The revision (the hash of the operation that saved it).
    pub revision: OpHash,
    /// Who saved it.
    pub author: UserId,
    /// When (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub at: i64,
    /// The text.
    pub soap: Soap,
}

/// A SOAP note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Note {
    /// Stable id.
    pub id: NoteId,
    /// The patient.
    pub patient_id: PatientId,
    /// The encounter, if written during one.
    pub encounter_id: Option<EncounterId>,
    /// Who started it.
    pub author: UserId,
    /// The text shown (for a signed note, the text that was signed).
    pub soap: Soap,
    /// Created (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub created_at: i64,
    /// When the text shown was saved (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub updated_at: i64,
    /// The revision shown: pass it back when saving, so a save based on an older text is
    /// caught as a conflict.
    pub revision: OpHash,
    /// SHA-256 of what signing would cover: pass it to `sign_note`, so what is signed is what
    /// was shown.
    pub content_hash: String,
    /// Signed or not, and whether the signature holds.
    pub signature: Signature,
    /// Other current texts when saves conflicted (none normally). Both are kept until someone
    /// saves a revision that replaces them all.
    pub conflicts: Vec<NoteRevision>,
    /// Signed addenda, oldest first.
    pub addenda: Vec<Addendum>,
    /// Written before operations were signed.
    pub legacy: bool,
}

/// What signing covers, as hex: SHA-256 over a label, the note, patient and encounter ids and
/// the four sections, in canonical encoding.
pub fn content_hash(
    note: NoteId,
    patient: PatientId,
    encounter: Option<EncounterId>,
    soap: &Soap,
) -> String {
    let mut h = Sha256::new();
    h.update(b"outpost/v1/note-content");
    h.update(note.to_canonical());
    h.update(patient.to_canonical());
    h.update(encounter.to_canonical());
    h.update(soap.to_canonical());
    outpost_proto::ids::to_hex(&h.finalize())
}

/// A revision, with the note it belongs to.
pub(crate) fn revision(
    conn: &Connection,
    rev: &OpHash,
) -> Result<Option<(NoteId, NoteRevision)>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT note_id, op, author, hlc_wall, subjective, objective, assessment, plan
             FROM note_revisions WHERE op = ?1",
            [rev.0.as_slice()],
            |r| Ok((id_col(r, 0)?, revision_from_row(r, 1)?)),
        )
        .optional()?)
}

/// A revision from columns `op, author, hlc_wall, subjective, objective, assessment, plan`
/// starting at `at`.
fn revision_from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<NoteRevision> {
    Ok(NoteRevision {
        revision: hash_col(r, at)?,
        author: id_col(r, at + 1)?,
        at: r.get(at + 2)?,
        soap: Soap {
            subjective: r.get(at + 3)?,
            objective: r.get(at + 4)?,
            assessment: r.get(at + 5)?,
            plan: r.get(at + 6)?,
        },
    })
}

/// The current texts of a note, latest first.
fn leaves(conn: &Connection, note: NoteId) -> Result<Vec<NoteRevision>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT op, author, hlc_wall, subjective, objective, assessment, plan FROM note_revisions r
         WHERE note_id = ?1 AND NOT EXISTS (SELECT 1 FROM note_revision_bases b WHERE b.base = r.op)
         ORDER BY hlc_wall DESC, hlc_counter DESC, device DESC, seq DESC",
    )?;
    let rows = stmt.query_map([note.to_hex()], |r| revision_from_row(r, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The projected row of a note.
#[derive(Debug, Clone, Copy)]
struct NoteRow {
    id: NoteId,
    patient_id: PatientId,
    encounter_id: Option<EncounterId>,
    author: UserId,
    created_at: i64,
    signed_op: Option<OpHash>,
    legacy: bool,
}

const NOTE_COLUMNS: &str = "id, patient_id, encounter_id, author, created_at, signed_op, legacy";

fn note_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<NoteRow> {
    Ok(NoteRow {
        id: id_col(r, 0)?,
        patient_id: id_col(r, 1)?,
        encounter_id: opt_id_col(r, 2)?,
        author: id_col(r, 3)?,
        created_at: r.get(4)?,
        signed_op: r
            .get::<_, Option<Vec<u8>>>(5)?
            .map(|b| b.try_into().map(OpHash))
            .transpose()
            .map_err(|_| {
                rusqlite::Error::FromSqlConversionFailure(
                    5,
                    rusqlite::types::Type::Blob,
                    "not a 32-byte hash".into(),
                )
            })?,
        legacy: r.get(6)?,
    })
}

fn load_note_row(conn: &Connection, id: NoteId) -> Result<NoteRow, StoreError> {
    conn.query_row(
        &format!("SELECT {NOTE_COLUMNS} FROM notes WHERE id = ?1"),
        [id.to_hex()],
        note_row,
    )
    .optional()?
    .ok_or(StoreError::NotFound("note"))
}

fn invalid(reason: &str) -> Signature {
    Signature::Invalid {
        reason: reason.to_owned(),
    }
}

fn wall(op: &Operation) -> i64 {
    i64::try_from(op.header().hlc.wall_ms).unwrap_or(i64::MAX)
}

impl Store {
    /// Verifies `op`'s signature under its actor's key as registered (not as the users table
    /// says), requiring one of `roles`; results are cached per operation hash for the session.
    fn verified_by(&self, op: &Operation, roles: &[Role]) -> Result<UserId, &'static str> {
        let actor = op.header().actor;
        let state = self
            .trusted_state(actor)
            .ok_or("signed by someone who is not a registered user")?;
        if !roles.contains(&state.role) {
            return Err("signed by someone whose role may not sign it");
        }
        let hash = op.hash();
        if self.verified.borrow().contains(&hash) {
            return Ok(actor);
        }
        let key = state
            .signing_key
            .ok_or("the signer has no registered key")?;
        op.verify(&key)
            .map_err(|_| "the signature does not verify")?;
        self.verified.borrow_mut().insert(hash);
        Ok(actor)
    }

    /// The state of a note's signature, checked against the log and the text shown.
    fn note_signature(&self, row: &NoteRow, shown: &NoteRevision) -> Result<Signature, StoreError> {
        let Some(signed_op) = row.signed_op else {
            // A chart that says "unsigned" while the log holds a signature was altered.
            let signed_in_log: bool = self.conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM ops WHERE target = ?1 AND kind = ?2)",
                params![row.id.to_hex(), i64::from(OpKind::NOTE_SIGNED.0)],
                |r| r.get(0),
            )?;
            return Ok(if signed_in_log {
                invalid("the chart no longer shows a signature the log holds")
            } else {
                Signature::Unsigned
            });
        };
        let Some(op) = oplog::load(&self.conn, &signed_op)? else {
            return Ok(invalid("the record of its signing is missing"));
        };
        if op.header().target != RecordId::from(row.id) {
            return Ok(invalid("the signature belongs to another note"));
        }
        let (signed, legacy) = match op.payload() {
            Ok(Payload::NoteSigned(p)) => (p, None),
            Ok(Payload::Legacy(l)) => match l.inner() {
                Ok(Payload::NoteSigned(p)) => (p, Some((l.recorded_by, l.recorded_at))),
                _ => return Ok(invalid("the signing record is damaged")),
            },
            _ => return Ok(invalid("the signing record is damaged")),
        };
        if signed.patient != row.patient_id
            || signed.encounter != row.encounter_id
            || signed.author != row.author
        {
            return Ok(invalid(
                "the signature names another patient, encounter or author",
            ));
        }
        if signed.revision != shown.revision || signed.soap != shown.soap {
            return Ok(invalid("the text differs from what was signed"));
        }
        if let Some((by, at)) = legacy {
            return Ok(
                match self.verified_by(
                    &op,
                    &[Role::Physician, Role::Nurse, Role::Admin, Role::Emergency],
                ) {
                    Ok(_) => Signature::Unverified { by, at },
                    Err(reason) => invalid(reason),
                },
            );
        }
        Ok(match self.verified_by(&op, &[Role::Physician]) {
            Ok(by) => Signature::Valid { by, at: wall(&op) },
            Err(reason) => invalid(reason),
        })
    }

    fn addendum_signature(
        &self,
        note: NoteId,
        id: AddendumId,
        author: UserId,
        text: &str,
        op_hash: &OpHash,
    ) -> Result<Signature, StoreError> {
        let Some(op) = oplog::load(&self.conn, op_hash)? else {
            return Ok(invalid("the record of its signing is missing"));
        };
        if op.header().target != RecordId::from(id) {
            return Ok(invalid("the signature belongs to another record"));
        }
        let (payload, legacy) = match op.payload() {
            Ok(Payload::AddendumAdded(p)) => (p, None),
            Ok(Payload::Legacy(l)) => match l.inner() {
                Ok(Payload::AddendumAdded(p)) => (p, Some((l.recorded_by, l.recorded_at))),
                _ => return Ok(invalid("the signing record is damaged")),
            },
            _ => return Ok(invalid("the signing record is damaged")),
        };
        if payload.note != note || payload.text != text {
            return Ok(invalid("the text differs from what was signed"));
        }
        if let Some((by, at)) = legacy {
            if by != author {
                return Ok(invalid("the author differs from the signed record"));
            }
            return Ok(
                match self.verified_by(
                    &op,
                    &[Role::Physician, Role::Nurse, Role::Admin, Role::Emergency],
                ) {
                    Ok(_) => Signature::Unverified { by, at },
                    Err(reason) => invalid(reason),
                },
            );
        }
        if op.header().actor != author {
            return Ok(invalid("the author differs from the signer"));
        }
        Ok(
            match self.verified_by(&op, &[Role::Physician, Role::Nurse]) {
                Ok(by) => Signature::Valid { by, at: wall(&op) },
                Err(reason) => invalid(reason),
            },
        )
    }

    fn build_note(&self, row: &NoteRow) -> Result<Note, StoreError> {
        let mut current = leaves(&self.conn, row.id)?;
        if current.is_empty() {
            return Err(StoreError::Corrupt("a note without any text"));
        }
        // A signed note shows the text that was signed; anything saved elsewhere after
        // signing stays listed as a conflict, never shown as the note. When the signing
        // record cannot be read, the latest text is shown and the signature check says why.
        let signed_revision = match &row.signed_op {
            Some(hash) => match oplog::load(&self.conn, hash)?.and_then(|op| op.payload().ok()) {
                Some(Payload::NoteSigned(p)) => Some(p.revision),
                Some(Payload::Legacy(l)) => match l.inner() {
                    Ok(Payload::NoteSigned(p)) => Some(p.revision),
                    _ => None,
                },
                _ => None,
            },
            None => None,
        };
        let shown = match signed_revision {
            Some(rev) => match current.iter().position(|r| r.revision == rev) {
                Some(i) => current.remove(i),
                None => match revision(&self.conn, &rev)? {
                    Some((note, r)) if note == row.id => r,
                    _ => current.remove(0),
                },
            },
            None => current.remove(0),
        };
        let signature = self.note_signature(row, &shown)?;
        let addenda = self.addenda(row.id)?;
        Ok(Note {
            id: row.id,
            patient_id: row.patient_id,
            encounter_id: row.encounter_id,
            author: row.author,
            content_hash: content_hash(row.id, row.patient_id, row.encounter_id, &shown.soap),
            soap: shown.soap,
            created_at: row.created_at,
            updated_at: shown.at,
            revision: shown.revision,
            signature,
            conflicts: current,
            addenda,
            legacy: row.legacy,
        })
    }

    fn addenda(&self, note: NoteId) -> Result<Vec<Addendum>, StoreError> {
        let rows: Vec<(AddendumId, UserId, String, i64, OpHash)> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, author, text, signed_at, op FROM addenda WHERE note_id = ?1 ORDER BY signed_at, id",
            )?;
            let rows = stmt.query_map([note.to_hex()], |r| {
                Ok((
                    id_col(r, 0)?,
                    id_col(r, 1)?,
                    r.get(2)?,
                    r.get(3)?,
                    hash_col(r, 4)?,
                ))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        rows.into_iter()
            .map(|(id, author, text, signed_at, op)| {
                let signature = self.addendum_signature(note, id, author, &text, &op)?;
                Ok(Addendum {
                    id,
                    author,
                    text,
                    signed_at,
                    signature,
                })
            })
            .collect()
    }

    /// One note with its addenda, signatures verified (not audited separately: notes are read
    /// through charts, and writes are operations).
    pub fn note(&self, id: NoteId) -> Result<Note, StoreError> {
        self.require_care_team("reading notes")?;
        let row = load_note_row(&self.conn, id)?;
        self.build_note(&row)
    }

    /// Forgets which signatures this session already verified, so the next reads verify
    /// every one again (benchmarks measure the cold cost with it).
    #[doc(hidden)]
    pub fn forget_verified_signatures(&self) {
        self.verified.borrow_mut().clear();
    }

    /// One saved text of a note, current or replaced.
    pub fn note_revision(
        &self,
        note: NoteId,
        revision: OpHash,
    ) -> Result<NoteRevision, StoreError> {
        self.require_care_team("reading notes")?;
        match self::revision(&self.conn, &revision)? {
            Some((of, r)) if of == note => Ok(r),
            _ => Err(StoreError::NotFound("revision")),
        }
    }

    /// A patient's notes, newest first.
    pub(crate) fn notes_of(&self, patient: PatientId) -> Result<Vec<Note>, StoreError> {
        let rows: Vec<NoteRow> = {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT {NOTE_COLUMNS} FROM notes WHERE patient_id = ?1 ORDER BY created_at DESC, id"
            ))?;
            let rows = stmt.query_map([patient.to_hex()], note_row)?;
            rows.collect::<Result<_, _>>()?
        };
        rows.iter().map(|r| self.build_note(r)).collect()
    }

    /// Starts a draft note.
    pub fn write_note(
        &mut self,
        patient_id: PatientId,
        encounter_id: Option<EncounterId>,
        soap: &Soap,
    ) -> Result<Note, StoreError> {
        let id = NoteId::random(&mut rand_core::OsRng);
        self.write(
            RecordId::from(id),
            &Payload::NoteCreated(NoteCreated {
                patient: patient_id,
                encounter: encounter_id,
                soap: soap.clone(),
            }),
        )?;
        self.note(id)
    }

    /// Saves a new revision of a draft, replacing the revisions in `bases` (normally the one
    /// revision the editor showed; every current revision when merging a conflict).
    ///
    /// When `bases` are not exactly the current texts (someone else saved meanwhile), the text
    /// is still saved, as a second current text, and the call returns
    /// [`StoreError::Conflict`]: nothing anyone typed is lost, and the note shows both until
    /// someone merges them. A signed note is [`StoreError::Immutable`].
    pub fn update_draft(
        &mut self,
        note_id: NoteId,
        bases: &[OpHash],
        soap: &Soap,
    ) -> Result<Note, StoreError> {
        let stale = self.write_with(|tx, author| {
            let row = load_note_row(tx, note_id)?;
            if row.signed_op.is_some() {
                return Err(StoreError::Immutable);
            }
            let current: HashSet<OpHash> = leaves(tx, note_id)?
                .into_iter()
                .map(|r| r.revision)
                .collect();
            let asked: HashSet<OpHash> = bases.iter().copied().collect();
            if asked.is_empty() {
                return Err(StoreError::Invalid {
                    field: "revision",
                    reason: "name the revision this text replaces",
                });
            }
            let stale = asked != current;
            oplog::append(
                tx,
                author,
                RecordId::from(note_id),
                &Payload::NoteRevised(NoteRevised {
                    patient: row.patient_id,
                    bases: bases.to_vec(),
                    soap: soap.clone(),
                }),
            )?;
            Ok(stale)
        })?;
        if stale {
            return Err(StoreError::Conflict {
                what: "this draft",
                hint: "it was saved elsewhere meanwhile; both texts are kept: review them and save a merged text",
            });
        }
        self.note(note_id)
    }

    /// Signs the draft as the current user (physicians only), if its text is still the one
    /// whose `content_hash` the caller showed. The note is immutable afterwards.
    pub fn sign_note(
        &mut self,
        note_id: NoteId,
        expected_content_hash: &str,
    ) -> Result<Note, StoreError> {
        self.write_with(|tx, author| {
            let row = load_note_row(tx, note_id)?;
            if row.signed_op.is_some() {
                return Err(StoreError::Immutable);
            }
            let mut current = leaves(tx, note_id)?;
            if current.len() != 1 {
                return Err(StoreError::Conflict {
                    what: "this draft",
                    hint: "it has conflicting versions; merge them before signing",
                });
            }
            let head = current.remove(0);
            let shown = content_hash(row.id, row.patient_id, row.encounter_id, &head.soap);
            if !bool::from(subtle::ConstantTimeEq::ct_eq(
                shown.as_bytes(),
                expected_content_hash.trim().as_bytes(),
            )) {
                return Err(StoreError::Conflict {
                    what: "this draft",
                    hint: "it changed since you last saw it; review the current text before signing",
                });
            }
            oplog::append(
                tx,
                author,
                RecordId::from(note_id),
                &Payload::NoteSigned(NoteSigned {
                    patient: row.patient_id,
                    encounter: row.encounter_id,
                    author: row.author,
                    revision: head.revision,
                    soap: head.soap,
                }),
            )
        })?;
        self.note(note_id)
    }

    /// Adds a signed addendum to a signed note.
    pub fn add_addendum(&mut self, note_id: NoteId, text: &str) -> Result<Addendum, StoreError> {
        if text.trim().is_empty() {
            return Err(StoreError::Invalid {
                field: "text",
                reason: "an addendum needs text",
            });
        }
        let id = AddendumId::random(&mut rand_core::OsRng);
        let op = self.write_with(|tx, author| {
            let row = load_note_row(tx, note_id)?;
            oplog::append(
                tx,
                author,
                RecordId::from(id),
                &Payload::AddendumAdded(AddendumAdded {
                    patient: row.patient_id,
                    note: note_id,
                    text: text.to_owned(),
                }),
            )
        })?;
        Ok(Addendum {
            id,
            author: self.user.id,
            text: text.to_owned(),
            signed_at: wall(&op),
            signature: Signature::Valid {
                by: self.user.id,
                at: wall(&op),
            },
        })
    }
}
