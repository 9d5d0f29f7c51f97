//! The drug catalogue and the drug groups, parsed once from the data files shipped in the
//! binary. The files are checked by this module's tests (codes well formed and unique, every
//! group's members and cross-reactions known), so a bad edit fails `make test`, not a clinic.

use std::sync::OnceLock;

use serde::Serialize;

/// One medicine of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Drug {
    /// ATC code (e.g. `J01CA04`; a group code such as `A07CA` for a mixture).
    pub atc: String,
    /// International non-proprietary name, lowercase as on the WHO list.
    pub name: String,
    /// Forms and strengths, as listed.
    pub forms: Vec<String>,
    /// Other names a prescriber may type (lowercase): `co-trimoxazole`, `aspirin`.
    pub synonyms: Vec<String>,
}

/// A group of drugs that allergy checking treats as one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DrugGroup {
    /// Stable id (`penicillins`), stored with allergies recorded against the group.
    pub id: String,
    /// What people read ("sulfonamide antibacterials").
    pub name: String,
    /// ATC codes or prefixes of the members.
    pub members: Vec<String>,
    /// Names a person may type for the group, lowercase.
    pub aliases: Vec<String>,
    /// Ids of the groups it cross-reacts with.
    pub cross_reacts: Vec<String>,
}

impl DrugGroup {
    /// True when the drug with ATC code `atc` is a member.
    pub fn contains(&self, atc: &str) -> bool {
        self.members.iter().any(|m| atc.starts_with(m.as_str()))
    }
}

const DRUGS_TSV: &str = include_str!("../data/essential_medicines.tsv");
const GROUPS_TSV: &str = include_str!("../data/allergy_groups.tsv");

/// The lines of a data file that hold data (no comments, no blank lines), split at tabs.
fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
}

fn list(field: &str, sep: char) -> Vec<String> {
    field
        .split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Every drug of the catalogue, in the file's order.
pub fn catalogue() -> &'static [Drug] {
    static DRUGS: OnceLock<Vec<Drug>> = OnceLock::new();
    DRUGS.get_or_init(|| {
        rows(DRUGS_TSV)
            .map(|r| Drug {
                atc: r[0].to_owned(),
                name: r[1].to_owned(),
                forms: list(r.get(2).copied().unwrap_or_default(), ';'),
                synonyms: list(r.get(3).copied().unwrap_or_default(), ','),
            })
            .collect()
    })
}

/// Every drug group allergy checking knows.
pub fn groups() -> &'static [DrugGroup] {
    static GROUPS: OnceLock<Vec<DrugGroup>> = OnceLock::new();
    GROUPS.get_or_init(|| {
        rows(GROUPS_TSV)
            .map(|r| DrugGroup {
                id: r[0].to_owned(),
                name: r[1].to_owned(),
                members: list(r[2], ','),
                aliases: list(r[3], ','),
                cross_reacts: list(r.get(4).copied().unwrap_or_default(), ','),
            })
            .collect()
    })
}

/// The drug with this ATC code.
pub fn by_atc(atc: &str) -> Option<&'static Drug> {
    let atc = atc.trim();
    catalogue().iter().find(|d| d.atc.eq_ignore_ascii_case(atc))
}

/// Units a strength is written in, dropped from the end of a typed name after a number ("500
/// mg"; but "penicillin g" keeps its letter).
const UNITS: &[&str] = &[
    "mg",
    "g",
    "mcg",
    "µg",
    "micrograms",
    "ml",
    "iu",
    "units",
    "%",
];
/// Forms, dropped from the end of a typed name ("amoxicillin capsules").
const FORMS: &[&str] = &[
    "tab", "tabs", "tablet", "tablets", "caps", "capsule", "capsules",
];

/// The form of a name that matching compares: lowercase; `+ / , ; - . ( )` and runs of spaces
/// become one space; a trailing strength or form ("500 mg", "500mg", "tablets") is dropped. So
/// "Co-Trimoxazole 480mg" and "co trimoxazole" are the same name.
pub fn normalize(text: &str) -> String {
    let spaced: String = text
        .to_lowercase()
        .chars()
        .map(|c| if "+/,;-.()".contains(c) { ' ' } else { c })
        .collect();
    let mut words: Vec<&str> = spaced.split_whitespace().collect();
    let number = |w: &str| w.starts_with(|c: char| c.is_ascii_digit());
    while let Some(&last) = words.last() {
        let after_number = words.len() >= 2 && number(words[words.len() - 2]);
        if number(last) || FORMS.contains(&last) || (UNITS.contains(&last) && after_number) {
            words.pop();
        } else {
            break;
        }
    }
    words.join(" ")
}

/// The drug named (by its INN or another name, compared [`normalize`]d) or coded `text`.
pub fn find(text: &str) -> Option<&'static Drug> {
    by_atc(text).or_else(|| {
        let wanted = normalize(text);
        if wanted.is_empty() {
            return None;
        }
        catalogue().iter().find(|d| {
            normalize(&d.name) == wanted || d.synonyms.iter().any(|s| normalize(s) == wanted)
        })
    })
}

