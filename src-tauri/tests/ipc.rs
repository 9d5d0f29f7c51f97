//! The shell through Tauri's IPC layer on the mock runtime: commands, ACL and bindings.

use std::sync::Arc;

use outpost_core::AppInfo;
use outpost_desktop::picker::{FilePicker, PickKind, PickRequest, Picker};
use serde_json::json;
use tauri::{
    Manager,
    ipc::{CallbackFn, InvokeBody},
    test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder},
    webview::InvokeRequest,
};

fn app_with_data_dir(
    dir: &std::path::Path,
) -> (tauri::App<MockRuntime>, tauri::WebviewWindow<MockRuntime>) {
    app_with(mock_builder(), dir)
}

fn app_with(
    builder: tauri::Builder<MockRuntime>,
    dir: &std::path::Path,
) -> (tauri::App<MockRuntime>, tauri::WebviewWindow<MockRuntime>) {
    let mut app = outpost_desktop::run_app(builder, Some(dir.to_path_buf()))
        .build(tauri::generate_context!())
        .expect("app builds on the mock runtime");
    // Runs the real setup hook (which opens the core) once; the mock event loop does nothing.
    #[allow(deprecated)]
    app.run_iteration(|_, _| {});
    // The main window comes from tauri.conf.json, as in the real app.
    let window = app
        .get_webview_window("main")
        .expect("main window from the config");
    (app, window)
}

fn invoke(
    window: &tauri::WebviewWindow<MockRuntime>,
    cmd: &str,
) -> Result<serde_json::Value, serde_json::Value> {
    invoke_with(window, cmd, serde_json::Value::Null)
}

fn invoke_with(
    window: &tauri::WebviewWindow<MockRuntime>,
    cmd: &str,
    args: serde_json::Value,
) -> Result<serde_json::Value, serde_json::Value> {
    let body = if args.is_null() {
        InvokeBody::default()
    } else {
        InvokeBody::Json(args)
    };
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body,
            headers: tauri::http::HeaderMap::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<serde_json::Value>().unwrap())
}

#[test]
fn app_info_round_trips_through_ipc_and_the_acl_denies_everything_else() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("profile");
    let (_app, window) = app_with_data_dir(&data_dir);

    let value = invoke(&window, "app_info").expect("app_info is granted to the main window");
    let info: AppInfo = serde_json::from_value(value).unwrap();
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(info.data_dir, data_dir.display().to_string());
    assert!(data_dir.is_dir(), "setup creates the data directory");

    // Minimal capabilities: core plugins the window does not need are refused. Listening to
    // events (the `locked` event) is granted; sending them is not.
    for cmd in [
        "plugin:app|version",
        "plugin:event|emit",
        "plugin:webview|create_webview_window",
        // The page never opens a file dialog itself: files are chosen from Rust.
        "plugin:dialog|save",
        "plugin:dialog|open",
    ] {
        let err = invoke(&window, cmd).expect_err(cmd);
        assert!(err.to_string().contains("not allowed"), "{cmd}: {err}");
    }
    let listen = invoke(&window, "plugin:event|listen").expect_err("no arguments given");
    assert!(
        !listen.to_string().contains("not allowed"),
        "listening is granted: {listen}"
    );
}

/// Answers the file dialog as a person would, and records what it was asked.
struct Scripted {
    answers: std::sync::Mutex<Vec<Option<std::path::PathBuf>>>,
    asked: std::sync::Mutex<Vec<PickRequest>>,
    home: std::path::PathBuf,
}

impl FilePicker for Scripted {
    fn pick(&self, request: PickRequest) -> Option<std::path::PathBuf> {
        self.asked.lock().unwrap().push(request);
        self.answers.lock().unwrap().remove(0)
    }
    fn home(&self) -> Option<std::path::PathBuf> {
        Some(self.home.clone())
    }
}

