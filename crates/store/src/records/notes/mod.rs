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

mod read;

use std::collections::HashSet;

use outpost_proto::{
    AddendumId, EncounterId, NoteId, OpHash, Operation, PatientId, Payload, RecordId, Soap, UserId,
    canon::Canon,
    payload::{AddendumAdded, NoteCreated, NoteRevised, NoteSigned},
};
use rusqlite::{Connection, OptionalExtension};
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
            &format!(
                "SELECT r.note_id, {REVISION_COLUMNS} FROM note_revisions r JOIN ops o ON o.hash = r.op
                 WHERE r.op = ?1"
            ),
            [rev.0.as_slice()],
            |r| Ok((id_col(r, 0)?, revision_from_row(r, 1)?)),
        )
        .optional()?)
}

/// The columns `revision_from_row` reads, from `note_revisions r JOIN ops o ON o.hash = r.op`.
/// The text is not copied into the revisions table: it is read from the signed operation that
/// wrote it, so a note save writes its text once.
pub(crate) const REVISION_COLUMNS: &str = "r.op, r.author, r.hlc_wall, o.bytes";

/// The text an operation saved as a note revision (created, revised, or imported as either).
pub(crate) fn saved_text(op: &Operation) -> Option<Soap> {
    match op.payload().ok()? {
        Payload::NoteCreated(p) => Some(p.soap),
        Payload::NoteRevised(p) => Some(p.soap),
        Payload::Legacy(l) => match l.inner().ok()? {
            Payload::NoteCreated(p) => Some(p.soap),
            Payload::NoteRevised(p) => Some(p.soap),
            _ => None,
        },
        _ => None,
    }
}

/// A revision from `REVISION_COLUMNS` starting at `at`.
fn revision_from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<NoteRevision> {
    let bytes: Vec<u8> = r.get(at + 3)?;
    let damaged = || {
        rusqlite::Error::FromSqlConversionFailure(
            at + 3,
            rusqlite::types::Type::Blob,
            "a note revision's record is damaged".into(),
        )
    };
    let op = Operation::decode(bytes).map_err(|_| damaged())?;
    let soap = saved_text(&op).ok_or_else(damaged)?;
    // The revision is named by the hash of the bytes the text was read from, not by a column
    // that could be edited separately: a signature names exactly this text.
    let _ = hash_col(r, at)?;
    Ok(NoteRevision {
        revision: op.hash(),
        author: id_col(r, at + 1)?,
        at: r.get(at + 2)?,
        soap,
    })
}

