//! The core runtime over a real data directory, as the desktop shell and the CLI use it.

use outpost_core::{Core, CoreError, ProfileState};

#[test]
fn two_runtimes_over_one_directory_agree_and_app_info_serializes_for_the_ui() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("clinic-laptop");

    let first = Core::open(&dir).unwrap();
    let second = Core::open(&dir).unwrap();
    assert_eq!(first.app_info(), second.app_info());

    // The UI reads camelCase JSON: pin the field names it depends on.
    let json = serde_json::to_value(first.app_info()).unwrap();
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["dataDir"], dir.display().to_string());
    assert_eq!(json["status"]["profile"], "notCreated");
    assert_eq!(json["status"]["dataDirWritable"], true);
    assert!(
        json["buildFeatures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "debug-build" || f == "release-build")
    );
    assert_eq!(first.status().profile, ProfileState::NotCreated);
}

#[test]
fn a_vanished_data_directory_is_reported_not_hidden() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("usb-stick");
    let core = Core::open(&dir).unwrap();
    assert!(core.status().data_dir_writable);
    // The stick is pulled out: nothing can be written, whoever runs the app (even root).
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        !core.status().data_dir_writable,
        "a missing data dir must show as not writable"
    );
    assert!(!dir.exists(), "checking must not recreate it");

    let blocked = tmp.path().join("file");
    std::fs::write(&blocked, b"x").unwrap();
    assert!(matches!(
        Core::open(blocked.join("sub")),
        Err(CoreError::DataDir { .. })
    ));
}
