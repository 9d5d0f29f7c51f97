//! Reading notes with their signatures checked: against the signer's key as registered, the
//! signer's role, the text shown, and the log (a chart that no longer shows a signature the
//! log holds is not shown as a draft).
//!
//! A chart can hold hundreds of signed notes, so a read gathers everything in a handful of
//! queries (the notes, their current texts, their signing operations, their addenda) and
//! verifies all the signatures it has not verified this session in one batch.

use std::collections::{HashMap, HashSet};

use outpost_crypto::primitives;
use outpost_proto::{
    AddendumId, NoteId, OpHash, OpKind, Operation, PatientId, Payload, RecordId, Role, UserId,
};

use super::{
    Addendum, NOTE_COLUMNS, Note, NoteRevision, NoteRow, REVISION_COLUMNS, Signature, content_hash,
    note_row, revision, revision_from_row,
};
use crate::{
    Store, StoreError,
    records::{hash_col, id_col},
};

/// Which notes a read covers.
#[derive(Debug, Clone, Copy)]
pub(super) enum Scope {
    /// One patient's notes.
    Patient(PatientId),
    /// One note.
    Note(NoteId),
}

impl Scope {
    /// The condition on `notes n`, and its one parameter.
    fn clause(self) -> (&'static str, String) {
        match self {
            Self::Patient(p) => ("n.patient_id = ?1", p.to_hex()),
            Self::Note(n) => ("n.id = ?1", n.to_hex()),
        }
    }
}

/// An addendum row, before its signature is checked.
struct AddendumRow {
    id: AddendumId,
    author: UserId,
    text: String,
    signed_at: i64,
    op: OpHash,
}

/// Everything needed to build the notes of a scope.
struct Sources {
    rows: Vec<NoteRow>,
    /// Current texts per note, latest first.
    leaves: HashMap<NoteId, Vec<NoteRevision>>,
    /// The signing operations of the notes and their addenda, by hash.
    ops: HashMap<OpHash, Operation>,
    /// The operations that saved the current texts, by hash.
    revisions: HashMap<OpHash, Operation>,
    /// Notes the log holds a signature for (whatever the chart table says).
    signed_in_log: HashSet<NoteId>,
    addenda: HashMap<NoteId, Vec<AddendumRow>>,
}

fn invalid(reason: &str) -> Signature {
    Signature::Invalid {
        reason: reason.to_owned(),
    }
}

fn wall(op: &Operation) -> i64 {
    i64::try_from(op.header().hlc.wall_ms).unwrap_or(i64::MAX)
}

/// A signature's payload, unwrapped from a legacy import (with the old attribution) if it is one.
fn signed_payload(op: &Operation) -> Option<(Payload, Option<(UserId, i64)>)> {
    match op.payload().ok()? {
        Payload::Legacy(l) => Some((l.inner().ok()?, Some((l.recorded_by, l.recorded_at)))),
        other => Some((other, None)),
    }
}

