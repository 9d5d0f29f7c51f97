//! Clinical records: patients, encounters, SOAP notes (draft, signed, addenda) and vitals.
//!
//! Every write runs in one transaction with its audit entry. Reading a chart is audited too.

use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Role, Store, StoreError, audit, db::hex, profile::random_id};

/// A patient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Patient {
    /// Stable id.
    pub id: String,
    /// Given name(s).
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Birth date, `YYYY-MM-DD`.
    pub birth_date: String,
    /// Administrative sex as recorded (`female`, `male`, `other`, `unknown`).
    pub sex: Option<String>,
    /// The clinic's own patient number, unique on this device.
    pub clinic_id: Option<String>,
    /// Phone, address or other contact, free text.
    pub contact: Option<String>,
    /// When the record was created (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub created_at: i64,
}

/// What is needed to register a patient.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewPatient {
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

/// How an encounter happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum EncounterKind {
    /// An end-to-end encrypted video visit.
    Video,
    /// Face to face.
    InPerson,
    /// A store-and-forward consult.
    AsyncConsult,
}

impl EncounterKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Video => "video",
            Self::InPerson => "in_person",
            Self::AsyncConsult => "async_consult",
        }
    }
    /// Parses a stored or typed name.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "video" => Self::Video,
            "in_person" | "in-person" => Self::InPerson,
            "async_consult" | "async-consult" => Self::AsyncConsult,
            _ => {
                return Err(StoreError::Invalid {
                    field: "kind",
                    reason: "one of video, in_person, async_consult",
                });
            }
        })
    }
}

/// An encounter (a visit or consult).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Encounter {
    /// Stable id.
    pub id: String,
    /// The patient.
    pub patient_id: String,
    /// How it happens.
    pub kind: EncounterKind,
    /// `planned`, `in_progress`, `finished` or `cancelled`.
    pub status: String,
    /// Start (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub started_at: i64,
    /// End (UTC ms), once finished.
    #[cfg_attr(feature = "specta", specta(type = Option<f64>))]
    pub ended_at: Option<i64>,
    /// The practitioner's user id.
    pub practitioner: String,
}

/// The four parts of a SOAP note.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// A signed correction or addition to a signed note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Addendum {
    /// Stable id.
    pub id: String,
    /// Its author (user id).
    pub author: String,
    /// The text.
    pub text: String,
    /// When it was signed (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub signed_at: i64,
    /// SHA-256 over the note id, author, time and text.
    pub content_hash: String,
}

/// A SOAP note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Note {
    /// Stable id.
    pub id: String,
    /// The patient.
    pub patient_id: String,
    /// The encounter, if written during one.
    pub encounter_id: Option<String>,
    /// Author (user id).
    pub author: String,
    /// The content.
    pub soap: Soap,
    /// Created (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub created_at: i64,
    /// Last draft save (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub updated_at: i64,
    /// Signing time, once signed; the note is immutable from then on.
    #[cfg_attr(feature = "specta", specta(type = Option<f64>))]
    pub signed_at: Option<i64>,
    /// Who signed.
    pub signed_by: Option<String>,
    /// SHA-256 of the signed content.
    pub content_hash: Option<String>,
    /// Signed addenda, oldest first.
    pub addenda: Vec<Addendum>,
}

/// A kind of vital sign, with its LOINC code, UCUM unit and a plausible range that catches
/// typing slips (a temperature of 375 is refused, 37.5 is not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum VitalKind {
    /// Blood pressure (systolic `value`, diastolic `value2`), LOINC 85354-9, mm[Hg].
    BloodPressure,
    /// Heart rate, LOINC 8867-4, /min.
    Pulse,
    /// Body temperature, LOINC 8310-5, Cel.
    Temperature,
    /// Oxygen saturation by pulse oximetry, LOINC 59408-5, %.
    Spo2,
    /// Respiratory rate, LOINC 9279-1, /min.
    RespiratoryRate,
    /// Body weight, LOINC 29463-7, kg.
    Weight,
    /// Body height, LOINC 8302-2, cm.
    Height,
    /// Blood glucose, LOINC 2339-0, mg/dL.
    Glucose,
}

