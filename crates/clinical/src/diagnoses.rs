//! Diagnosis codes for the problem list: a selection of ICD-10-CM shipped in the binary
//! (`data/diagnoses.tsv`, with its source and why that code set), searchable by code, title and
//! the words clinicians use ("htn", "diarrhoea").

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// One diagnosis code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Diagnosis {
    /// ICD-10-CM code (`I10`, `E11.9`).
    pub code: String,
    /// Its title.
    pub title: String,
    /// Other words it is found by, lowercase.
    pub keywords: Vec<String>,
}

const DIAGNOSES_TSV: &str = include_str!("../data/diagnoses.tsv");

/// Every diagnosis code shipped, in the file's order.
pub fn all() -> &'static [Diagnosis] {
    static ALL: OnceLock<Vec<Diagnosis>> = OnceLock::new();
    ALL.get_or_init(|| {
        DIAGNOSES_TSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let mut f = l.split('\t');
                Diagnosis {
                    code: f.next().unwrap_or_default().to_owned(),
                    title: f.next().unwrap_or_default().to_owned(),
                    keywords: f
                        .next()
                        .unwrap_or_default()
                        .split(',')
                        .map(str::trim)
                        .filter(|k| !k.is_empty())
                        .map(str::to_owned)
                        .collect(),
                }
            })
            .collect()
    })
}

/// The diagnosis with this code (case and surrounding spaces ignored).
pub fn by_code(code: &str) -> Option<&'static Diagnosis> {
    let code = code.trim();
    all().iter().find(|d| d.code.eq_ignore_ascii_case(code))
}

/// Diagnoses whose code starts with, or whose title or keywords contain, every word of
/// `query` (case ignored); at most `limit`, the exact code first, then exact words.
pub fn search(query: &str, limit: usize) -> Vec<&'static Diagnosis> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    if words.is_empty() {
        return Vec::new();
    }
    let matches = |d: &Diagnosis| {
        let title = d.title.to_lowercase();
        let code = d.code.to_lowercase();
        words.iter().all(|w| {
            code.starts_with(w.as_str())
                || title.contains(w.as_str())
                || d.keywords.iter().any(|k| k.contains(w.as_str()))
        })
    };
    let whole = words.join(" ");
    // The code itself first, then a diagnosis named exactly by the words typed, then the rest
    // (so "hiv" finds the status, Z21, before the disease, B20).
    let rank = |d: &Diagnosis| {
        if d.code.eq_ignore_ascii_case(&whole) {
            0
        } else if d.keywords.contains(&whole) {
            1
        } else {
            2
        }
    };
    let mut found: Vec<_> = all().iter().filter(|d| matches(d)).collect();
    found.sort_by_key(|d| rank(d));
    found.truncate(limit);
    found
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// An ICD-10-CM code: a letter, two characters, then optionally a dot and one to four more.
    fn well_formed(code: &str) -> bool {
        let (category, rest) = code.split_once('.').unwrap_or((code, ""));
        let c = category.as_bytes();
        c.len() == 3
            && c[0].is_ascii_uppercase()
            && c[1].is_ascii_digit()
            && c[2].is_ascii_alphanumeric()
            && rest.len() <= 4
            && rest.chars().all(|ch| ch.is_ascii_alphanumeric())
            && (rest.is_empty() != code.contains('.'))
    }

    #[test]
    fn the_code_list_is_well_formed() {
        let mut seen = HashSet::new();
        assert!(all().len() >= 50, "{}", all().len());
        for d in all() {
            assert!(well_formed(&d.code), "bad code {}", d.code);
            assert!(seen.insert(&d.code), "{} twice", d.code);
            assert!(!d.title.is_empty(), "{} has no title", d.code);
            for k in &d.keywords {
                assert_eq!(*k, k.to_lowercase(), "{}", d.code);
            }
        }
    }

    #[test]
    fn clinicians_find_codes_by_code_title_or_their_own_words() {
        assert_eq!(
            by_code(" i10 ").unwrap().title,
            "Essential (primary) hypertension"
        );
        let codes = |q| {
            search(q, 10)
                .iter()
                .map(|d| d.code.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(codes("htn"), ["I10"]);
        assert_eq!(codes("I10"), ["I10"]);
        assert_eq!(codes("diarrhoea"), ["A09", "A03.9"]);
        assert_eq!(codes("type 2 diabetes"), ["E11.9"]);
        assert_eq!(codes("malaria")[..2], ["B50.9", "B54"]);
        // Words that must not land on a permanent, graver diagnosis.
        assert_eq!(codes("fits"), ["R56.9"]);
        assert_eq!(codes("hiv")[0], "Z21");
        assert_eq!(codes("rash"), ["R21"]);
        assert_eq!(codes("common cold"), ["J00"]);
        assert_eq!(codes("kwashiorkor"), ["E40"]);
        assert!(codes("e11")[0] == "E11.9");
        assert!(codes("").is_empty());
        assert!(codes("no such illness").is_empty());
    }
}
