//! Online updates: the signed release list fetched from the update server at most once a day,
//! and the release it offers downloaded and verified only when the person asks, exactly as a
//! file from a USB stick is (`outpost-update`). Nothing is sent but two GETs: no profile, user
//! or clinic is named to the server.

use std::path::{Path, PathBuf};

use outpost_update::{
    Downgrade, UpdateError, UpdateKey, Version,
    online::{self, Installation, MANIFEST, Offer, Release},
};

/// Where the last successful check's time is kept (Unix seconds), in the data directory.
const LAST_CHECK_FILE: &str = "update-checked";
/// The largest artifact downloaded (today's AppImage is under 100 MiB).
const MAX_ARTIFACT: u64 = 1024 * 1024 * 1024;
/// The largest signature file.
const MAX_SIGNATURE: u64 = 4096;

/// The update server: `OUTPOST_UPDATE_URL` (a clinic's mirror, or a test's), else the one
/// this build names. Its answers are checked against the build's key, never trusted for
/// where they came from.
pub fn server() -> Result<String, UpdateError> {
    std::env::var("OUTPOST_UPDATE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .or_else(|| online::shipped_server().map(str::to_owned))
        .map(|u| u.trim().trim_end_matches('/').to_owned())
        .ok_or(UpdateError::NoServer)
}

/// The AppImage this copy runs from (its runtime names it in `APPIMAGE`), the file an update
/// replaces; `None` for a package installation.
pub fn running_appimage() -> Option<PathBuf> {
    std::env::var_os("APPIMAGE")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

/// How this copy runs: from an AppImage or installed as a package.
pub fn installation() -> Installation {
    if running_appimage().is_some() {
        Installation::AppImage
    } else {
        Installation::Package
    }
}

/// What the app's check for updates found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// This build has no update key or no update server (an automatic check only: asked by
    /// the person, that is an error to show).
    NotSetUp,
    /// Checked less than a day ago (an automatic check only).
    NotDue,
    /// What the server's signed list offers.
    Offer(Offer),
}

/// The app's check: `manual` when the person asks (the server is asked now, and a build
/// without a key or server says so as an error); otherwise the automatic one of [`check_if_due`],
/// quiet when updates are not set up. `now` in Unix seconds.
pub async fn check_for_app(
    data_dir: &Path,
    manual: bool,
    now: i64,
) -> Result<Checked, UpdateError> {
    let setup = server().and_then(|server| Ok((server, UpdateKey::shipped()?)));
    let (server, key) = match setup {
        Ok(setup) => setup,
        Err(UpdateError::NoServer | UpdateError::NoUpdateKey) if !manual => {
            return Ok(Checked::NotSetUp);
        }
        Err(e) => return Err(e),
    };
    let (installed, installation) = (Version::this_build(), installation());
    if manual {
        return check(&server, &key, installed, installation)
            .await
            .map(Checked::Offer);
    }
    Ok(
        match check_if_due(data_dir, now, &server, &key, installed, installation).await? {
            Some(offer) => Checked::Offer(offer),
            None => Checked::NotDue,
        },
    )
}

/// An online release, downloaded and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// Put in place of the running AppImage: restart Outpost to use it.
    InPlace,
    /// A package installation: the verified package, saved for the system's package manager.
    Package(PathBuf),
}

/// Downloads `release` into `data_dir`'s `updates` folder, verifies it as a file from a USB
/// stick is verified, and puts it in place of the running AppImage (the downloaded copy is
/// removed then); a package installation gets the verified package back.
pub async fn install_online(release: &Release, data_dir: &Path) -> Result<Installed, UpdateError> {
    let key = UpdateKey::shipped()?;
    let installed = Version::this_build();
    let path = download(release, &data_dir.join("updates"), &key, installed).await?;
    let Some(target) = running_appimage() else {
        return Ok(Installed::Package(path));
    };
    tokio::task::spawn_blocking(move || {
        outpost_update::install_replacing(&path, &target, &key, installed, Downgrade::Refuse)?;
        // Installed: the downloaded copy is no longer needed (an AppImage is large).
        let mut sig = path.clone().into_os_string();
        sig.push(".sig");
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(sig);
        Ok(Installed::InPlace)
    })
    .await
    .map_err(|_| UpdateError::Io("the installation did not finish".into()))?
}

/// Fetches `url` whole, up to `max` bytes.
async fn fetch(url: &str, max: u64) -> Result<Vec<u8>, UpdateError> {
    let mut body = Vec::new();
    crate::net::download(url, max, |piece| {
        body.extend_from_slice(piece);
        Ok(())
    })
    .await
    .map_err(unreachable)?;
    Ok(body)
}

fn unreachable(failure: crate::net::DownloadFailure) -> UpdateError {
    match failure {
        crate::net::DownloadFailure::NotFound => UpdateError::NotPublished,
        crate::net::DownloadFailure::Other(text) => UpdateError::Unreachable(text),
    }
}

/// The longest a check may take, start to end (a server trickling bytes is not waited on for
/// days; the list is a few KiB even on a 2G link).
const CHECK_DEADLINE: std::time::Duration = std::time::Duration::from_mins(3);
/// Where the last signed list is kept, to say what it offered after a restart.
const LIST_DIR: &str = "update-list";

/// The release list and its signature, as the server sent them (not yet checked).
#[derive(Debug, Clone)]
pub struct SignedList {
    /// `latest.json`.
    pub manifest: Vec<u8>,
    /// `latest.json.sig`.
    pub signature: String,
}

impl SignedList {
    /// What the list offers this installation, checked against `key` first.
    pub fn read(
        &self,
        key: &UpdateKey,
        installed: Version,
        installation: Installation,
    ) -> Result<Offer, UpdateError> {
        online::read_manifest(
            &self.manifest,
            &self.signature,
            key,
            installed,
            installation,
        )
    }
}