impl VitalKind {
    /// All kinds, in display order.
    pub const ALL: [Self; 8] = [
        Self::BloodPressure,
        Self::Pulse,
        Self::Temperature,
        Self::Spo2,
        Self::RespiratoryRate,
        Self::Weight,
        Self::Height,
        Self::Glucose,
    ];

    /// The LOINC code.
    pub fn loinc(self) -> &'static str {
        match self {
            Self::BloodPressure => "85354-9",
            Self::Pulse => "8867-4",
            Self::Temperature => "8310-5",
            Self::Spo2 => "59408-5",
            Self::RespiratoryRate => "9279-1",
            Self::Weight => "29463-7",
            Self::Height => "8302-2",
            Self::Glucose => "2339-0",
        }
    }

    /// The UCUM unit.
    pub fn unit(self) -> &'static str {
        match self {
            Self::BloodPressure => "mm[Hg]",
            Self::Pulse | Self::RespiratoryRate => "/min",
            Self::Temperature => "Cel",
            Self::Spo2 => "%",
            Self::Weight => "kg",
            Self::Height => "cm",
            Self::Glucose => "mg/dL",
        }
    }

    fn plausible(self) -> (f64, f64) {
        match self {
            Self::BloodPressure => (20.0, 300.0),
            Self::Pulse => (10.0, 300.0),
            Self::Temperature => (25.0, 45.0),
            Self::Spo2 => (30.0, 100.0),
            Self::RespiratoryRate => (2.0, 80.0),
            Self::Weight => (0.2, 400.0),
            Self::Height => (20.0, 260.0),
            Self::Glucose => (10.0, 1500.0),
        }
    }

    /// The kind for a LOINC code.
    pub fn from_loinc(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.loinc() == code)
    }

    /// Parses a typed name (`bp`, `pulse`, `temp`, `spo2`, `rr`, `weight`, `height`, `glucose`)
    /// or a LOINC code.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "bp" | "blood_pressure" => Self::BloodPressure,
            "pulse" | "hr" => Self::Pulse,
            "temp" | "temperature" => Self::Temperature,
            "spo2" => Self::Spo2,
            "rr" | "respiratory_rate" => Self::RespiratoryRate,
            "weight" => Self::Weight,
            "height" => Self::Height,
            "glucose" => Self::Glucose,
            code => {
                return Self::from_loinc(code).ok_or(StoreError::Invalid {
                    field: "vital",
                    reason: "unknown kind",
                });
            }
        })
    }
}

/// One recorded vital sign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Vital {
    /// Stable id.
    pub id: String,
    /// The patient.
    pub patient_id: String,
    /// The encounter, if any.
    pub encounter_id: Option<String>,
    /// What was measured.
    pub kind: VitalKind,
    /// The value (systolic for blood pressure).
    pub value: f64,
    /// Diastolic for blood pressure.
    pub value2: Option<f64>,
    /// UCUM unit.
    pub unit: String,
    /// When it was measured (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub observed_at: i64,
    /// Who recorded it.
    pub recorded_by: String,
}

/// A patient's chart as one read: the patient and everything recorded about them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Chart {
    /// The patient.
    pub patient: Patient,
    /// Encounters, newest first.
    pub encounters: Vec<Encounter>,
    /// Notes, newest first.
    pub notes: Vec<Note>,
    /// Vitals, oldest first (for trends).
    pub vitals: Vec<Vital>,
    /// Attachments' metadata, newest first.
    pub attachments: Vec<crate::attachments::AttachmentInfo>,
}

fn patient_from_row(r: &Row<'_>) -> rusqlite::Result<Patient> {
    Ok(Patient {
        id: r.get(0)?,
        given_name: r.get(1)?,
        family_name: r.get(2)?,
        birth_date: r.get(3)?,
        sex: r.get(4)?,
        clinic_id: r.get(5)?,
        contact: r.get(6)?,
        created_at: r.get(7)?,
    })
}

