//! Updates in the app. "Update from file…": a signed update brought on a USB stick, picked in
//! the system's dialog, verified exactly as `outpost update verify` does (`outpost-update`).
//! Online: the signed release list asked for at most daily, its notes shown, the release
//! downloaded and verified the same way. Either is installed only when the person says so,
//! from what was verified (never a path from the page).

use std::{path::PathBuf, sync::Mutex};

use outpost_update::{Downgrade, UpdateKey, Version};
use tauri::State;

use crate::{
    CommandError,
    picker::{PickKind, PickRequest, Picker},
    state::AppState,
};

/// The update files the dialog lists.
const UPDATES: (&str, &[&str]) = ("Outpost update", &["AppImage", "deb"]);

/// What was verified last, waiting for the person's word: a file, or an online release.
#[derive(Debug, Default)]
pub struct PendingUpdate {
    file: Mutex<Option<PathBuf>>,
    online: Mutex<Option<outpost_update::online::Release>>,
}

/// A verified update, as the page shows it.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct UpdateFound {
    /// Its version.
    pub version: String,
    /// The file the signature names.
    pub file: String,
    /// Whether this installation can put it in place itself (an AppImage it runs from); a
    /// `.deb` is installed with the system's package manager.
    pub installable: bool,
}

/// Asks for an update file, and verifies it against Outpost's update key and the installed
/// version. Changes nothing; `null` when the dialog was closed.
#[tauri::command]
#[specta::specta]
pub async fn check_update_file(
    state: State<'_, AppState>,
    picker: State<'_, Picker>,
    pending: State<'_, PendingUpdate>,
) -> Result<Option<UpdateFound>, CommandError> {
    // The dialog opens where a backup would go: a mounted USB stick, else Documents.
    let request = PickRequest {
        title: "Choose the Outpost update",
        dir: state.core.backup_place(picker.0.home().as_deref()).dir,
        kind: PickKind::Open,
        filter: UPDATES,
    };
    let Some(path) = picker.ask(request).await else {
        return Ok(None);
    };
    let checked = path.clone();
    let verified = tauri::async_runtime::spawn_blocking(move || {
        let key = UpdateKey::shipped()?;
        outpost_update::verify_file(&checked, &key, Version::this_build(), Downgrade::Refuse)
    })
    .await
    .map_err(|_| CommandError::invalid("the check did not finish"))??;
    let installable =
        verified.file.ends_with(".AppImage") && outpost_core::updates::running_appimage().is_some();
    *pending
        .file
        .lock()
        .map_err(|_| CommandError::invalid("busy"))? = Some(path);
    Ok(Some(UpdateFound {
        version: verified.version.to_string(),
        file: verified.file,
        installable,
    }))
}

/// Installs the update verified last in place of the running AppImage: verified again, then
/// renamed over it in one step. Restart Outpost to use it.
#[tauri::command]
#[specta::specta]
pub async fn install_update_file(
    pending: State<'_, PendingUpdate>,
) -> Result<String, CommandError> {
    let path = pending
        .file
        .lock()
        .map_err(|_| CommandError::invalid("busy"))?
        .take()
        .ok_or_else(|| CommandError::invalid("choose and check an update file first"))?;
    let target: PathBuf = outpost_core::updates::running_appimage()
        .ok_or_else(|| CommandError::invalid("this installation is not an AppImage: install the .deb with the system's package manager"))?;
    let done = tauri::async_runtime::spawn_blocking(move || {
        let key = UpdateKey::shipped()?;
        let installed = Version::this_build();
        outpost_update::install_replacing(&path, &target, &key, installed, Downgrade::Refuse)
    })
    .await
    .map_err(|_| CommandError::invalid("the installation did not finish"))??;
    Ok(done.version.to_string())
}

