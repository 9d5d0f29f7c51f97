//! Allergy checking: what an allergy is to, and whether a drug conflicts with a patient's
//! allergies, by drug and by drug group (an amoxicillin allergy refuses ampicillin; a
//! sulfonamide allergy refuses co-trimoxazole; a penicillin allergy asks before ceftriaxone).
//!
//! An allergy typed as free text that names no catalogue drug and no group cannot be checked:
//! [`Substance::Unchecked`] says so, and the screens say so next to the allergy, rather than
//! pretend a check happened.

use serde::{Deserialize, Serialize};

use crate::drugs::{self, Drug, DrugGroup};

/// What an allergy is to, as allergy checking understands it. Stored with the allergy as a
/// code ([`Substance::code`]) so the check does not depend on how the text was typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Substance {
    /// A catalogue drug, by ATC code.
    Drug(&'static Drug),
    /// A drug group, by id.
    Group(&'static DrugGroup),
    /// Something allergy checking does not know (a food, latex, a drug not in the catalogue).
    Unchecked,
}

impl Substance {
    /// Reads what a person typed: a catalogue drug's name (any of its names) or ATC code, or
    /// a group's name; failing the whole text, the longest run of its words that is one ("penicillin
    /// allergy", "allergic to Amoxil", "sulpha drugs - rash").
    pub fn resolve(text: &str) -> Self {
        let exact = Self::resolve_phrase(text);
        if exact != Self::Unchecked {
            return exact;
        }
        let normalized = drugs::normalize(text);
        let words: Vec<&str> = normalized.split(' ').collect();
        for len in (1..=words.len().min(4)).rev() {
            for run in words.windows(len) {
                let found = Self::resolve_phrase(&run.join(" "));
                if found != Self::Unchecked {
                    return found;
                }
            }
        }
        Self::Unchecked
    }

    /// One name: a drug's, or a group's.
    fn resolve_phrase(text: &str) -> Self {
        if let Some(drug) = drugs::find(text) {
            return Self::Drug(drug);
        }
        let typed = drugs::normalize(text);
        drugs::groups()
            .iter()
            .find(|g| {
                drugs::normalize(&g.id) == typed
                    || g.aliases.iter().any(|a| drugs::normalize(a) == typed)
            })
            .map_or(Self::Unchecked, Self::Group)
    }

    /// What an allergy stored with `code` and typed as `substance` is to: the code when it is
    /// one this build knows, else the text read again (a catalogue that learnt the name since,
    /// or a code from a newer build this one does not know).
    pub fn of_allergy(code: Option<&str>, substance: &str) -> Self {
        match Self::from_code(code) {
            Self::Unchecked => Self::resolve(substance),
            known => known,
        }
    }

    /// The stored code: `atc:J01CA04`, `group:penicillins`, or `None` when unchecked.
    pub fn code(&self) -> Option<String> {
        match self {
            Self::Drug(d) => Some(format!("atc:{}", d.atc)),
            Self::Group(g) => Some(format!("group:{}", g.id)),
            Self::Unchecked => None,
        }
    }

    /// Reads a stored code back (an unknown one, from a newer catalogue, is unchecked).
    pub fn from_code(code: Option<&str>) -> Self {
        match code.and_then(|c| c.split_once(':')) {
            Some(("atc", atc)) => drugs::by_atc(atc).map_or(Self::Unchecked, Self::Drug),
            Some(("group", id)) => drugs::group(id).map_or(Self::Unchecked, Self::Group),
            _ => Self::Unchecked,
        }
    }

    /// The groups this substance belongs to (a drug's groups, or the group itself).
    fn groups(&self) -> Vec<&'static DrugGroup> {
        match self {
            Self::Drug(d) => drugs::groups_of(&d.atc),
            Self::Group(g) => vec![*g],
            Self::Unchecked => Vec::new(),
        }
    }
}

/// Why a drug conflicts with an allergy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// The very drug the patient is allergic to.
    SameDrug,
    /// A drug of the same group (another penicillin).
    SameGroup,
    /// A drug of a group that cross-reacts (a cephalosporin for a penicillin allergy).
    CrossReactive,
}