const PATIENT_COLUMNS: &str =
    "id, given_name, family_name, birth_date, sex, clinic_id, contact, created_at";
const NOTE_COLUMNS: &str = "id, patient_id, encounter_id, author, subjective, objective, assessment, plan, created_at, updated_at, signed_at, signed_by, content_hash";

fn note_from_row(r: &Row<'_>) -> rusqlite::Result<Note> {
    Ok(Note {
        id: r.get(0)?,
        patient_id: r.get(1)?,
        encounter_id: r.get(2)?,
        author: r.get(3)?,
        soap: Soap {
            subjective: r.get(4)?,
            objective: r.get(5)?,
            assessment: r.get(6)?,
            plan: r.get(7)?,
        },
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
        signed_at: r.get(10)?,
        signed_by: r.get(11)?,
        content_hash: r.get(12)?,
        addenda: Vec::new(),
    })
}

fn vital_from_row(r: &Row<'_>) -> rusqlite::Result<Vital> {
    let code: String = r.get(3)?;
    Ok(Vital {
        id: r.get(0)?,
        patient_id: r.get(1)?,
        encounter_id: r.get(2)?,
        kind: VitalKind::from_loinc(&code).unwrap_or(VitalKind::Pulse),
        value: r.get(4)?,
        value2: r.get(5)?,
        unit: r.get(6)?,
        observed_at: r.get(7)?,
        recorded_by: r.get(8)?,
    })
}

fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && s[..4]
            .parse::<u32>()
            .is_ok_and(|y| (1850..=2200).contains(&y))
        && s[5..7].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
        && s[8..].parse::<u32>().is_ok_and(|d| (1..=31).contains(&d))
}