/// What a check of the update server found.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum UpdateCheck {
    /// This build has no update key or no update server: updates come from files.
    NotSetUp,
    /// Checked less than a day ago (an automatic check only).
    NotDue,
    /// The server's latest release is this one.
    UpToDate {
        /// The latest release the server names.
        latest: String,
    },
    /// The server names an older release than this one: a stale mirror, or an old list
    /// replayed to hide a newer release.
    Behind {
        /// The release the server names.
        latest: String,
    },
    /// A newer release, from a release list signed with Outpost's key.
    Available {
        /// Its version.
        version: String,
        /// What is new, in the release's words.
        notes: String,
        /// When it was published (RFC 3339), as the signed list says.
        #[serde(rename = "pubDate")]
        pub_date: String,
        /// Whether this installation puts it in place itself (an AppImage); a `.deb`
        /// installation is handed the verified package for the system's package manager.
        installable: bool,
    },
}

/// Asks the update server for its latest release. `manual` is the person pressing "Check for
/// updates"; otherwise (at start) the server is asked at most once a day, and a build without
/// an update server or key says `notSetUp` rather than an error.
#[tauri::command]
#[specta::specta]
pub async fn check_for_update(
    state: State<'_, AppState>,
    pending: State<'_, PendingUpdate>,
    manual: bool,
) -> Result<UpdateCheck, CommandError> {
    use outpost_core::updates::{self, Checked};
    use outpost_update::online::{Installation, Offer};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let offer = match updates::check_for_app(state.core.data_dir(), manual, now).await? {
        Checked::NotSetUp => return Ok(UpdateCheck::NotSetUp),
        Checked::NotDue => return Ok(UpdateCheck::NotDue),
        Checked::Offer(offer) => offer,
    };
    Ok(match offer {
        Offer::UpToDate { latest } => UpdateCheck::UpToDate {
            latest: latest.to_string(),
        },
        Offer::Behind { latest } => UpdateCheck::Behind {
            latest: latest.to_string(),
        },
        Offer::Available(release) => {
            let found = UpdateCheck::Available {
                version: release.version.to_string(),
                notes: release.notes.clone(),
                pub_date: release.pub_date.clone(),
                installable: updates::installation() == Installation::AppImage,
            };
            *pending
                .online
                .lock()
                .map_err(|_| CommandError::invalid("busy"))? = Some(release);
            found
        }
    })
}

/// An online update, downloaded and verified.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct OnlineUpdateDone {
    /// Its version.
    pub version: String,
    /// Put in place of the running AppImage: restart Outpost to use it.
    pub installed: bool,
    /// Where the verified package was saved, for the system's package manager (a `.deb`
    /// installation), else `null`.
    pub package: Option<String>,
}

/// Downloads the release the last check offered, verifies it as a file from a USB stick is
/// verified, and puts it in place of the running AppImage; a `.deb` installation gets the
/// verified package in its data directory, to install with the system's package manager.
#[tauri::command]
#[specta::specta]
pub async fn install_online_update(
    state: State<'_, AppState>,
    pending: State<'_, PendingUpdate>,
) -> Result<OnlineUpdateDone, CommandError> {
    use outpost_core::updates::{self, Installed};
    // Kept until it is installed: a download cut off on a 2G link can be tried again.
    let release = pending
        .online
        .lock()
        .map_err(|_| CommandError::invalid("busy"))?
        .clone()
        .ok_or_else(|| CommandError::invalid("check for updates first"))?;
    let done = updates::install_online(&release, state.core.data_dir()).await?;
    clear(&pending);
    Ok(OnlineUpdateDone {
        version: release.version.to_string(),
        installed: done == Installed::InPlace,
        package: match done {
            Installed::Package(path) => Some(path.display().to_string()),
            Installed::InPlace => None,
        },
    })
}

/// Forgets the online offer once it was installed or handed over.
fn clear(pending: &PendingUpdate) {
    if let Ok(mut offer) = pending.online.lock() {
        *offer = None;
    }
}