/// One conflict between the drug asked for and one of the patient's allergies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Conflict {
    /// Index of the allergy in the list checked.
    pub allergy: usize,
    /// How they conflict.
    pub kind: ConflictKind,
    /// The group they share or that cross-reacts (`None` for the same drug).
    pub group: Option<String>,
}

/// The conflicts between prescribing `drug` and each of `allergies` (their stored codes; an
/// allergy no longer active is left out by the caller). Empty when none, or when every allergy
/// is unchecked.
pub fn check(drug: &Drug, allergies: &[Option<&str>]) -> Vec<Conflict> {
    let drug_groups = drugs::groups_of(&drug.atc);
    let mut out = Vec::new();
    for (i, code) in allergies.iter().enumerate() {
        let substance = Substance::from_code(*code);
        if let Substance::Drug(d) = &substance
            && d.atc == drug.atc
        {
            out.push(Conflict {
                allergy: i,
                kind: ConflictKind::SameDrug,
                group: None,
            });
            continue;
        }
        let allergy_groups = substance.groups();
        let shared = allergy_groups
            .iter()
            .find(|a| drug_groups.iter().any(|d| d.id == a.id));
        let cross = || {
            allergy_groups.iter().find_map(|a| {
                drug_groups
                    .iter()
                    .find(|d| a.cross_reacts.contains(&d.id))
                    .map(|d| d.id.clone())
            })
        };
        if let Some(g) = shared {
            out.push(Conflict {
                allergy: i,
                kind: ConflictKind::SameGroup,
                group: Some(g.id.clone()),
            });
        } else if let Some(g) = cross() {
            out.push(Conflict {
                allergy: i,
                kind: ConflictKind::CrossReactive,
                group: Some(g),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drug × allergy, as typed by a nurse → the conflict expected (None: allowed).
    const TABLE: &[(&str, &str, Option<ConflictKind>)] = &[
        ("amoxicillin", "amoxicillin", Some(ConflictKind::SameDrug)),
        ("amoxicillin", "Penicillin", Some(ConflictKind::SameGroup)),
        ("amoxicillin", "PCN", Some(ConflictKind::SameGroup)),
        ("ampicillin", "amoxicillin", Some(ConflictKind::SameGroup)),
        (
            "benzathine benzylpenicillin",
            "penicillins",
            Some(ConflictKind::SameGroup),
        ),
        (
            "amoxicillin + clavulanic acid",
            "penicillin",
            Some(ConflictKind::SameGroup),
        ),
        ("cloxacillin", "amoxicillin", Some(ConflictKind::SameGroup)),
        (
            "ceftriaxone",
            "penicillin",
            Some(ConflictKind::CrossReactive),
        ),
        (
            "cefalexin",
            "amoxicillin",
            Some(ConflictKind::CrossReactive),
        ),
        ("meropenem", "penicillin", Some(ConflictKind::CrossReactive)),
        (
            "amoxicillin",
            "ceftriaxone",
            Some(ConflictKind::CrossReactive),
        ),
        ("cefixime", "cephalosporins", Some(ConflictKind::SameGroup)),
        (
            "sulfamethoxazole + trimethoprim",
            "sulfa",
            Some(ConflictKind::SameGroup),
        ),
        (
            "sulfamethoxazole + trimethoprim",
            "co-trimoxazole",
            Some(ConflictKind::SameDrug),
        ),
        ("bactrim", "sulfonamides", Some(ConflictKind::SameGroup)),
        ("co-amoxiclav", "penicillin", Some(ConflictKind::SameGroup)),
        (
            "sulfadoxine + pyrimethamine",
            "sulfonamides",
            Some(ConflictKind::SameGroup),
        ),
        (
            "sulfadoxine + pyrimethamine",
            "sulfamethoxazole + trimethoprim",
            Some(ConflictKind::SameGroup),
        ),
        ("trimethoprim", "sulfa", None),
        (
            "trimethoprim",
            "co-trimoxazole",
            Some(ConflictKind::SameGroup),
        ),
        (
            "sulfamethoxazole + trimethoprim",
            "trimethoprim",
            Some(ConflictKind::SameGroup),
        ),
        (
            "amoxicillin",
            "penicillin allergy",
            Some(ConflictKind::SameGroup),
        ),
        (
            "amoxicillin",
            "allergic to Amoxil",
            Some(ConflictKind::SameDrug),
        ),
        ("cefalexin", "Keflex", Some(ConflictKind::SameDrug)),
        ("amoxicillin", "Augmentin", Some(ConflictKind::SameGroup)),
        (
            "sulfamethoxazole + trimethoprim",
            "sulpha drugs - rash",
            Some(ConflictKind::SameGroup),
        ),
        (
            "ceftriaxone",
            "beta-lactams",
            Some(ConflictKind::CrossReactive),
        ),
        ("furosemide", "sulfa", None),
        ("hydrochlorothiazide", "sulfonamide", None),
        (
            "azithromycin",
            "erythromycin",
            Some(ConflictKind::SameGroup),
        ),
        ("azithromycin", "penicillin", None),
        (
            "levofloxacin",
            "ciprofloxacin",
            Some(ConflictKind::SameGroup),
        ),
        ("doxycycline", "tetracycline", Some(ConflictKind::SameGroup)),
        ("ibuprofen", "aspirin", Some(ConflictKind::SameGroup)),
        ("diclofenac", "NSAIDs", Some(ConflictKind::SameGroup)),
        ("paracetamol", "aspirin", None),
        ("paracetamol", "ibuprofen", None),
        ("lisinopril", "enalapril", Some(ConflictKind::SameGroup)),
        ("losartan", "enalapril", None),
        ("morphine", "opioids", Some(ConflictKind::SameGroup)),
        (
            "gentamicin",
            "aminoglycoside",
            Some(ConflictKind::SameGroup),
        ),
        ("clindamycin", "erythromycin", None),
        ("metformin", "peanuts", None),
        ("amoxicillin", "latex", None),
    ];

    #[test]
    fn each_drug_against_each_allergy_is_refused_or_allowed_as_a_pharmacist_would() {
        let mut wrong = Vec::new();
        for (drug, allergy, expected) in TABLE {
            let drug = drugs::find(drug).unwrap_or_else(|| panic!("{drug} not in catalogue"));
            let code = Substance::resolve(allergy).code();
            let found = check(drug, &[code.as_deref()]).first().map(|c| c.kind);
            if found != *expected {
                wrong.push(format!(
                    "{} × {allergy}: {found:?}, expected {expected:?}",
                    drug.name
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn unknown_substances_are_unchecked_and_say_so() {
        assert_eq!(Substance::resolve("peanuts"), Substance::Unchecked);
        assert_eq!(
            Substance::resolve("latex gloves (hives)"),
            Substance::Unchecked
        );
        // A code this build does not know falls back to the text.
        assert_eq!(
            Substance::of_allergy(Some("atc:Z99ZZ99"), "Amoxil")
                .code()
                .as_deref(),
            Some("atc:J01CA04")
        );
        assert_eq!(Substance::resolve("peanuts").code(), None);
        assert_eq!(
            Substance::from_code(Some("atc:Z99ZZ99")),
            Substance::Unchecked
        );
        assert_eq!(
            Substance::from_code(Some("group:no-such")),
            Substance::Unchecked
        );
        assert_eq!(Substance::from_code(Some("garbage")), Substance::Unchecked);
        let amoxicillin = drugs::find("amoxicillin").unwrap();
        assert!(check(amoxicillin, &[None, Some("atc:N02BE01")]).is_empty());
    }

    #[test]
    fn every_conflicting_allergy_is_named_by_its_place_in_the_list() {
        let amoxicillin = drugs::find("amoxicillin").unwrap();
        let found = check(
            amoxicillin,
            &[
                Some("atc:N02BE01"),
                Some("group:penicillins"),
                None,
                Some("atc:J01DD04"),
            ],
        );
        let places: Vec<_> = found.iter().map(|c| (c.allergy, c.kind)).collect();
        assert_eq!(
            places,
            [
                (1, ConflictKind::SameGroup),
                (3, ConflictKind::CrossReactive)
            ]
        );
        assert_eq!(found[1].group.as_deref(), Some("penicillins"));
    }
}
