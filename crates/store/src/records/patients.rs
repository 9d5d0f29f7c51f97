//! Patients: registration, search, and the audited chart read.

use outpost_proto::{
    AuditAction, PatientField, PatientId, Payload, RecordId, UserId, payload::PatientRegistered,
};
use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use super::{
    Chart,
    encounters::{ENCOUNTER_COLUMNS, encounter_from_row},
    id_col,
    vitals::{VITAL_COLUMNS, vital_from_row},
};
use crate::{Store, StoreError};

/// A patient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Patient {
    /// Stable id.
    pub id: PatientId,
    /// Given name(s).
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Birth date, `YYYY-MM-DD`.
    pub birth_date: String,
    /// Administrative sex as recorded (`female`, `male`, `other`, `unknown`).
    pub sex: Option<String>,
    /// The clinic's own patient number.
    pub clinic_id: Option<String>,
    /// Phone, address or other contact, free text.
    pub contact: Option<String>,
    /// A national identity number (or another identity card the clinic records).
    pub national_id: Option<String>,
    /// A child's parent or guardian: name, and how they are related.
    pub guardian: Option<String>,
    /// The birth date was estimated from an age ("about 40"): the age is approximate.
    pub birth_date_estimated: bool,
    /// When the record was created (UTC ms).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub created_at: i64,
    /// Who registered the patient.
    pub created_by: UserId,
    /// Registered before operations were signed (attribution unverified).
    pub legacy: bool,
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
    /// A national identity number.
    #[serde(default)]
    pub national_id: Option<String>,
    /// A child's parent or guardian.
    #[serde(default)]
    pub guardian: Option<String>,
    /// When the birth date is not known: the age in years the patient or family gives. The
    /// birth date is then today's date that many years ago, marked estimated, and
    /// `birth_date` is not read.
    #[serde(default)]
    pub estimated_age_years: Option<u32>,
}

/// The administrative sex values accepted.
pub const SEX_VALUES: [&str; 4] = ["female", "male", "other", "unknown"];

/// Patients in one page of search results unless asked otherwise.
pub const SEARCH_PAGE: u32 = 50;
/// The most patients one page returns.
pub const SEARCH_PAGE_MAX: u32 = 500;

/// One page of patient search results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PatientPage {
    /// The patients on this page, in order.
    pub patients: Vec<Patient>,
    /// Whether more patients match after this page.
    pub more: bool,
}

pub(crate) const PATIENT_COLUMNS: &str = "id, given_name, family_name, birth_date, sex, clinic_id, contact, created_at, created_by, legacy, national_id, guardian, birth_date_estimated";

pub(crate) fn patient_from_row(r: &Row<'_>) -> rusqlite::Result<Patient> {
    Ok(Patient {
        id: id_col(r, 0)?,
        given_name: r.get(1)?,
        family_name: r.get(2)?,
        birth_date: r.get(3)?,
        sex: r.get(4)?,
        clinic_id: r.get(5)?,
        contact: r.get(6)?,
        created_at: r.get(7)?,
        created_by: id_col(r, 8)?,
        legacy: r.get(9)?,
        national_id: r.get(10)?,
        guardian: r.get(11)?,
        // Read tolerantly: a value other than 1 is not an estimate, and never an unreadable row.
        birth_date_estimated: match r.get_ref(12)? {
            rusqlite::types::ValueRef::Integer(v) => v == 1,
            rusqlite::types::ValueRef::Text(t) => t == b"1",
            _ => false,
        },
    })
}

/// A real calendar date `YYYY-MM-DD` between 1850 and 2200 (2023-02-31 is refused).
pub fn valid_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return false;
    }
    let number = |range: std::ops::Range<usize>| {
        text.get(range)
            .filter(|part| part.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|part| part.parse::<u32>().ok())
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1850..=2200).contains(&year) && (1..=days).contains(&day)
}

