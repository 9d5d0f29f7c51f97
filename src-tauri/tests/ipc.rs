//! The shell through Tauri's IPC layer on the mock runtime: commands, ACL and bindings.

use outpost_core::AppInfo;
use tauri::{
    Manager,
    ipc::{CallbackFn, InvokeBody},
    test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder},
    webview::InvokeRequest,
};

fn app_with_data_dir(
    dir: &std::path::Path,
) -> (tauri::App<MockRuntime>, tauri::WebviewWindow<MockRuntime>) {
    let mut app = outpost_desktop::run_app(mock_builder(), Some(dir.to_path_buf()))
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
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::default(),
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
