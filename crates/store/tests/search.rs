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
        ..Default::default()
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

#[test]
fn an_identity_number_and_a_birth_year_find_the_patient_and_one_number_is_one_chart() {
    let (_fx, mut store, _) = Fixture::new();
    let mut ama = new("Ama", "Owusu", None, None);
    ama.national_id = Some(" GHA-712345678-9 ".into());
    ama.guardian = Some("Akua Owusu (mother)".into());
    let ama = store.add_patient(&ama).unwrap();
    assert_eq!(ama.national_id.as_deref(), Some("GHA-712345678-9"));
    let mut kofi = new("Kofi", "Mensah", None, Some("+233 20 555 1990"));
    kofi.birth_date = "1987-04-12".into();
    store.add_patient(&kofi).unwrap();

    assert_eq!(names(&store, "712345678"), ["Ama Owusu"]);
    // A birth year finds those born that year, and a phone with the same four digits too.
    assert_eq!(names(&store, "1987"), ["Kofi Mensah"]);
    assert_eq!(names(&store, "1990"), ["Kofi Mensah", "Ama Owusu"]);
    assert_eq!(names(&store, "1990 ama"), ["Ama Owusu"]);
    assert_eq!(names(&store, "1990 kofi"), ["Kofi Mensah"], "by his phone");
    assert_eq!(names(&store, "1991"), Vec::<String>::new());

    // The same identity number again is refused, pointing to the chart that has it.
    let mut again = new("Ama", "Boateng", None, None);
    again.national_id = Some("GHA-712345678-9".into());
    let err = store.add_patient(&again).unwrap_err();
    assert!(err.to_string().contains("identity number"), "{err}");
    assert_eq!(store.similar_patients(&again).unwrap()[0].id, ama.id);

    // A chart registered without one gets it later, and is then found by it.
    let kofi = store.search_patients("kofi").unwrap().remove(0);
    assert_eq!(kofi.national_id, None);
    store
        .edit_patient(
            kofi.id,
            PatientField::NationalId,
            Some("GHA-000000001-1".into()),
        )
        .unwrap();
    assert_eq!(names(&store, "000000001"), ["Kofi Mensah"]);
    let chart = store.chart(kofi.id).unwrap();
    assert_eq!(
        chart.patient.national_id.as_deref(),
        Some("GHA-000000001-1")
    );
    assert_eq!(
        store.chart(ama.id).unwrap().patient.guardian.as_deref(),
        Some("Akua Owusu (mother)")
    );
}

#[test]
fn an_estimated_age_gives_an_estimated_birth_date_until_the_real_one_is_known() {
    let (fx, mut store, _) = Fixture::new();
    // The fixture's clock reads 2023-11-14.
    let mut about_forty = new("Esi", "Addo", None, None);
    about_forty.birth_date = String::new();
    about_forty.estimated_age_years = Some(40);
    let esi = store.add_patient(&about_forty).unwrap();
    assert_eq!(esi.birth_date, "1983-11-14");
    assert!(esi.birth_date_estimated);
    let chart = store.chart(esi.id).unwrap();
    assert!(chart.patient.birth_date_estimated);
    assert_eq!(chart.age.unwrap().years, 40);

    // The family finds the birth certificate: the date is set and no longer estimated.
    store
        .edit_patient(esi.id, PatientField::BirthDate, Some("1984-02-29".into()))
        .unwrap();
    store
        .edit_patient(esi.id, PatientField::BirthDateEstimated, None)
        .unwrap();
    let patient = store.chart(esi.id).unwrap().patient;
    assert_eq!(
        (patient.birth_date.as_str(), patient.birth_date_estimated),
        ("1984-02-29", false)
    );

    // Born on 29 February, estimated in a year without one: the 28th.
    fx.clock.set(1_709_208_000_000); // 2024-02-29
    let mut leap = new("Yaw", "Asante", None, None);
    leap.estimated_age_years = Some(3);
    assert_eq!(store.add_patient(&leap).unwrap().birth_date, "2021-02-28");
    leap.estimated_age_years = Some(121);
    assert!(store.add_patient(&leap).is_err());
    let err = store
        .edit_patient(esi.id, PatientField::BirthDateEstimated, Some("yes".into()))
        .unwrap_err();
    assert!(
        matches!(err, outpost_store::StoreError::Invalid { .. }),
        "{err}"
    );
}