/// Checks a new value of one demographic field.
pub(crate) fn check_field(
    field: outpost_proto::PatientField,
    value: &str,
) -> Result<(), StoreError> {
    use outpost_proto::PatientField as F;
    let value = value.trim();
    match field {
        F::BirthDate if !valid_date(value) => Err(StoreError::Invalid {
            field: "birth_date",
            reason: "use a real date, YYYY-MM-DD",
        }),
        F::Sex if !value.is_empty() && !SEX_VALUES.contains(&value) => Err(StoreError::Invalid {
            field: "sex",
            reason: "one of female, male, other, unknown",
        }),
        F::BirthDateEstimated if !value.is_empty() && value != "1" => Err(StoreError::Invalid {
            field: "birth_date_estimated",
            reason: "1 when the birth date was estimated, empty when it is known",
        }),
        F::GivenName | F::FamilyName if value.is_empty() => Err(StoreError::Invalid {
            field: "name",
            reason: "a name cannot be emptied",
        }),
        _ if value.chars().count() > 500 => Err(StoreError::Invalid {
            field: "value",
            reason: "at most 500 characters",
        }),
        _ => Ok(()),
    }
}

fn non_empty(v: Option<&String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl Store {
    /// Charts that may be the same person as `p`, for a warning before registering: the same
    /// family name born the same year or with the same given name; the same given name and
    /// birth date (a name changed at marriage); the same clinic number; or the same phone
    /// number, however it is written (its last nine digits). At most ten, the likeliest (same
    /// birth date) first; nothing is merged or refused.
    pub fn similar_patients(&self, p: &NewPatient) -> Result<Vec<Patient>, StoreError> {
        self.require_care_team("searching patients")?;
        let year = p.birth_date.get(..4).unwrap_or_default();
        let given = p.given_name.trim();
        let family = p.family_name.trim();
        let clinic = p
            .clinic_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let phone = p.contact.as_deref().and_then(phone_key);
        let national_id = p
            .national_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        // Digits only, as a phone number is compared.
        let digits = "replace(replace(replace(replace(replace(replace(contact, ' ', ''), '-', ''), '+', ''), '(', ''), ')', ''), '.', '')";
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {PATIENT_COLUMNS} FROM patients
             WHERE (?1 <> '' AND lower(family_name) = lower(?1)
                    AND (substr(birth_date, 1, 4) = ?2 OR lower(given_name) = lower(?3)))
                OR (?3 <> '' AND lower(given_name) = lower(?3) AND birth_date = ?6)
                OR (?4 IS NOT NULL AND clinic_id = ?4)
                OR (?5 IS NOT NULL AND length({digits}) >= 9 AND substr({digits}, -9) = ?5)
                OR (?7 IS NOT NULL AND national_id = ?7)
             ORDER BY (?7 IS NOT NULL AND national_id = ?7) DESC, birth_date = ?6 DESC, family_name, given_name, id LIMIT 10"
        ))?;
        let rows = stmt.query_map(
            rusqlite::params![
                family,
                year,
                given,
                clinic,
                phone,
                p.birth_date.trim(),
                national_id
            ],
            patient_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Registers a patient. The clinic number must be unused on this device.
    pub fn add_patient(&mut self, p: &NewPatient) -> Result<Patient, StoreError> {
        if p.given_name.trim().is_empty() && p.family_name.trim().is_empty() {
            return Err(StoreError::Invalid {
                field: "name",
                reason: "a given or family name is required",
            });
        }
        let birth_date = match p.estimated_age_years {
            Some(years) => estimated_birth_date(years, self.now())?,
            None if valid_date(&p.birth_date) => p.birth_date.clone(),
            None => {
                return Err(StoreError::Invalid {
                    field: "birth_date",
                    reason: "use a real date, YYYY-MM-DD",
                });
            }
        };
        let extra = extra_fields(p)?;
        let sex = non_empty(p.sex.as_ref());
        if sex.as_deref().is_some_and(|s| !SEX_VALUES.contains(&s)) {
            return Err(StoreError::Invalid {
                field: "sex",
                reason: "one of female, male, other, unknown",
            });
        }
        let id = PatientId::random(&mut rand_core::OsRng);
        let payload = PatientRegistered {
            given_name: p.given_name.trim().to_owned(),
            family_name: p.family_name.trim().to_owned(),
            birth_date,
            sex,
            clinic_id: non_empty(p.clinic_id.as_ref()),
            contact: non_empty(p.contact.as_ref()),
        };
        let op = self.write_with(|tx, author| {
            if let Some(clinic_id) = &payload.clinic_id
                && number_taken(tx, "clinic_id", clinic_id)?
            {
                return Err(StoreError::Invalid {
                    field: "clinic_id",
                    reason: "another patient has this clinic number",
                });
            }
            if let Some((_, national_id)) =
                extra.iter().find(|(f, _)| *f == PatientField::NationalId)
                && number_taken(tx, "national_id", national_id)?
            {
                return Err(StoreError::Invalid {
                    field: "national_id",
                    reason: "another patient has this identity number: open their chart",
                });
            }
            let registered = crate::oplog::append(
                tx,
                author,
                RecordId::from(id),
                &Payload::PatientRegistered(payload.clone()),
            )?;
            for (field, value) in &extra {
                crate::oplog::append(
                    tx,
                    author,
                    RecordId::from(id),
                    &Payload::PatientFieldSet(outpost_proto::payload::PatientFieldSet {
                        field: *field,
                        value: Some(value.clone()),
                        replaces: Vec::new(),
                    }),
                )?;
            }
            Ok(registered)
        })?;
        let field = |f: PatientField| extra.iter().find(|(x, _)| *x == f).map(|(_, v)| v.clone());
        Ok(Patient {
            id,
            given_name: payload.given_name,
            family_name: payload.family_name,
            birth_date: payload.birth_date,
            sex: payload.sex,
            clinic_id: payload.clinic_id,
            contact: payload.contact,
            national_id: field(PatientField::NationalId),
            guardian: field(PatientField::Guardian),
            birth_date_estimated: p.estimated_age_years.is_some(),
            created_at: i64::try_from(op.header().hlc.wall_ms).unwrap_or(i64::MAX),
            created_by: self.user.id,
            legacy: false,
        })
    }

    /// The first page of [`Store::find_patients`] ([`SEARCH_PAGE`] patients).
    pub fn search_patients(&self, query: &str) -> Result<Vec<Patient>, StoreError> {
        Ok(self.find_patients(query, 0, SEARCH_PAGE)?.patients)
    }

    /// Patients matching every word of `query` (all when empty), by family then given name,
    /// `limit` (1 to [`SEARCH_PAGE_MAX`]) from `offset`. A word matches when it is contained
    /// in the name, the clinic number, the phone or the identity number, ignoring case and
    /// accents; a year (four digits) also matches the birth year. Words of three letters or
    /// more go through the full-text index (`migrations/006_patient_search.sql`).
    /// Not audited per keystroke; opening a chart is.
    pub fn find_patients(
        &self,
        query: &str,
        offset: u32,
        limit: u32,
    ) -> Result<PatientPage, StoreError> {
        use std::fmt::Write as _;
        self.require_care_team("searching patients")?;
        let limit = limit.clamp(1, SEARCH_PAGE_MAX);
        let (mut indexed, mut scanned) = (Vec::new(), Vec::new());
        let mut years = Vec::new();
        for word in query.split_whitespace().take(8) {
            // Four digits that could be a birth year find the patients born that year, as well
            // as any whose numbers contain them.
            if word.len() == 4
                && word.bytes().all(|b| b.is_ascii_digit())
                && ("1850".."2201").contains(&word)
            {
                years.push(word.to_owned());
            } else if word.chars().count() >= 3 {
                // One FTS5 phrase per word: quotes inside are doubled, so nothing typed is
                // read as query syntax.
                indexed.push(format!("\"{}\"", word.replace('"', "\"\"")));
            } else {
                scanned.push(format!(
                    "%{}%",
                    word.replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                ));
            }
        }
        let mut sql = format!("SELECT {PATIENT_COLUMNS} FROM patients WHERE 1");
        let mut params: Vec<String> = Vec::new();
        if !indexed.is_empty() {
            params.push(indexed.join(" AND "));
            let _ = write!(
                sql,
                " AND rowid IN (SELECT rowid FROM patient_search WHERE patient_search MATCH ?{})",
                params.len()
            );
        }
        for year in years {
            params.push(year.clone());
            params.push(format!("\"{year}\""));
            let _ = write!(
                sql,
                " AND (substr(birth_date, 1, 4) = ?{} OR rowid IN (SELECT rowid FROM patient_search WHERE patient_search MATCH ?{}))",
                params.len() - 1,
                params.len()
            );
        }
        for pattern in scanned {
            params.push(pattern);
            let _ = write!(
                sql,
                " AND (given_name || ' ' || family_name || ' ' || coalesce(clinic_id, '') || ' ' || coalesce(contact, '') || ' ' || coalesce(national_id, '')) LIKE ?{} ESCAPE '\\'",
                params.len()
            );
        }
        let _ = write!(
            sql,
            " ORDER BY family_name COLLATE NOCASE, given_name COLLATE NOCASE, id LIMIT {} OFFSET {offset}",
            u64::from(limit) + 1
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut patients = stmt
            .query_map(rusqlite::params_from_iter(params), patient_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        let more = patients.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        patients.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(PatientPage { patients, more })
    }

    fn patient_row(&self, id: PatientId) -> Result<Patient, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {PATIENT_COLUMNS} FROM patients WHERE id = ?1"),
                [id.to_hex()],
                patient_from_row,
            )
            .optional()?
            .ok_or(StoreError::NotFound("patient"))
    }

    /// One patient (audited as a chart read).
    pub fn patient(&mut self, id: PatientId) -> Result<Patient, StoreError> {
        self.require_care_team("opening a chart")?;
        let p = self.patient_row(id)?;
        self.audit_event(AuditAction::ChartRead, Some(RecordId::from(id)), Some(id))?;
        Ok(p)
    }

    /// The whole chart of a patient in one read (audited), with every note's signature
    /// verified.
    pub fn chart(&mut self, patient_id: PatientId) -> Result<Chart, StoreError> {
        let patient = self.patient(patient_id)?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ENCOUNTER_COLUMNS} FROM encounters WHERE patient_id = ?1 ORDER BY started_at DESC"
        ))?;
        let mut rows = stmt.query([patient_id.to_hex()])?;
        let mut encounters = Vec::new();
        while let Some(r) = rows.next()? {
            encounters.push(encounter_from_row(r)?);
        }
        drop(rows);
        drop(stmt);
        let notes = self.notes_of(patient_id)?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {VITAL_COLUMNS} FROM vitals WHERE patient_id = ?1 ORDER BY observed_at, id"
        ))?;
        let mut rows = stmt.query([patient_id.to_hex()])?;
        let mut vitals = Vec::new();
        while let Some(r) = rows.next()? {
            vitals.push(vital_from_row(r)?);
        }
        drop(rows);
        drop(stmt);
        let attachments = self.attachment_list(patient_id)?;
        let today = outpost_clinical::age::Date::from_unix_ms(self.now());
        let age = outpost_clinical::age::Date::parse(&patient.birth_date)
            .and_then(|birth| outpost_clinical::age::age(birth, today));
        // Each reading flagged against the range for the patient's age at the time; one
        // entered in error is not.
        for v in vitals.iter_mut().filter(|v| v.entered_in_error.is_none()) {
            v.flag = outpost_clinical::vitals::flag_for(
                v.kind.loinc(),
                v.value,
                v.value2,
                age_at(&patient.birth_date, v.observed_at).as_ref(),
            );
        }
        // Readings entered in error count nowhere.
        let valid: Vec<super::Vital> = vitals
            .iter()
            .filter(|v| v.entered_in_error.is_none())
            .cloned()
            .collect();
        let bmi = latest_bmi(&valid, &patient.birth_date);
        let mut growth = growth_points(&valid, &patient.birth_date, patient.sex.as_deref());
        if patient.birth_date_estimated {
            // An age guessed to the year says nothing of a child's weight or length for age:
            // only weight-for-length/height, which does not depend on it, is kept.
            for g in &mut growth {
                g.growth.weight_for_age = None;
                g.growth.length_for_age = None;
            }
        }
        let growth_curves = growth_curves(&growth, patient.sex.as_deref());
        Ok(Chart {
            growth,
            growth_curves,
            age,
            bmi,
            allergy_status: self.allergy_status(patient_id)?,
            allergies: self.allergies_of(patient_id)?,
            medications: self.medications_of(patient_id)?,
            problems: self.problems_of(patient_id)?,
            patient,
            encounters,
            notes,
            vitals,
            attachments,
        })
    }

    /// Clinical records are for the care team (and the emergency user, read-only): a patient
    /// profile's user has none.
    pub(crate) fn require_care_team(&self, action: &'static str) -> Result<(), StoreError> {
        if matches!(self.user.role, outpost_proto::Role::Patient) {
            return Err(StoreError::NotPermitted {
                action,
                needs: "a care-team user of a clinic profile",
                role: self.user.role,
            });
        }
        Ok(())
    }
}