/// Fetches the release list and its signature from `server` (unchecked: see
/// [`SignedList::read`]).
pub async fn fetch_list(server: &str) -> Result<SignedList, UpdateError> {
    let fetch_both = async {
        let manifest = fetch(&format!("{server}/{MANIFEST}"), online::MAX_MANIFEST as u64).await?;
        // A list published without its signature is refused as unsigned, not as a lost link.
        let signature = fetch(&format!("{server}/{MANIFEST}.sig"), MAX_SIGNATURE)
            .await
            .map_err(|e| match e {
                UpdateError::NotPublished => UpdateError::Unsigned,
                e => e,
            })?;
        let signature = String::from_utf8(signature).map_err(|_| UpdateError::Unsigned)?;
        Ok(SignedList {
            manifest,
            signature,
        })
    };
    tokio::time::timeout(CHECK_DEADLINE, fetch_both)
        .await
        .map_err(|_| UpdateError::Unreachable("the update server answered too slowly".into()))?
}

/// Asks the server at `server` for its latest release and checks what it says against `key`.
pub async fn check(
    server: &str,
    key: &UpdateKey,
    installed: Version,
    installation: Installation,
) -> Result<Offer, UpdateError> {
    fetch_list(server).await?.read(key, installed, installation)
}

/// The automatic check: [`check`] when a day has passed since the last successful one (its
/// time kept in `data_dir`). When it is not due, what the last list offered, read again from
/// `data_dir` and checked again (a laptop shut down between patients still shows the release
/// it found this morning); `None` when that is nothing. A failed check (no network) is not
/// counted: the next start tries again.
pub async fn check_if_due(
    data_dir: &Path,
    now: i64,
    server: &str,
    key: &UpdateKey,
    installed: Version,
    installation: Installation,
) -> Result<Option<Offer>, UpdateError> {
    let marker = data_dir.join(LAST_CHECK_FILE);
    let kept = data_dir.join(LIST_DIR);
    let last = std::fs::read_to_string(&marker)
        .ok()
        .and_then(|t| t.trim().parse::<i64>().ok());
    if !online::check_due(last, now) {
        let Ok(manifest) = std::fs::read(kept.join(MANIFEST)) else {
            return Ok(None);
        };
        let Ok(signature) = std::fs::read_to_string(kept.join(format!("{MANIFEST}.sig"))) else {
            return Ok(None);
        };
        let list = SignedList {
            manifest,
            signature,
        };
        return Ok(match list.read(key, installed, installation) {
            Ok(offer @ Offer::Available(_)) => Some(offer),
            _ => None,
        });
    }
    let list = fetch_list(server).await?;
    let offer = list.read(key, installed, installation)?;
    // Keeping the list and the time is a convenience: a full disk must not hide the offer.
    if std::fs::create_dir_all(&kept).is_ok() {
        let _ = std::fs::write(kept.join(MANIFEST), &list.manifest);
        let _ = std::fs::write(kept.join(format!("{MANIFEST}.sig")), &list.signature);
    }
    let _ = std::fs::write(&marker, now.to_string());
    Ok(Some(offer))
}

/// Downloads `release` into `dir` (next to its signature, `FILE.sig`) and verifies it as
/// `outpost update verify` would, and that it is the version the list named. Returns its path.
/// Earlier downloads and unfinished ones in `dir` are removed first; on any failure nothing is
/// left in `dir` under the release's name.
pub async fn download(
    release: &Release,
    dir: &Path,
    key: &UpdateKey,
    installed: Version,
) -> Result<PathBuf, UpdateError> {
    let io = |e: std::io::Error| UpdateError::Io(e.kind().to_string());
    std::fs::create_dir_all(dir).map_err(io)?;
    prune(dir);
    let path = dir.join(&release.file);
    let partial = dir.join(format!("{}.partial", release.file));
    let mut sig_path = path.clone().into_os_string();
    sig_path.push(".sig");
    let sig_path = PathBuf::from(sig_path);
    let result = async {
        let file = std::fs::File::create(&partial).map_err(io)?;
        let mut file = std::io::BufWriter::with_capacity(1 << 20, file);
        // The signed list's size, when it gives one: a storage host cannot send more.
        let max = release.size.map_or(MAX_ARTIFACT, |s| s.min(MAX_ARTIFACT));
        crate::net::download(&release.url, max, |piece| {
            std::io::Write::write_all(&mut file, piece)
        })
        .await
        .map_err(unreachable)?;
        let file = file.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        drop(file);
        // Checked under the name the list gave, before it gets that name. Hashing up to a
        // gigabyte is kept off the async threads that run sync and calls.
        let (checked, name, signature, key) = (
            partial.clone(),
            release.file.clone(),
            release.signature.clone(),
            key.clone(),
        );
        let verified = tokio::task::spawn_blocking(move || {
            outpost_update::verify(
                std::fs::File::open(&checked).map_err(io)?,
                &name,
                &signature,
                &key,
                installed,
                Downgrade::Refuse,
            )
        })
        .await
        .map_err(|_| UpdateError::Io("the check did not finish".into()))??;
        if verified.version != release.version {
            return Err(UpdateError::NotListedVersion {
                found: verified.version,
                listed: release.version,
            });
        }
        std::fs::rename(&partial, &path).map_err(io)?;
        std::fs::write(&sig_path, &release.signature).map_err(|e| {
            let _ = std::fs::remove_file(&path);
            io(e)
        })
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result.map(|()| path)
}

/// Removes earlier downloads from `dir`: finished ones (installed or superseded) and any left
/// unfinished when the app closed mid-download.
fn prune(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
