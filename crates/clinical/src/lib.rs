//! Outpost's clinical knowledge, as data shipped with the app and pure functions over it.
//!
//! # Layout
//!
//! - [`drugs`]: the drug catalogue (a selection of the WHO Model List of Essential Medicines with
//!   ATC codes, in `data/essential_medicines.tsv`) and the drug groups allergy checking compares
//!   (`data/allergy_groups.tsv`).
//! - [`allergy`]: what an allergy is to ([`allergy::Substance`]), and whether a drug conflicts
//!   with a patient's allergies ([`allergy::check`]).
//! - [`diagnoses`]: diagnosis codes for the problem list (a selection of ICD-10-CM, public
//!   domain; `data/diagnoses.tsv`).
//! - [`vitals`]: flags on vital signs by age, each naming the range it used, and BMI.
//! - [`growth`]: weight-for-age, length/height-for-age and weight-for-length/height z-scores
//!   for children under five (WHO Child Growth Standards, `data/who-growth-*.tsv`).
//! - [`templates`]: visit templates as data (`data/note_templates.json`): the starting text of
//!   a SOAP note and the vitals to record, in English and French.
//! - [`age`]: a patient's age as clinicians write it ("2 y 3 m", "10 d"), from dates.
//!
//! Nothing here reads a file, a clock or a database: the store and the core pass dates and
//! records in, so every rule is a table test away.

pub mod age;
pub mod allergy;
pub mod diagnoses;
pub mod drugs;
pub mod growth;
pub mod templates;
pub mod vitals;
