//! Outpost desktop shell: a Tauri window over [`outpost_core`].
//!
//! # Layout
//!
//! - [`commands`]: the IPC commands, one module per domain; each is a few lines that call core.
//! - [`error`]: [`CommandError`], the typed, serializable error every command returns.
//! - [`picker`]: the native file dialog, asked from Rust (the webview never names a file).
//! - [`state`]: what the shell keeps in Tauri's managed state, and where the data directory is.
//!
//! Business logic never lives here: it belongs in `outpost-core`.

pub mod commands;
pub mod error;
pub mod picker;
pub mod state;

pub use error::CommandError;

use std::path::PathBuf;

use tauri::{Manager, Runtime};

/// Builds and runs the desktop app with the real (wry) runtime. Returns when the last window
/// closes.
pub fn run() {
    run_app(tauri::Builder::default(), None)
        .run(tauri::generate_context!())
        .unwrap_or_else(|err| {
            eprintln!("outpost: cannot start the desktop app: {err}");
            std::process::exit(1);
        });
}

/// The commands that answer raw bytes (see [`run_app`]).
fn raw_handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        commands::calls::call_frame_raw,
        commands::attachments::add_attachment_raw
    ]
}

/// Configures a builder with Outpost's commands and state. Generic over the runtime so tests can
/// pass `tauri::test::mock_builder()`; `data_dir` overrides [`state::resolve_data_dir`].
pub fn run_app<R: Runtime>(
    builder: tauri::Builder<R>,
    data_dir: Option<PathBuf>,
) -> tauri::Builder<R> {
    let specta = commands::specta_builder::<R>();
    let typed = specta.invoke_handler();
    // Binary answers are not JSON, so the one command that returns raw bytes is registered
    // beside the typed ones rather than through specta.
    let raw = raw_handler::<R>();
    builder
        // Native file dialogs, opened from Rust only: the window is granted none of the
        // plugin's commands (see capabilities/main.json).
        .plugin(tauri_plugin_dialog::init())
        .invoke_handler(move |invoke: tauri::ipc::Invoke<R>| {
            if matches!(
                invoke.message.command(),
                "call_frame_raw" | "add_attachment_raw"
            ) {
                raw(invoke)
            } else {
                typed(invoke)
            }
        })
        .setup(move |app| {
            specta.mount_events(app);
            let data_dir = match data_dir {
                Some(dir) => dir,
                None => state::resolve_data_dir(app.handle())?,
            };
            let core = outpost_core::Core::open(data_dir)?;
            if let Some(secs) = state::idle_lock_secs() {
                core.set_idle_lock_ms(i64::from(secs) * 1000);
            }
            state::spawn_idle_lock(core.clone(), app.handle().clone());
            state::spawn_sync_loop(core.clone());
            app.manage(state::AppState::new(core));
            app.manage(commands::update::PendingUpdate::default());
            app.manage(commands::clipboard::ClipboardClearing::new(
                app.handle().clone(),
            ));
            // A test may have managed a picker that answers for a person; otherwise the
            // system's dialog.
            if app.try_state::<picker::Picker>().is_none() {
                let native = picker::NativePicker::new(app.handle().clone());
                app.manage(picker::Picker(std::sync::Arc::new(native)));
            }
            Ok(())
        })
}