#[test]
fn backups_go_where_the_person_picked_in_the_dialog_never_where_the_page_says() {
    let tmp = tempfile::tempdir().unwrap();
    let chosen = tmp.path().join("stick/clinic.outpost");
    std::fs::create_dir(tmp.path().join("stick")).unwrap();
    let scripted = Arc::new(Scripted {
        // Closed without choosing; then a file chosen; then the same file to check.
        answers: std::sync::Mutex::new(vec![None, Some(chosen.clone()), Some(chosen.clone())]),
        asked: std::sync::Mutex::default(),
        home: tmp.path().to_path_buf(),
    });
    let builder = mock_builder().manage(Picker(scripted.clone()));
    let (_app, window) = app_with(builder, &tmp.path().join("profile"));
    let passphrase = "Correct horse battery staple 42!";
    invoke_with(
        &window,
        "create_profile",
        json!({ "name": "Dr. Achieng", "role": "physician", "passphrase": passphrase }),
    )
    .unwrap();

    // A weak passphrase is refused before any dialog opens.
    let weak = invoke_with(&window, "create_backup", json!({ "passphrase": "short" }));
    assert_eq!(weak.unwrap_err()["kind"], "invalid");
    assert!(scripted.asked.lock().unwrap().is_empty());

    // A path from the page is not an argument the command reads.
    let planted = tmp.path().join("planted.outpost");
    let args = json!({ "passphrase": passphrase, "path": planted });
    let closed = invoke_with(&window, "create_backup", args.clone()).unwrap();
    assert!(closed.is_null(), "a closed dialog writes nothing: {closed}");
    let made = invoke_with(&window, "create_backup", args).unwrap();
    assert!(!planted.exists());
    assert!(chosen.is_file());
    assert_eq!(made["file"], chosen.display().to_string());
    assert_eq!(
        made["same_disk_as_data"], true,
        "the stick here is a folder on the same disk"
    );
    let asked = scripted.asked.lock().unwrap().clone();
    // With no removable drive on this machine the dialog opens at home; with one, there.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let sticks = outpost_core::backup_place::removable_mounts(&mounts);
    match sticks.iter().find(|m| m.is_dir()) {
        None => assert_eq!(asked[0].dir, tmp.path(), "the dialog opens at home"),
        Some(stick) => assert_eq!(&asked[0].dir, stick, "the dialog opens on the stick"),
    }
    assert_eq!(asked.len(), 2, "one dialog per backup asked for");
    assert!(
        matches!(&asked[0].kind, PickKind::Save { file_name } if file_name.starts_with("outpost-backup-") && file_name.ends_with(".outpost"))
    );

    let checked = invoke_with(
        &window,
        "verify_backup",
        json!({ "passphrase": passphrase }),
    )
    .unwrap();
    assert_eq!(checked["file"], chosen.display().to_string());
    assert_eq!(checked["manifest"], made["manifest"]);
    assert_eq!(scripted.asked.lock().unwrap()[2].kind, PickKind::Open);
}

#[test]
fn committed_typescript_bindings_are_fresh() {
    let generated = tempfile::NamedTempFile::new().unwrap();
    outpost_desktop::commands::export_bindings(generated.path()).unwrap();
    let generated = std::fs::read_to_string(generated.path()).unwrap();
    let committed_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(outpost_desktop::commands::BINDINGS_PATH);
    if std::env::var_os("OUTPOST_UPDATE_BINDINGS").is_some() {
        std::fs::write(&committed_path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    assert!(
        committed == generated,
        "ui/src/lib/bindings.ts is stale: run `make bindings` and commit the result"
    );
}

/// "Update from file…": the file comes from the dialog, never from the page; installing needs a
/// checked file first; and this build, with no release key, refuses every update in a coded
/// error the page can say in words.
#[test]
fn an_update_file_is_picked_in_the_dialog_and_checked_before_anything_can_be_installed() {
    let tmp = tempfile::tempdir().unwrap();
    let update = tmp.path().join("outpost_9.9.9_amd64.AppImage");
    std::fs::write(&update, b"not really an AppImage").unwrap();
    std::fs::write(
        tmp.path().join("outpost_9.9.9_amd64.AppImage.sig"),
        b"not a signature",
    )
    .unwrap();
    let scripted = Arc::new(Scripted {
        answers: std::sync::Mutex::new(vec![None, Some(update.clone())]),
        asked: std::sync::Mutex::default(),
        home: tmp.path().to_path_buf(),
    });
    let builder = mock_builder().manage(Picker(scripted.clone()));
    let (_app, window) = app_with(builder, &tmp.path().join("profile"));

    // Installing before anything was checked is refused, whatever path the page names.
    let early = invoke_with(&window, "install_update_file", json!({ "path": update }));
    assert_eq!(early.unwrap_err()["kind"], "invalid");
    // A closed dialog checks nothing.
    assert!(invoke(&window, "check_update_file").unwrap().is_null());
    // The picked file is refused: this build has no update key.
    let refused = invoke(&window, "check_update_file").unwrap_err();
    assert_eq!(refused["code"], "updateNoKey", "{refused}");
    let asked = scripted.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 2);
    assert_eq!(asked[1].filter.1, &["AppImage", "deb"]);
    // Refused, so nothing is waiting to be installed.
    let after = invoke(&window, "install_update_file").unwrap_err();
    assert_eq!(after["kind"], "invalid");
}