/// SHA-256 over length-prefixed fields, as hex.
fn content_hash(fields: &[&str]) -> String {
    let mut h = Sha256::new();
    for f in fields {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex(&h.finalize())
}

fn soap_hash(note_id: &str, signer: &str, at: i64, soap: &Soap) -> String {
    content_hash(&[
        "outpost/v1/note",
        note_id,
        signer,
        &at.to_string(),
        &soap.subjective,
        &soap.objective,
        &soap.assessment,
        &soap.plan,
    ])
}

impl Store {
    /// Registers a patient.
    pub fn add_patient(&mut self, p: &NewPatient) -> Result<Patient, StoreError> {
        self.require_care_team()?;
        if p.given_name.trim().is_empty() && p.family_name.trim().is_empty() {
            return Err(StoreError::Invalid {
                field: "name",
                reason: "a given or family name is required",
            });
        }
        if !valid_date(&p.birth_date) {
            return Err(StoreError::Invalid {
                field: "birth_date",
                reason: "use YYYY-MM-DD",
            });
        }
        let patient = Patient {
            id: random_id(),
            given_name: p.given_name.trim().to_owned(),
            family_name: p.family_name.trim().to_owned(),
            birth_date: p.birth_date.clone(),
            sex: p.sex.clone(),
            clinic_id: p.clinic_id.clone().filter(|c| !c.trim().is_empty()),
            contact: p.contact.clone(),
            created_at: self.now(),
        };
        let user = self.user.id.clone();
        let tx = self.conn.transaction()?;
        let inserted = tx.execute(
            "INSERT INTO patients (id, given_name, family_name, birth_date, sex, clinic_id, contact, created_at, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                patient.id,
                patient.given_name,
                patient.family_name,
                patient.birth_date,
                patient.sex,
                patient.clinic_id,
                patient.contact,
                patient.created_at,
                user
            ],
        );
        if let Err(rusqlite::Error::SqliteFailure(e, Some(msg))) = &inserted
            && e.code == rusqlite::ErrorCode::ConstraintViolation
            && msg.contains("clinic_id")
        {
            return Err(StoreError::Invalid {
                field: "clinic_id",
                reason: "another patient has this clinic number",
            });
        }
        inserted?;
        audit::append(
            &tx,
            patient.created_at,
            Some(&user),
            "patient_created",
            Some("patient"),
            Some(&patient.id),
        )?;
        tx.commit()?;
        Ok(patient)
    }

    /// Patients whose name or clinic number contains `query` (all when empty), by family name.
    pub fn search_patients(&self, query: &str) -> Result<Vec<Patient>, StoreError> {
        self.require_care_team()?;
        let pattern = format!(
            "%{}%",
            query
                .trim()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {PATIENT_COLUMNS} FROM patients
             WHERE given_name LIKE ?1 ESCAPE '\\' OR family_name LIKE ?1 ESCAPE '\\'
                OR (given_name || ' ' || family_name) LIKE ?1 ESCAPE '\\' OR clinic_id LIKE ?1 ESCAPE '\\'
             ORDER BY family_name COLLATE NOCASE, given_name COLLATE NOCASE"
        ))?;
        let rows = stmt.query_map([pattern], patient_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One patient (audited as a chart read).
    pub fn patient(&mut self, id: &str) -> Result<Patient, StoreError> {
        self.require_care_team()?;
        let p = self
            .conn
            .query_row(
                &format!("SELECT {PATIENT_COLUMNS} FROM patients WHERE id = ?1"),
                [id],
                patient_from_row,
            )
            .optional()?
            .ok_or(StoreError::NotFound("patient"))?;
        self.audit_now("chart_read", Some("patient"), Some(id))?;
        Ok(p)
    }

    /// The whole chart of a patient in one read (audited).
    pub fn chart(&mut self, patient_id: &str) -> Result<Chart, StoreError> {
        let patient = self.patient(patient_id)?;
        let mut stmt = self.conn.prepare(
            "SELECT id, patient_id, kind, status, started_at, ended_at, practitioner FROM encounters WHERE patient_id = ?1 ORDER BY started_at DESC",
        )?;
        let encounters = stmt
            .query_map([patient_id], |r| {
                let kind: String = r.get(2)?;
                Ok(Encounter {
                    id: r.get(0)?,
                    patient_id: r.get(1)?,
                    kind: EncounterKind::parse(&kind).unwrap_or(EncounterKind::InPerson),
                    status: r.get(3)?,
                    started_at: r.get(4)?,
                    ended_at: r.get(5)?,
                    practitioner: r.get(6)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {NOTE_COLUMNS} FROM notes WHERE patient_id = ?1 ORDER BY created_at DESC"
        ))?;
        let mut notes = stmt
            .query_map([patient_id], note_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        for note in &mut notes {
            note.addenda = self.addenda(&note.id)?;
        }
        let mut stmt = self.conn.prepare(
            "SELECT id, patient_id, encounter_id, code, value, value2, unit, observed_at, recorded_by FROM vitals WHERE patient_id = ?1 ORDER BY observed_at",
        )?;
        let vitals = stmt
            .query_map([patient_id], vital_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        let attachments = self.attachment_list(patient_id)?;
        Ok(Chart {
            patient,
            encounters,
            notes,
            vitals,
            attachments,
        })
    }

    /// Opens an encounter for a patient, by the current user.
    pub fn add_encounter(
        &mut self,
        patient_id: &str,
        kind: EncounterKind,
    ) -> Result<Encounter, StoreError> {
        self.require_patient(patient_id)?;
        let enc = Encounter {
            id: random_id(),
            patient_id: patient_id.to_owned(),
            kind,
            status: "in_progress".to_owned(),
            started_at: self.now(),
            ended_at: None,
            practitioner: self.user.id.clone(),
        };
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO encounters (id, patient_id, kind, status, started_at, practitioner) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![enc.id, enc.patient_id, kind.as_str(), enc.status, enc.started_at, enc.practitioner],
        )?;
        audit::append(
            &tx,
            enc.started_at,
            Some(&enc.practitioner),
            "encounter_created",
            Some("encounter"),
            Some(&enc.id),
        )?;
        tx.commit()?;
        Ok(enc)
    }

    /// Writes a new draft note.
    pub fn write_note(
        &mut self,
        patient_id: &str,
        encounter_id: Option<&str>,
        soap: &Soap,
    ) -> Result<Note, StoreError> {
        self.require_patient(patient_id)?;
        let now = self.now();
        let note = Note {
            id: random_id(),
            patient_id: patient_id.to_owned(),
            encounter_id: encounter_id.map(str::to_owned),
            author: self.user.id.clone(),
            soap: soap.clone(),
            created_at: now,
            updated_at: now,
            signed_at: None,
            signed_by: None,
            content_hash: None,
            addenda: Vec::new(),
        };
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO notes (id, patient_id, encounter_id, author, subjective, objective, assessment, plan, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
            params![note.id, note.patient_id, note.encounter_id, note.author, soap.subjective, soap.objective, soap.assessment, soap.plan, now],
        )?;
        audit::append(
            &tx,
            now,
            Some(&note.author),
            "note_created",
            Some("note"),
            Some(&note.id),
        )?;
        tx.commit()?;
        Ok(note)
    }

    /// Saves a new version of a draft (autosave). A signed note is [`StoreError::Immutable`].
    pub fn update_draft(&mut self, note_id: &str, soap: &Soap) -> Result<Note, StoreError> {
        self.require_care_team()?;
        let now = self.now();
        let user = self.user.id.clone();
        let tx = self.conn.transaction()?;
        let signed: Option<Option<i64>> = tx
            .query_row(
                "SELECT signed_at FROM notes WHERE id = ?1",
                [note_id],
                |r| r.get(0),
            )
            .optional()?;
        match signed {
            None => return Err(StoreError::NotFound("note")),
            Some(Some(_)) => return Err(StoreError::Immutable),
            Some(None) => {}
        }
        tx.execute(
            "UPDATE notes SET subjective = ?2, objective = ?3, assessment = ?4, plan = ?5, updated_at = ?6 WHERE id = ?1",
            params![note_id, soap.subjective, soap.objective, soap.assessment, soap.plan, now],
        )?;
        audit::append(
            &tx,
            now,
            Some(&user),
            "note_draft_saved",
            Some("note"),
            Some(note_id),
        )?;
        tx.commit()?;
        self.note(note_id)
    }

    /// Signs a draft as the current user (physicians only); the note is immutable afterwards.
    pub fn sign_note(&mut self, note_id: &str) -> Result<Note, StoreError> {
        if self.user.role != Role::Physician {
            return Err(StoreError::Invalid {
                field: "role",
                reason: "only a physician can sign notes",
            });
        }
        let now = self.now();
        let user = self.user.id.clone();
        // Read, hash and sign in one transaction, and only an unsigned note: what is hashed is
        // exactly what becomes immutable.
        let tx = self.conn.transaction()?;
        let note = tx
            .query_row(
                &format!("SELECT {NOTE_COLUMNS} FROM notes WHERE id = ?1"),
                [note_id],
                note_from_row,
            )
            .optional()?
            .ok_or(StoreError::NotFound("note"))?;
        if note.signed_at.is_some() {
            return Err(StoreError::Immutable);
        }
        let hash = soap_hash(note_id, &user, now, &note.soap);
        let changed = tx.execute(
            "UPDATE notes SET signed_at = ?2, signed_by = ?3, content_hash = ?4 WHERE id = ?1 AND signed_at IS NULL",
            params![note_id, now, user, hash],
        )?;
        if changed != 1 {
            return Err(StoreError::Immutable);
        }
        audit::append(
            &tx,
            now,
            Some(&user),
            "note_signed",
            Some("note"),
            Some(note_id),
        )?;
        tx.commit()?;
        self.note(note_id)
    }

    /// Adds a signed addendum to a signed note.
    pub fn add_addendum(&mut self, note_id: &str, text: &str) -> Result<Addendum, StoreError> {
        if text.trim().is_empty() {
            return Err(StoreError::Invalid {
                field: "text",
                reason: "an addendum needs text",
            });
        }
        let note = self.note(note_id)?;
        if note.signed_at.is_none() {
            return Err(StoreError::Invalid {
                field: "note",
                reason: "edit the draft instead; addenda are for signed notes",
            });
        }
        let now = self.now();
        let id = random_id();
        let author = self.user.id.clone();
        let hash = content_hash(&[
            "outpost/v1/addendum",
            note_id,
            &id,
            &author,
            &now.to_string(),
            text,
        ]);
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO addenda (id, note_id, author, text, signed_at, content_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, note_id, author, text, now, hash],
        )?;
        audit::append(
            &tx,
            now,
            Some(&author),
            "addendum_signed",
            Some("note"),
            Some(note_id),
        )?;
        tx.commit()?;
        Ok(Addendum {
            id,
            author,
            text: text.to_owned(),
            signed_at: now,
            content_hash: hash,
        })
    }

    /// One note with its addenda (not audited separately: notes are read through charts, and
    /// writes already are).
    pub fn note(&self, note_id: &str) -> Result<Note, StoreError> {
        self.require_care_team()?;
        let mut note = self
            .conn
            .query_row(
                &format!("SELECT {NOTE_COLUMNS} FROM notes WHERE id = ?1"),
                [note_id],
                note_from_row,
            )
            .optional()?
            .ok_or(StoreError::NotFound("note"))?;
        note.addenda = self.addenda(note_id)?;
        Ok(note)
    }

    fn addenda(&self, note_id: &str) -> Result<Vec<Addendum>, StoreError> {
        let mut stmt =
            self.conn.prepare_cached("SELECT id, author, text, signed_at, content_hash FROM addenda WHERE note_id = ?1 ORDER BY signed_at, rowid")?;
        let rows = stmt.query_map([note_id], |r| {
            Ok(Addendum {
                id: r.get(0)?,
                author: r.get(1)?,
                text: r.get(2)?,
                signed_at: r.get(3)?,
                content_hash: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a vital sign, checked against its plausible range.
    pub fn add_vital(
        &mut self,
        patient_id: &str,
        encounter_id: Option<&str>,
        kind: VitalKind,
        value: f64,
        value2: Option<f64>,
    ) -> Result<Vital, StoreError> {
        self.require_patient(patient_id)?;
        let (lo, hi) = kind.plausible();
        let in_range = |v: f64| v.is_finite() && (lo..=hi).contains(&v);
        if !in_range(value) || value2.is_some_and(|v| !in_range(v)) {
            return Err(StoreError::Invalid {
                field: "value",
                reason: "outside the plausible range for this vital",
            });
        }
        if (kind == VitalKind::BloodPressure) != value2.is_some() {
            return Err(StoreError::Invalid {
                field: "value2",
                reason: "blood pressure needs systolic and diastolic; others one value",
            });
        }
        let vital = Vital {
            id: random_id(),
            patient_id: patient_id.to_owned(),
            encounter_id: encounter_id.map(str::to_owned),
            kind,
            value,
            value2,
            unit: kind.unit().to_owned(),
            observed_at: self.now(),
            recorded_by: self.user.id.clone(),
        };
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO vitals (id, patient_id, encounter_id, code, value, value2, unit, observed_at, recorded_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![vital.id, vital.patient_id, vital.encounter_id, kind.loinc(), value, value2, vital.unit, vital.observed_at, vital.recorded_by],
        )?;
        audit::append(
            &tx,
            vital.observed_at,
            Some(&vital.recorded_by),
            "vital_recorded",
            Some("patient"),
            Some(patient_id),
        )?;
        tx.commit()?;
        Ok(vital)
    }

    /// Clinical records on a clinic device are for the care team: a `patient` user (who will
    /// use the app for their own visits) may not read or write other people's charts.
    pub(crate) fn require_care_team(&self) -> Result<(), StoreError> {
        if self.user.role == Role::Patient {
            return Err(StoreError::Invalid {
                field: "role",
                reason: "patients cannot open clinic charts",
            });
        }
        Ok(())
    }

    pub(crate) fn require_patient(&self, patient_id: &str) -> Result<(), StoreError> {
        self.require_care_team()?;
        let found: Option<i64> = self
            .conn
            .query_row("SELECT 1 FROM patients WHERE id = ?1", [patient_id], |r| {
                r.get(0)
            })
            .optional()?;
        found.map(|_| ()).ok_or(StoreError::NotFound("patient"))
    }
}