impl Store {
    fn sources(&self, scope: Scope) -> Result<Sources, StoreError> {
        let (clause, param) = scope.clause();
        let conn = &self.conn;
        let rows: Vec<NoteRow> = {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {NOTE_COLUMNS} FROM notes n WHERE {clause} ORDER BY n.created_at DESC, n.id"
            ))?;
            let rows = stmt.query_map([&param], note_row)?;
            rows.collect::<Result<_, _>>()?
        };
        let mut leaves: HashMap<NoteId, Vec<NoteRevision>> = HashMap::new();
        let mut revisions = HashMap::new();
        {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT r.note_id, {REVISION_COLUMNS}
                 FROM note_revisions r JOIN notes n ON n.id = r.note_id JOIN ops o ON o.hash = r.op
                 WHERE {clause} AND NOT EXISTS (SELECT 1 FROM note_revision_bases b WHERE b.base = r.op)
                 ORDER BY r.hlc_wall DESC, r.hlc_counter DESC, r.device DESC, r.seq DESC"
            ))?;
            let mut q = stmt.query([&param])?;
            while let Some(r) = q.next()? {
                let revision = revision_from_row(r, 1)?;
                if let Ok(op) = Operation::decode(r.get(4)?) {
                    revisions.insert(revision.revision, op);
                }
                leaves.entry(id_col(r, 0)?).or_default().push(revision);
            }
        }
        let mut ops = HashMap::new();
        {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT o.bytes FROM notes n JOIN ops o ON o.hash = n.signed_op WHERE {clause}
                 UNION ALL
                 SELECT o.bytes FROM addenda a JOIN notes n ON n.id = a.note_id JOIN ops o ON o.hash = a.op
                 WHERE {clause}"
            ))?;
            let mut q = stmt.query([&param])?;
            while let Some(r) = q.next()? {
                // A damaged record stays out of the map: its signature then reads as missing.
                if let Ok(op) = Operation::decode(r.get(0)?) {
                    ops.insert(op.hash(), op);
                }
            }
        }
        let mut signed_in_log = HashSet::new();
        {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT o.target FROM notes n JOIN ops o ON o.target = n.id
                 WHERE {clause} AND n.signed_op IS NULL AND o.kind = ?2
                   AND NOT EXISTS (SELECT 1 FROM refused f WHERE f.hash = o.hash)"
            ))?;
            let mut q = stmt.query(rusqlite::params![&param, i64::from(OpKind::NOTE_SIGNED.0)])?;
            while let Some(r) = q.next()? {
                signed_in_log.insert(id_col(r, 0)?);
            }
        }
        let mut addenda: HashMap<NoteId, Vec<AddendumRow>> = HashMap::new();
        {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT a.note_id, a.id, a.author, a.text, a.signed_at, a.op
                 FROM addenda a JOIN notes n ON n.id = a.note_id
                 WHERE {clause} ORDER BY a.signed_at, a.id"
            ))?;
            let mut q = stmt.query([&param])?;
            while let Some(r) = q.next()? {
                addenda.entry(id_col(r, 0)?).or_default().push(AddendumRow {
                    id: id_col(r, 1)?,
                    author: id_col(r, 2)?,
                    text: r.get(3)?,
                    signed_at: r.get(4)?,
                    op: hash_col(r, 5)?,
                });
            }
        }
        Ok(Sources {
            rows,
            leaves,
            ops,
            revisions,
            signed_in_log,
            addenda,
        })
    }

    /// Verifies, in one batch, every signature among `ops` not yet verified this session whose
    /// author is registered with a key; what verifies is remembered. A batch that fails is
    /// checked one by one, so one bad signature does not cost the good ones.
    fn preverify<'a>(&self, ops: impl Iterator<Item = &'a Operation>) {
        let pending: Vec<(&Operation, [u8; 32], Vec<u8>)> = ops
            .filter(|op| !self.verified.borrow().contains(&op.hash()))
            .filter_map(|op| {
                let key = self.trusted_state(op.header().actor)?.signing_key?;
                Some((op, key, op.signing_input()))
            })
            .collect();
        let items: Vec<(&[u8; 32], &[u8], &[u8])> = pending
            .iter()
            .map(|(op, key, input)| (key, input.as_slice(), op.signature()))
            .collect();
        let mut verified = self.verified.borrow_mut();
        if primitives::ed25519_verify_batch(&items).is_ok() {
            verified.extend(pending.iter().map(|(op, ..)| op.hash()));
        } else {
            for (op, key, _) in &pending {
                if op.verify(key).is_ok() {
                    verified.insert(op.hash());
                }
            }
        }
    }

    /// Checks `op`'s signature under its actor's key as registered (not as the users table
    /// says), requiring one of `roles`; results are remembered per operation hash.
    pub(super) fn verified_by(
        &self,
        op: &Operation,
        roles: &[Role],
    ) -> Result<UserId, &'static str> {
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

    /// Whether the text shown of a draft was saved, signed, by someone who may chart (so a
    /// draft cannot show a text someone else slipped in under another's name).
    fn draft_holds(&self, shown: &NoteRevision, sources: &Sources) -> Result<(), &'static str> {
        let op = sources
            .revisions
            .get(&shown.revision)
            .ok_or("the record of this text is missing")?;
        let roles: &[Role] = if op.header().kind == OpKind::LEGACY {
            &[Role::Physician, Role::Nurse, Role::Admin, Role::Emergency]
        } else {
            &[Role::Physician, Role::Nurse, Role::Admin]
        };
        self.verified_by(op, roles)
            .map(|_| ())
            .map_err(|_| "the text shown does not carry a valid signature of whoever saved it")
    }

    /// The state of a note's signature, checked against the log and the text shown.
    fn note_signature(&self, row: &NoteRow, shown: &NoteRevision, sources: &Sources) -> Signature {
        let Some(signed_op) = row.signed_op else {
            // A chart that says "unsigned" while the log holds a signature was altered.
            return if sources.signed_in_log.contains(&row.id) {
                invalid("the chart no longer shows a signature the log holds")
            } else if let Err(reason) = self.draft_holds(shown, sources) {
                invalid(reason)
            } else {
                Signature::Unsigned
            };
        };
        let Some(op) = sources.ops.get(&signed_op) else {
            return invalid("the record of its signing is missing");
        };
        if op.header().target != RecordId::from(row.id) {
            return invalid("the signature belongs to another note");
        }
        let Some((Payload::NoteSigned(signed), legacy)) = signed_payload(op) else {
            return invalid("the signing record is damaged");
        };
        if signed.patient != row.patient_id
            || signed.encounter != row.encounter_id
            || signed.author != row.author
        {
            return invalid("the signature names another patient, encounter or author");
        }
        if signed.revision != shown.revision || signed.soap != shown.soap {
            return invalid("the text differs from what was signed");
        }
        let roles: &[Role] = if legacy.is_some() {
            &[Role::Physician, Role::Nurse, Role::Admin, Role::Emergency]
        } else {
            &[Role::Physician]
        };
        match (self.verified_by(op, roles), legacy) {
            (Err(reason), _) => invalid(reason),
            (Ok(_), Some((by, at))) => Signature::Unverified { by, at },
            (Ok(by), None) => Signature::Valid { by, at: wall(op) },
        }
    }

    fn addendum_signature(&self, note: NoteId, a: &AddendumRow, sources: &Sources) -> Signature {
        let Some(op) = sources.ops.get(&a.op) else {
            return invalid("the record of its signing is missing");
        };
        if op.header().target != RecordId::from(a.id) {
            return invalid("the signature belongs to another record");
        }
        let Some((Payload::AddendumAdded(payload), legacy)) = signed_payload(op) else {
            return invalid("the signing record is damaged");
        };
        if payload.note != note || payload.text != a.text {
            return invalid("the text differs from what was signed");
        }
        let author = legacy.map_or(op.header().actor, |(by, _)| by);
        if author != a.author {
            return invalid("the author differs from the signer");
        }
        let roles: &[Role] = if legacy.is_some() {
            &[Role::Physician, Role::Nurse, Role::Admin, Role::Emergency]
        } else {
            &[Role::Physician, Role::Nurse]
        };
        match (self.verified_by(op, roles), legacy) {
            (Err(reason), _) => invalid(reason),
            (Ok(_), Some((by, at))) => Signature::Unverified { by, at },
            (Ok(by), None) => Signature::Valid { by, at: wall(op) },
        }
    }

    fn build_note(&self, row: &NoteRow, sources: &mut Sources) -> Result<Note, StoreError> {
        let mut current = sources.leaves.remove(&row.id).unwrap_or_default();
        if current.is_empty() {
            return Err(StoreError::Corrupt("a note without any text"));
        }
        // A signed note shows the text that was signed; anything saved elsewhere after
        // signing stays listed as a conflict, never shown as the note. When the signing
        // record cannot be read, the latest text is shown and the signature check says why.
        let signed_revision = row
            .signed_op
            .and_then(|h| sources.ops.get(&h))
            .and_then(signed_payload)
            .and_then(|(p, _)| match p {
                Payload::NoteSigned(p) => Some(p.revision),
                _ => None,
            });
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
        let signature = self.note_signature(row, &shown, sources);
        let addenda = sources
            .addenda
            .remove(&row.id)
            .unwrap_or_default()
            .into_iter()
            .map(|a| {
                let signature = self.addendum_signature(row.id, &a, sources);
                // The time shown is the signature's own, not a column.
                let signed_at = match &signature {
                    Signature::Valid { at, .. } | Signature::Unverified { at, .. } => *at,
                    _ => a.signed_at,
                };
                Addendum {
                    id: a.id,
                    author: a.author,
                    text: a.text,
                    signed_at,
                    signature,
                }
            })
            .collect();
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

    /// The notes of a scope, newest first, every signature checked.
    pub(super) fn read_notes(&self, scope: Scope) -> Result<Vec<Note>, StoreError> {
        let mut sources = self.sources(scope)?;
        // A signed note's text is bound by its signing operation, so only drafts need the
        // signature of the operation that saved their text checked.
        let drafts = sources
            .rows
            .iter()
            .filter(|row| row.signed_op.is_none())
            .filter_map(|row| sources.leaves.get(&row.id)?.first())
            .filter_map(|shown| sources.revisions.get(&shown.revision));
        self.preverify(sources.ops.values().chain(drafts));
        let rows = std::mem::take(&mut sources.rows);
        rows.iter()
            .map(|row| self.build_note(row, &mut sources))
            .collect()
    }

    /// One note with its addenda, signatures verified (not audited separately: notes are read
    /// through charts, and writes are operations).
    pub fn note(&self, id: NoteId) -> Result<Note, StoreError> {
        self.require_care_team("reading notes")?;
        self.read_notes(Scope::Note(id))?
            .pop()
            .ok_or(StoreError::NotFound("note"))
    }

    /// A patient's notes, newest first.
    pub(crate) fn notes_of(&self, patient: PatientId) -> Result<Vec<Note>, StoreError> {
        self.read_notes(Scope::Patient(patient))
    }

    /// Forgets which signatures this session already verified, so the next reads verify
    /// every one again (benchmarks measure the cold cost with it).
    #[doc(hidden)]
    pub fn forget_verified_signatures(&self) {
        self.verified.borrow_mut().clear();
    }

    /// One saved text of a note, current or replaced.
    pub fn note_revision(&self, note: NoteId, rev: OpHash) -> Result<NoteRevision, StoreError> {
        self.require_care_team("reading notes")?;
        match revision(&self.conn, &rev)? {
            Some((of, r)) if of == note => Ok(r),
            _ => Err(StoreError::NotFound("revision")),
        }
    }
}
