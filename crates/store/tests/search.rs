//! Patient search through the full-text index: contains-matching of every word in any order,
//! case and accents ignored, names edited later found by their new name only, typed query
//! syntax taken as text, and paging that neither repeats nor skips anyone.

mod common;

use common::Fixture;
use outpost_store::{PatientId, proto::PatientField, records::NewPatient};

fn new(given: &str, family: &str, clinic: Option<&str>, phone: Option<&str>) -> NewPatient {
    NewPatient {
        given_name: given.into(),
        family_name: family.into(),
        birth_date: "1990-05-06".into(),
        sex: None,
        clinic_id: clinic.map(Into::into),
        contact: phone.map(Into::into),
    }
}

fn names(store: &outpost_store::Store, query: &str) -> Vec<String> {
    store
        .search_patients(query)
        .unwrap()
        .into_iter()
        .map(|p| format!("{} {}", p.given_name, p.family_name))
        .collect()
}

#[test]
fn every_word_is_found_anywhere_ignoring_case_and_accents() {
    let (_fx, mut store, _) = Fixture::new();
    store
        .add_patient(&new(
            "José",
            "Ñúñez",
            Some("KB-0042"),
            Some("+233 20 555 0199"),
        ))
        .unwrap();
    store
        .add_patient(&new("Kofi", "Mensah", Some("KB-0100"), None))
        .unwrap();
    store
        .add_patient(&new("Akosua", "Mensah-Boateng", None, Some("024 777 1234")))
        .unwrap();

    assert_eq!(names(&store, "jose"), ["José Ñúñez"], "accents ignored");
    assert_eq!(
        names(&store, "NUNEZ JOSÉ"),
        ["José Ñúñez"],
        "any order, any case"
    );
    assert_eq!(
        names(&store, "ens"),
        ["Kofi Mensah", "Akosua Mensah-Boateng"]
    );
    assert_eq!(
        names(&store, "mensah kofi"),
        ["Kofi Mensah"],
        "every word must match"
    );
    assert_eq!(names(&store, "0042"), ["José Ñúñez"], "clinic number");
    assert_eq!(names(&store, "555 0199"), ["José Ñúñez"], "phone");
    assert_eq!(names(&store, "1234"), ["Akosua Mensah-Boateng"]);
    assert_eq!(
        names(&store, "kb"),
        ["Kofi Mensah", "José Ñúñez"],
        "short words too"
    );
    assert_eq!(
        names(&store, "ko me"),
        ["Kofi Mensah", "Akosua Mensah-Boateng"]
    );
    assert!(names(&store, "mensah jose").is_empty());
    assert_eq!(names(&store, "").len(), 3, "empty lists everyone");
}

#[test]
fn query_syntax_typed_in_the_box_is_only_text() {
    let (_fx, mut store, _) = Fixture::new();
    store
        .add_patient(&new("Ama", "O\"Neil", Some("A_1%"), None))
        .unwrap();
    store
        .add_patient(&new("Yaw", "Boateng", None, None))
        .unwrap();
    for query in [
        "\"",
        "\"\"\"",
        "*",
        "Ama*",
        "NEAR(ama yaw)",
        "ama OR yaw",
        "ama AND",
        "-ama",
        "^ama",
        "names:ama",
        "(",
        ")",
        "{names}: x",
        "%",
        "_",
        "\\",
        "'; DROP TABLE patients; --",
    ] {
        let result = store.search_patients(query);
        assert!(result.is_ok(), "{query:?}: {result:?}");
    }
    assert_eq!(
        names(&store, "o\"neil"),
        ["Ama O\"Neil"],
        "a quote is a letter"
    );
    assert!(
        names(&store, "ama OR yaw").is_empty(),
        "OR is a word, not an operator"
    );
    assert_eq!(names(&store, "A_1"), ["Ama O\"Neil"]);
    assert!(names(&store, "A_2").is_empty(), "_ is not a wildcard");
    assert_eq!(
        names(&store, "%"),
        ["Ama O\"Neil"],
        "the clinic number has a %"
    );
    assert!(names(&store, "a%1").is_empty(), "% is not a wildcard");
}

#[test]
fn an_edited_name_is_found_by_the_new_name_only() {
    let (_fx, mut store, _) = Fixture::new();
    let p = store
        .add_patient(&new("Abena", "Owusu", Some("C-77"), None))
        .unwrap();
    store
        .edit_patient(p.id, PatientField::FamilyName, Some("Asante".into()))
        .unwrap();
    store
        .edit_patient(p.id, PatientField::ClinicId, Some("C-88".into()))
        .unwrap();
    assert!(names(&store, "owusu").is_empty());
    assert!(names(&store, "C-77").is_empty());
    assert_eq!(names(&store, "asante"), ["Abena Asante"]);
    assert_eq!(names(&store, "C-88"), ["Abena Asante"]);
}

#[test]
fn pages_neither_repeat_nor_skip_anyone_and_say_when_more_remain() {
    let (_fx, mut store, _) = Fixture::new();
    let mut added: Vec<PatientId> = Vec::new();
    for i in 0..120 {
        // Family names that tie, so the order rests on the tie-breakers too.
        let family = ["Addo", "addo", "Badu"][i % 3];
        added.push(
            store
                .add_patient(&new(&format!("Person{i:03}"), family, None, None))
                .unwrap()
                .id,
        );
    }
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let page = store.find_patients("", offset, 50).unwrap();
        assert!(page.patients.len() <= 50);
        seen.extend(page.patients.iter().map(|p| p.id));
        offset += 50;
        if !page.more {
            break;
        }
        assert_eq!(page.patients.len(), 50, "a page before the last is full");
    }
    assert_eq!(seen.len(), 120);
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 120, "nobody twice");
    let mut expected = added.clone();
    expected.sort_unstable();
    assert_eq!(sorted, expected, "nobody missing");
    let first = store.find_patients("", 0, 50).unwrap().patients;
    assert!(
        first
            .iter()
            .take(80)
            .all(|p| p.family_name.eq_ignore_ascii_case("addo"))
    );
    let badu = store.find_patients("badu", 0, 500).unwrap();
    assert_eq!((badu.patients.len(), badu.more), (40, false));
    let capped = store.find_patients("", 0, 100_000).unwrap();
    assert_eq!(
        capped.patients.len(),
        120,
        "a huge limit is capped, not an error"
    );
}
