//! Concurrent writes a person must resolve, and charts that may be the same person.
//!
//! Two devices editing one demographic field without seeing each other's write both keep their
//! value: the field shows one of them (the later on the clock, the same on every device) and
//! the conflict is listed until someone chooses or types the value, which is itself a signed
//! operation replacing both. Two saves of one draft keep both texts the same way. Two charts
//! with the same name and birth date (registered on two devices) are flagged as possible
//! duplicates: they can be linked, never merged silently.

use outpost_proto::{
    NoteId, OpHash, PatientField, PatientId, Payload, RecordId, UserId,
    payload::{PatientFieldSet, PatientsLinked},
};
use rusqlite::params;
use serde::Serialize;

use crate::{Store, StoreError, records::hash_col};

/// One value of a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConflictValue {
    /// The write (its operation hash): pass it to `--choose`.
    pub id: String,
    /// The value (a note's text as its four sections, one per line).
    pub value: Option<String>,
    /// Who wrote it.
    pub author: UserId,
    /// When (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub at: i64,
}

/// A field, or a draft's text, that two devices wrote without seeing each other's write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Conflict {
    /// Its id: `record.field`.
    pub id: String,
    /// The record: a patient or a note id.
    pub record: String,
    /// The field (`text` for a note).
    pub field: String,
    /// The values, newest first (the first is the one shown meanwhile).
    pub values: Vec<ConflictValue>,
}

/// Two charts that may be the same person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PossibleDuplicate {
    /// One chart.
    pub patient: PatientId,
    /// The other.
    pub other: PatientId,
}

fn bad_id() -> StoreError {
    StoreError::Invalid {
        field: "conflict",
        reason: "no such conflict (run `outpost conflicts list`)",
    }
}

impl Store {
    /// Open conflicts: demographic fields and draft texts.
    pub fn conflicts(&self) -> Result<Vec<Conflict>, StoreError> {
        let mut out = Vec::new();
        let mut stmt = self.conn.prepare(
            "SELECT h.patient_id, h.field, h.op, h.value, o.actor, h.hlc_wall
             FROM patient_field_heads h JOIN ops o ON o.hash = h.op
             WHERE (h.patient_id, h.field) IN (
                SELECT patient_id, field FROM patient_field_heads
                GROUP BY patient_id, field HAVING count(*) > 1)
             ORDER BY h.patient_id, h.field, h.hlc_wall DESC, h.hlc_counter DESC, h.device DESC, h.seq DESC",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let record: String = r.get(0)?;
            let field: String = r.get(1)?;
            let value = ConflictValue {
                id: hash_col(r, 2)?.to_hex(),
                value: r.get(3)?,
                author: crate::records::id_col(r, 4)?,
                at: r.get(5)?,
            };
            match out.last_mut() {
                Some(Conflict {
                    record: rec,
                    field: f,
                    values,
                    ..
                }) if *rec == record && *f == field => values.push(value),
                _ => out.push(Conflict {
                    id: format!("{record}.{field}"),
                    record,
                    field,
                    values: vec![value],
                }),
            }
        }
        drop(rows);
        drop(stmt);
        let mut stmt = self.conn.prepare(
            "SELECT r.note_id FROM note_revisions r JOIN notes n ON n.id = r.note_id
             WHERE n.signed_op IS NULL
               AND NOT EXISTS (SELECT 1 FROM note_revision_bases b WHERE b.base = r.op)
             GROUP BY r.note_id HAVING count(*) > 1",
        )?;
        let notes: Vec<NoteId> = stmt
            .query_map([], |r| crate::records::id_col(r, 0))?
            .collect::<Result<_, _>>()?;
        drop(stmt);
        for note in notes {
            let n = self.note(note)?;
            let values = std::iter::once((n.revision, n.updated_at, &n.soap, n.author))
                .chain(
                    n.conflicts
                        .iter()
                        .map(|c| (c.revision, c.at, &c.soap, c.author)),
                )
                .map(|(rev, at, soap, author)| ConflictValue {
                    id: rev.to_hex(),
                    value: Some(format!(
                        "S: {}\nO: {}\nA: {}\nP: {}",
                        soap.subjective, soap.objective, soap.assessment, soap.plan
                    )),
                    author,
                    at,
                })
                .collect();
            out.push(Conflict {
                id: format!("{}.text", note.to_hex()),
                record: note.to_hex(),
                field: "text".into(),
                values,
            });
        }
        Ok(out)
    }

