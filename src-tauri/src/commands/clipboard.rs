//! A copied recovery key leaves the clipboard a minute later, emptied by the shell through GTK.
//!
//! The page empties it too, but WebKitGTK may refuse a page's clipboard write while the window
//! is unfocused (the person went to paste the key elsewhere), and no page can reach X's PRIMARY
//! selection, which selecting the key fills for a middle-click paste. The shell can do both.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tauri::{AppHandle, Runtime, State};

use crate::CommandError;

/// How long a copied recovery key stays on the clipboard.
const KEEP: Duration = Duration::from_mins(1);

/// Counts copies (only the clearing of the latest copy runs: each copy starts the minute
/// again), and empties the clipboards on the app's main thread, where GTK's live.
pub struct ClipboardClearing {
    copies: Arc<AtomicU64>,
    empty: Arc<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for ClipboardClearing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClipboardClearing").finish_non_exhaustive()
    }
}

impl ClipboardClearing {
    /// Clearing for this app's clipboards.
    pub fn new<R: Runtime>(app: AppHandle<R>) -> Self {
        Self {
            copies: Arc::default(),
            empty: Arc::new(move || {
                let _ = app.run_on_main_thread(empty_clipboards);
            }),
        }
    }
}

/// How long to wait: a minute, or less where `OUTPOST_CLIPBOARD_CLEAR_MS` says so (a test);
/// never more.
fn keep_for() -> Duration {
    std::env::var("OUTPOST_CLIPBOARD_CLEAR_MS")
        .ok()
        .and_then(|ms| ms.parse::<u64>().ok())
        .map_or(KEEP, |ms| Duration::from_millis(ms).min(KEEP))
}

/// Empties the clipboard and the primary selection a minute from now (the page calls this when
/// a recovery key is copied). Whatever is on them by then goes too: a key pasted into a chat by
/// mistake is worse than a lost copy.
#[tauri::command]
#[specta::specta]
pub async fn clear_clipboard_later(
    clearing: State<'_, ClipboardClearing>,
) -> Result<(), CommandError> {
    let copies = clearing.copies.clone();
    let empty = clearing.empty.clone();
    let this = copies.fetch_add(1, Ordering::SeqCst) + 1;
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(keep_for()).await;
        if copies.load(Ordering::SeqCst) == this {
            empty();
        }
    });
    Ok(())
}

/// Empties the clipboard and the primary selection.
#[cfg(target_os = "linux")]
fn empty_clipboards() {
    use gtk::gdk::{SELECTION_CLIPBOARD, SELECTION_PRIMARY};
    for selection in [SELECTION_CLIPBOARD, SELECTION_PRIMARY] {
        gtk::Clipboard::get(&selection).set_text("");
    }
}

#[cfg(not(target_os = "linux"))]
fn empty_clipboards() {}
