//! Visit templates, as data (`data/note_templates.json`): each fills the empty sections of a
//! SOAP note and names the vitals to record, in English and French. Adding a template is
//! editing that file; the tests check every template is whole in both languages.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The languages every template is written in.
pub const LANGUAGES: [&str; 2] = ["en", "fr"];

/// The vitals a template may name (the store's vital kinds, as they are written).
pub const VITALS: [&str; 9] = [
    "blood_pressure",
    "pulse",
    "temperature",
    "spo2",
    "respiratory_rate",
    "weight",
    "height",
    "glucose",
    "muac",
];

/// Text in each language, by language code.
pub type Text = BTreeMap<String, String>;

/// One visit template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Template {
    /// Stable id (`antenatal`, `sick_child`…).
    pub id: String,
    /// Its name, by language.
    pub title: Text,
    /// The guidance it follows.
    pub source: String,
    /// The vitals to record at this visit.
    pub vitals: Vec<String>,
    /// The SOAP sections' starting text, by section then language.
    pub sections: Sections,
}

/// A template's text for each SOAP section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Sections {
    /// Subjective.
    pub subjective: Text,
    /// Objective.
    pub objective: Text,
    /// Assessment.
    pub assessment: Text,
    /// Plan.
    pub plan: Text,
}

#[derive(Deserialize)]
struct File {
    templates: Vec<Template>,
}

/// Every template, in the file's order.
pub fn all() -> &'static [Template] {
    static T: OnceLock<Vec<Template>> = OnceLock::new();
    T.get_or_init(|| {
        // Shipped with the build and checked by the tests below: unreadable is a build fault.
        serde_json::from_str::<File>(include_str!("../data/note_templates.json"))
            .expect("note_templates.json is valid")
            .templates
    })
}

/// The template with this id.
pub fn find(id: &str) -> Option<&'static Template> {
    all().iter().find(|t| t.id == id)
}

impl Template {
    /// A section's text in every language (`subjective`, `objective`, `assessment`, `plan`).
    pub fn texts(&self, section: &str) -> Option<&Text> {
        match section {
            "subjective" => Some(&self.sections.subjective),
            "objective" => Some(&self.sections.objective),
            "assessment" => Some(&self.sections.assessment),
            "plan" => Some(&self.sections.plan),
            _ => None,
        }
    }

    /// A section's text in `language`, else English.
    pub fn section(&self, section: &str, language: &str) -> Option<&str> {
        let text = self.texts(section)?;
        text.get(language)
            .or_else(|| text.get("en"))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_is_whole_in_every_language() {
        let templates = all();
        let ids: Vec<&str> = templates.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["antenatal", "sick_child", "hypertension", "diabetes"]);
        for t in templates {
            for language in LANGUAGES {
                assert!(
                    t.title.get(language).is_some_and(|s| !s.trim().is_empty()),
                    "{}: no {language} title",
                    t.id
                );
                for section in ["subjective", "objective", "assessment", "plan"] {
                    let own = t.texts(section).and_then(|texts| texts.get(language));
                    assert!(
                        own.is_some_and(|text| !text.trim().is_empty()),
                        "{}: {section} has no {language} text",
                        t.id
                    );
                }
            }
            assert!(!t.source.trim().is_empty(), "{}: no source", t.id);
            assert!(!t.vitals.is_empty(), "{}: no vitals", t.id);
            for v in &t.vitals {
                assert!(VITALS.contains(&v.as_str()), "{}: unknown vital {v}", t.id);
            }
        }
    }

    #[test]
    fn a_sick_child_visit_asks_the_imci_danger_signs_and_measures_breathing_and_muac() {
        let t = find("sick_child").unwrap();
        let subjective = t.section("subjective", "en").unwrap();
        for sign in [
            "not able to drink or breastfeed",
            "vomits everything",
            "convulsions",
        ] {
            assert!(subjective.contains(sign), "{sign}");
        }
        assert!(
            t.section("objective", "en")
                .unwrap()
                .contains("Lethargic or unconscious")
        );
        assert!(t.vitals.iter().any(|v| v == "respiratory_rate"));
        assert!(t.vitals.iter().any(|v| v == "muac"));
        // A language with no text of its own reads English.
        assert_eq!(t.section("plan", "sw"), t.section("plan", "en"));
        assert!(find("nope").is_none());
    }
}