/// The calendar age on the date of `at_ms` of someone born on `birth_date`, when both are
/// dates and in order.
pub(crate) fn age_at(birth_date: &str, at_ms: i64) -> Option<outpost_clinical::age::Age> {
    use outpost_clinical::age::{Date, age};
    let birth = Date::parse(birth_date)?;
    age(birth, Date::from_unix_ms(at_ms))
}

/// BMI from the latest weight and a height measured within a year of it, for adults only (a
/// child's BMI means nothing without its age centiles, and a stale height misleads).
fn latest_bmi(vitals: &[super::Vital], birth_date: &str) -> Option<f64> {
    let latest = |kind| {
        vitals
            .iter()
            .filter(|v| v.kind == kind)
            .max_by_key(|v| v.observed_at)
    };
    let weight = latest(super::VitalKind::Weight)?;
    let height = latest(super::VitalKind::Height)?;
    if age_at(birth_date, weight.observed_at)?.years < 18
        || (weight.observed_at - height.observed_at).abs() > 366 * 86_400_000
    {
        return None;
    }
    outpost_clinical::vitals::bmi(weight.value, height.value)
}

/// The lines to draw a child's growth points on, when there are any.
fn growth_curves(points: &[super::GrowthPoint], sex: Option<&str>) -> Option<super::GrowthCurves> {
    use outpost_clinical::growth::{Indicator, curve};
    if points.is_empty() {
        return None;
    }
    let sex = growth_sex(sex)?;
    Some(super::GrowthCurves {
        weight_for_age: curve(sex, Indicator::WeightForAge),
        length_for_age: curve(sex, Indicator::LengthForAge),
    })
}

