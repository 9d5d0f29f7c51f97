//! The native file dialog, behind a trait: commands that need a file ask a [`Picker`] from
//! Tauri's state, so they stay free of the runtime type and a test can answer for a person.
//!
//! Files are always chosen here, in Rust: the webview is granted none of the dialog plugin's
//! commands, and no command takes a path from it.

use std::{fmt, path::PathBuf, sync::Arc};

use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_dialog::DialogExt;

/// What to ask the person for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickRequest {
    /// The dialog's title.
    pub title: &'static str,
    /// The folder it opens in.
    pub dir: PathBuf,
    /// A new file to save (with the name offered), or an existing file to open.
    pub kind: PickKind,
    /// The files the dialog lists: a name and the extensions (`("Outpost backup", &["outpost"])`).
    pub filter: (&'static str, &'static [&'static str]),
}

/// Save a new file or open an existing one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickKind {
    /// A new file; the dialog offers this name.
    Save {
        /// The name offered.
        file_name: String,
    },
    /// An existing file.
    Open,
}

/// Something that asks a person for a file.
pub trait FilePicker: Send + Sync {
    /// Blocks until the person picks a file (`Some`) or closes the dialog (`None`). Never call
    /// it on the main thread.
    fn pick(&self, request: PickRequest) -> Option<PathBuf>;
    /// Where dialogs open when no removable drive is mounted (Documents, else home).
    fn home(&self) -> Option<PathBuf>;
}

/// The picker in Tauri's state. The app installs [`NativePicker`] unless a test managed its
/// own first.
#[derive(Clone)]
pub struct Picker(pub Arc<dyn FilePicker>);

impl fmt::Debug for Picker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Picker")
    }
}

impl Picker {
    /// Asks off the async runtime's threads (the dialog itself runs on the main thread).
    pub async fn ask(&self, request: PickRequest) -> Option<PathBuf> {
        let picker = Arc::clone(&self.0);
        tauri::async_runtime::spawn_blocking(move || picker.pick(request))
            .await
            .ok()
            .flatten()
    }
}

/// The system's file dialog (GTK on Linux), modal over the main window, listing the files the
/// request names.
pub struct NativePicker<R: Runtime> {
    app: AppHandle<R>,
}

impl<R: Runtime> fmt::Debug for NativePicker<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NativePicker")
    }
}

impl<R: Runtime> NativePicker<R> {
    /// A picker over `app`'s main window.
    pub fn new(app: AppHandle<R>) -> Self {
        Self { app }
    }
}

impl<R: Runtime> FilePicker for NativePicker<R> {
    fn pick(&self, request: PickRequest) -> Option<PathBuf> {
        let mut dialog = self
            .app
            .dialog()
            .file()
            .set_title(request.title)
            .set_directory(&request.dir)
            .add_filter(request.filter.0, request.filter.1);
        if let Some(window) = self.app.get_webview_window("main") {
            dialog = dialog.set_parent(&window);
        }
        let file = match request.kind {
            PickKind::Save { file_name } => dialog.set_file_name(file_name).blocking_save_file(),
            PickKind::Open => dialog.blocking_pick_file(),
        }?;
        // Only a path on this computer (a portal may answer with a URL).
        file.into_path().ok()
    }

    fn home(&self) -> Option<PathBuf> {
        let paths = self.app.path();
        paths.document_dir().or_else(|_| paths.home_dir()).ok()
    }
}