    /// Resolves a conflict with one of its values (`choose`, a value id) or a new value: a
    /// signed operation replacing every conflicting write.
    pub fn resolve_conflict(
        &mut self,
        id: &str,
        choose: Option<&str>,
        value: Option<&str>,
    ) -> Result<(), StoreError> {
        let conflict = self
            .conflicts()?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(bad_id)?;
        let replaced: Vec<OpHash> = conflict
            .values
            .iter()
            .map(|v| v.id.parse().map_err(StoreError::from))
            .collect::<Result<_, _>>()?;
        if conflict.field == "text" {
            let note: NoteId = conflict.record.parse()?;
            let chosen = choose.ok_or(StoreError::Invalid {
                field: "value",
                reason: "for a note, choose one of its texts (then edit it if needed)",
            })?;
            let rev: OpHash = chosen.parse()?;
            let soap = self.note_revision(note, rev)?.soap;
            return match self.update_draft(note, &replaced, &soap) {
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            };
        }
        let patient: PatientId = conflict.record.parse()?;
        let field = PatientField::from_name(&conflict.field).ok_or(StoreError::UnknownCode {
            field: "patient field",
            code: conflict.field.clone(),
        })?;
        let new_value = match (choose, value) {
            (Some(c), None) => conflict
                .values
                .iter()
                .find(|v| v.id == c)
                .ok_or_else(bad_id)?
                .value
                .clone(),
            (None, Some(v)) => Some(v.to_owned()),
            _ => {
                return Err(StoreError::Invalid {
                    field: "value",
                    reason: "give either --choose VALUE_ID or --value TEXT",
                });
            }
        };
        self.set_patient_field_replacing(patient, field, new_value, replaced)
    }

    /// Edits one demographic field, replacing its current value(s).
    pub fn edit_patient(
        &mut self,
        patient: PatientId,
        field: PatientField,
        value: Option<String>,
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT op FROM patient_field_heads WHERE patient_id = ?1 AND field = ?2")?;
        let replaced: Vec<OpHash> = stmt
            .query_map(params![patient.to_hex(), field.as_str()], |r| {
                hash_col(r, 0)
            })?
            .collect::<Result<_, _>>()?;
        drop(stmt);
        // A field added after the patient was registered (an identity number) has no value
        // to replace yet; the patient must still exist.
        let exists: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM patients WHERE id = ?1)",
            [patient.to_hex()],
            |r| r.get(0),
        )?;
        if !exists {
            return Err(StoreError::NotFound("patient"));
        }
        self.set_patient_field_replacing(patient, field, value, replaced)
    }

    fn set_patient_field_replacing(
        &mut self,
        patient: PatientId,
        field: PatientField,
        value: Option<String>,
        replaces: Vec<OpHash>,
    ) -> Result<(), StoreError> {
        let value = value.map(|v| v.trim().to_owned());
        if let Some(v) = &value {
            crate::records::patients::check_field(field, v)?;
            // One chart per identity number, as at registration.
            if field == PatientField::NationalId && !v.is_empty() {
                let taken: bool = self.conn.query_row(
                    "SELECT EXISTS (SELECT 1 FROM patients WHERE national_id = ?1 AND id <> ?2)",
                    rusqlite::params![v, patient.to_hex()],
                    |r| r.get(0),
                )?;
                if taken {
                    return Err(StoreError::Invalid {
                        field: "national_id",
                        reason: "another patient has this identity number: open their chart",
                    });
                }
            }
        }
        self.write(
            RecordId::from(patient),
            &Payload::PatientFieldSet(PatientFieldSet {
                field,
                value: value.filter(|v| !v.is_empty()),
                replaces,
            }),
        )?;
        Ok(())
    }

    /// Charts with the same names and birth date that are not linked yet.
    pub fn possible_duplicates(&self) -> Result<Vec<PossibleDuplicate>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT a.id, b.id FROM patients a JOIN patients b
               ON lower(a.family_name) = lower(b.family_name)
              AND lower(a.given_name) = lower(b.given_name)
              AND a.birth_date = b.birth_date AND a.id < b.id
             WHERE NOT EXISTS (SELECT 1 FROM patient_links l WHERE l.patient_id = a.id AND l.other_id = b.id)
             ORDER BY a.id, b.id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(PossibleDuplicate {
                patient: crate::records::id_col(r, 0)?,
                other: crate::records::id_col(r, 1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Links two charts of the same person (both stay; each shows the other).
    pub fn link_patients(
        &mut self,
        patient: PatientId,
        other: PatientId,
    ) -> Result<(), StoreError> {
        self.write(
            RecordId::from(patient),
            &Payload::PatientsLinked(PatientsLinked { other }),
        )?;
        Ok(())
    }

    /// The charts linked to `patient`.
    pub fn linked_patients(&self, patient: PatientId) -> Result<Vec<PatientId>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT other_id FROM patient_links WHERE patient_id = ?1 ORDER BY other_id",
        )?;
        let rows = stmt.query_map([patient.to_hex()], |r| crate::records::id_col(r, 0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