/// The standards are given by sex: none is drawn for "other" or "unknown".
fn growth_sex(sex: Option<&str>) -> Option<outpost_clinical::growth::Sex> {
    match sex {
        Some("female") => Some(outpost_clinical::growth::Sex::Girl),
        Some("male") => Some(outpost_clinical::growth::Sex::Boy),
        _ => None,
    }
}

/// The WHO growth z-scores of a child under five on each day a weight or a length was
/// measured (the day's last of each). The way a length was taken is not recorded, so it is read
/// as the standard for the age (lying below two years); oedema is not recorded either.
fn growth_points(
    vitals: &[super::Vital],
    birth_date: &str,
    sex: Option<&str>,
) -> Vec<super::GrowthPoint> {
    use outpost_clinical::growth::{Measured, z_scores};
    let Some(sex) = growth_sex(sex) else {
        return Vec::new();
    };
    let Some(birth) = outpost_clinical::age::Date::parse(birth_date) else {
        return Vec::new();
    };
    let day_of = |ms: i64| ms.div_euclid(86_400_000);
    // Vitals come oldest first, so the day's last reading of a kind overwrites earlier ones.
    let mut days: std::collections::BTreeMap<i64, (Option<&super::Vital>, Option<&super::Vital>)> =
        std::collections::BTreeMap::new();
    for v in vitals {
        let entry = days.entry(day_of(v.observed_at)).or_default();
        match v.kind {
            super::VitalKind::Weight => entry.0 = Some(v),
            super::VitalKind::Height => entry.1 = Some(v),
            _ => {}
        }
    }
    days.into_values()
        .filter_map(|(weight, length)| {
            let observed_at = weight
                .iter()
                .chain(length.iter())
                .map(|v| v.observed_at)
                .max()?;
            let age = outpost_clinical::age::age(
                birth,
                outpost_clinical::age::Date::from_unix_ms(observed_at),
            )?;
            let growth = z_scores(
                sex,
                age.days,
                weight.map(|v| v.value),
                length.map(|v| v.value),
                Measured::Unknown,
                false,
            )?;
            Some(super::GrowthPoint {
                observed_at,
                age_days: age.days,
                age,
                weight_kg: weight.map(|v| v.value),
                length_cm: length.map(|v| v.value),
                growth,
            })
        })
        .collect()
}