/// Drugs whose name or code contains `query` (case ignored), for a picker; at most `limit`.
pub fn search(query: &str, limit: usize) -> Vec<&'static Drug> {
    let q = query.trim().to_lowercase();
    catalogue()
        .iter()
        .filter(|d| {
            d.name.contains(&q)
                || d.atc.to_lowercase().starts_with(&q)
                || d.synonyms.iter().any(|s| s.starts_with(&q))
        })
        .take(limit)
        .collect()
}

/// The group with this id.
pub fn group(id: &str) -> Option<&'static DrugGroup> {
    groups().iter().find(|g| g.id == id)
}

/// The groups the drug with ATC code `atc` belongs to.
pub fn groups_of(atc: &str) -> Vec<&'static DrugGroup> {
    groups().iter().filter(|g| g.contains(atc)).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// An ATC code of level 4 (`A07CA`) or 5 (`J01CA04`).
    fn well_formed(atc: &str) -> bool {
        let b = atc.as_bytes();
        let shape = |i: usize, c: u8| match i {
            0 | 3 | 4 => c.is_ascii_uppercase(),
            _ => c.is_ascii_digit(),
        };
        (b.len() == 5 || b.len() == 7) && b.iter().enumerate().all(|(i, &c)| shape(i, c))
    }

    #[test]
    fn the_catalogue_is_well_formed() {
        let drugs = catalogue();
        assert!(drugs.len() >= 80, "{} drugs", drugs.len());
        let mut codes = HashSet::new();
        let mut names = HashSet::new();
        for d in drugs {
            for s in &d.synonyms {
                assert_eq!(*s, s.to_lowercase());
                assert!(names.insert(s), "{s} names two drugs");
            }
            assert!(well_formed(&d.atc), "{}: bad ATC code {}", d.name, d.atc);
            assert!(codes.insert(&d.atc), "{} twice", d.atc);
            assert!(names.insert(&d.name), "{} twice", d.name);
            assert_eq!(d.name, d.name.to_lowercase(), "{}", d.name);
            assert!(!d.forms.is_empty(), "{} has no form", d.name);
        }
    }

    #[test]
    fn the_groups_are_well_formed_and_name_only_known_groups() {
        let ids: HashSet<_> = groups().iter().map(|g| g.id.as_str()).collect();
        let mut aliases = HashSet::new();
        for g in groups() {
            assert!(!g.members.is_empty(), "{}", g.id);
            for m in &g.members {
                assert!(
                    m.len() >= 3 && m.chars().all(|c| c.is_ascii_alphanumeric()),
                    "{m}"
                );
            }
            for a in &g.aliases {
                assert_eq!(*a, a.to_lowercase());
                assert!(aliases.insert(a), "alias {a} in two groups");
                assert!(find(a).is_none(), "alias {a} is also a drug's name");
            }
            for c in &g.cross_reacts {
                assert!(ids.contains(c.as_str()), "{}: unknown group {c}", g.id);
                assert!(
                    group(c).unwrap().cross_reacts.contains(&g.id),
                    "{} and {c}: cross-reaction goes both ways",
                    g.id
                );
            }
        }
    }

    #[test]
    fn drugs_are_found_by_name_or_code_and_belong_to_their_groups() {
        assert_eq!(find(" Amoxicillin ").unwrap().atc, "J01CA04");
        assert_eq!(
            find("j01ee01").unwrap().name,
            "sulfamethoxazole + trimethoprim"
        );
        assert!(find("amoxicilin").is_none(), "no guessing at misspellings");
        // Typed as people type: spacing, punctuation, strengths, older and brand names.
        for typed in [
            "co trimoxazole",
            "Co-Trimoxazole 480mg",
            "sulphamethoxazole/trimethoprim",
            "Septra",
        ] {
            assert_eq!(
                find(typed).map(|d| d.atc.as_str()),
                Some("J01EE01"),
                "{typed}"
            );
        }
        assert_eq!(find("Amoxicillin 500 mg capsules").unwrap().atc, "J01CA04");
        assert_eq!(
            find("amoxicillin  +  clavulanic acid").unwrap().atc,
            "J01CR02"
        );
        assert_eq!(find("Keflex").unwrap().name, "cefalexin");
        assert_eq!(normalize(" Amoxicillin (500 mg) "), "amoxicillin");
        assert_eq!(normalize("Penicillin G"), "penicillin g");
        assert_eq!(normalize("amoxicillin capsules"), "amoxicillin");
        let ids = |atc| {
            groups_of(atc)
                .iter()
                .map(|g| g.id.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids("J01CA04"), ["penicillins"]);
        assert_eq!(ids("J01DD04"), ["cephalosporins"]);
        assert_eq!(ids("J01EE01"), ["sulfonamides", "trimethoprim"]);
        assert_eq!(ids("P01BD51"), ["sulfonamides"]);
        assert_eq!(
            ids("J01EA01"),
            ["trimethoprim"],
            "trimethoprim alone is no sulfonamide"
        );
        assert!(
            ids("C03CA01").is_empty(),
            "furosemide is not checked as a sulfonamide"
        );
        assert_eq!(ids("N02BA01"), ["nsaids"]);
        assert!(ids("N02BE01").is_empty(), "paracetamol is not an NSAID");
        let names: Vec<_> = search("cef", 10).iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "cefalexin",
                "cefazolin",
                "ceftriaxone",
                "cefixime",
                "cefotaxime"
            ]
        );
    }
}