/// The current texts of a note, latest first.
fn leaves(conn: &Connection, note: NoteId) -> Result<Vec<NoteRevision>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {REVISION_COLUMNS} FROM note_revisions r JOIN ops o ON o.hash = r.op
         WHERE r.note_id = ?1 AND NOT EXISTS (SELECT 1 FROM note_revision_bases b WHERE b.base = r.op)
         ORDER BY r.hlc_wall DESC, r.hlc_counter DESC, r.device DESC, r.seq DESC"
    ))?;
    let rows = stmt.query_map([note.to_hex()], |r| revision_from_row(r, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The revisions of a note that no later revision replaced (hashes only).
fn current_revisions(conn: &Connection, note: NoteId) -> Result<HashSet<OpHash>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT op FROM note_revisions r
         WHERE note_id = ?1 AND NOT EXISTS (SELECT 1 FROM note_revision_bases b WHERE b.base = r.op)",
    )?;
    let rows = stmt.query_map([note.to_hex()], |r| hash_col(r, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Where a note was written (patient, encounter, author), from the signed operation that
/// created it, not from the table a key holder could edit; the creation's signature is checked.
fn created_context(store: &Store, conn: &Connection, note: NoteId) -> Result<NoteRow, StoreError> {
    let row = load_note_row(conn, note)?;
    let altered = || StoreError::SignatureInvalid("the note's record was altered");
    let mut stmt = conn.prepare_cached(
        "SELECT bytes FROM ops WHERE target = ?1 AND kind IN (?2, ?3)
         ORDER BY hlc_wall, hlc_counter, device, seq",
    )?;
    let mut rows = stmt.query(rusqlite::params![
        note.to_hex(),
        i64::from(outpost_proto::OpKind::NOTE_CREATED.0),
        i64::from(outpost_proto::OpKind::LEGACY.0)
    ])?;
    while let Some(r) = rows.next()? {
        let op = Operation::decode(r.get(0)?).map_err(|_| altered())?;
        let (created, author, roles): (_, _, &[outpost_proto::Role]) = match op.payload() {
            Ok(Payload::NoteCreated(p)) => (
                p,
                op.header().actor,
                &[
                    outpost_proto::Role::Physician,
                    outpost_proto::Role::Nurse,
                    outpost_proto::Role::Admin,
                ],
            ),
            Ok(Payload::Legacy(l)) => match l.inner() {
                Ok(Payload::NoteCreated(p)) => (
                    p,
                    l.recorded_by,
                    &[
                        outpost_proto::Role::Physician,
                        outpost_proto::Role::Nurse,
                        outpost_proto::Role::Admin,
                        outpost_proto::Role::Emergency,
                    ],
                ),
                _ => continue,
            },
            _ => continue,
        };
        store.verified_by(&op, roles).map_err(|_| altered())?;
        if created.patient != row.patient_id
            || created.encounter != row.encounter_id
            || author != row.author
        {
            return Err(altered());
        }
        return Ok(row);
    }
    Err(altered())
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

const NOTE_COLUMNS: &str =
    "n.id, n.patient_id, n.encounter_id, n.author, n.created_at, n.signed_op, n.legacy";

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
        &format!("SELECT {NOTE_COLUMNS} FROM notes n WHERE n.id = ?1"),
        [id.to_hex()],
        note_row,
    )
    .optional()?
    .ok_or(StoreError::NotFound("note"))
}

fn wall(op: &Operation) -> i64 {
    i64::try_from(op.header().hlc.wall_ms).unwrap_or(i64::MAX)
}

impl Store {
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
        let (row, op, stale) = self.write_with(|tx, author| {
            let row = load_note_row(tx, note_id)?;
            if row.signed_op.is_some() {
                return Err(StoreError::Immutable);
            }
            let asked: HashSet<OpHash> = bases.iter().copied().collect();
            if asked.is_empty() {
                return Err(StoreError::Invalid {
                    field: "revision",
                    reason: "name the revision this text replaces",
                });
            }
            let stale = asked != current_revisions(tx, note_id)?;
            let op = oplog::append(
                tx,
                author,
                RecordId::from(note_id),
                &Payload::NoteRevised(NoteRevised {
                    patient: row.patient_id,
                    bases: bases.to_vec(),
                    soap: soap.clone(),
                }),
            )?;
            Ok((row, op, stale))
        })?;
        if stale {
            return Err(StoreError::Conflict {
                what: "this draft",
                hint: "it was saved elsewhere meanwhile; both texts are kept: review them and save a merged text",
            });
        }
        // The save replaced every current text, so the note is exactly this: no need to read
        // it back (a draft has no signature and no addenda).
        Ok(Note {
            id: row.id,
            patient_id: row.patient_id,
            encounter_id: row.encounter_id,
            author: row.author,
            content_hash: content_hash(row.id, row.patient_id, row.encounter_id, soap),
            soap: soap.clone(),
            created_at: row.created_at,
            updated_at: wall(&op),
            revision: op.hash(),
            signature: Signature::Unsigned,
            conflicts: Vec::new(),
            addenda: Vec::new(),
            legacy: row.legacy,
        })
    }

    /// Signs the draft as the current user (physicians only), if its text is still the one
    /// whose `content_hash` the caller showed. The note is immutable afterwards.
    pub fn sign_note(
        &mut self,
        note_id: NoteId,
        expected_content_hash: &str,
    ) -> Result<Note, StoreError> {
        // What the signature will name (patient, encounter, author) comes from the signed
        // creation of the note, so an edited table cannot make a physician sign something else.
        let context = created_context(self, &self.conn, note_id)?;
        let op = self.write_with(|tx, author| {
            let row = load_note_row(tx, note_id)?;
            if row.signed_op.is_some() {
                return Err(StoreError::Immutable);
            }
            if (row.patient_id, row.encounter_id, row.author)
                != (context.patient_id, context.encounter_id, context.author)
            {
                return Err(StoreError::Conflict {
                    what: "this note",
                    hint: "it changed while it was being signed; open it again",
                });
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
        // Made here, by this session's signer: no need to verify it again when read back
        // (the cache is keyed by the hash of the bytes, so altered bytes are checked anew).
        self.verified.borrow_mut().insert(op.hash());
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