/// The demographic fields a registration sets after the `PatientRegistered` operation, in the
/// same transaction: each is its own field, edited and merged like the contact.
fn extra_fields(p: &NewPatient) -> Result<Vec<(PatientField, String)>, StoreError> {
    let mut extra = Vec::new();
    for (field, value) in [
        (PatientField::NationalId, non_empty(p.national_id.as_ref())),
        (PatientField::Guardian, non_empty(p.guardian.as_ref())),
        (
            PatientField::BirthDateEstimated,
            p.estimated_age_years.map(|_| "1".to_owned()),
        ),
    ] {
        if let Some(value) = value {
            check_field(field, &value)?;
            extra.push((field, value));
        }
    }
    Ok(extra)
}

/// Whether a patient already has `value` as their `column` (a clinic or identity number).
fn number_taken(
    conn: &rusqlite::Connection,
    column: &'static str,
    value: &str,
) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        &format!("SELECT EXISTS (SELECT 1 FROM patients WHERE {column} = ?1)"),
        [value],
        |r| r.get(0),
    )?)
}

/// The birth date of someone `years` old today (Unix ms), when only the age is known: the same
/// day and month that many years ago (29 February becomes the 28th).
fn estimated_birth_date(years: u32, now_ms: i64) -> Result<String, StoreError> {
    if years > 120 {
        return Err(StoreError::Invalid {
            field: "estimated_age",
            reason: "an age in years, 0 to 120",
        });
    }
    let today = outpost_clinical::age::Date::from_unix_ms(now_ms);
    let year = today.year - i32::try_from(years).unwrap_or(0);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let day = if today.month == 2 && today.day == 29 && !leap {
        28
    } else {
        today.day
    };
    Ok(format!("{year:04}-{:02}-{day:02}", today.month))
}

/// The last nine digits of a contact that is a phone number (digits and the usual separators
/// only, at least nine digits); `None` for an address or a village.
fn phone_key(contact: &str) -> Option<String> {
    let contact = contact.trim();
    if !contact
        .chars()
        .all(|c| c.is_ascii_digit() || " -+().".contains(c))
    {
        return None;
    }
    let digits: Vec<char> = contact.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 9).then(|| digits[digits.len() - 9..].iter().collect())
}
