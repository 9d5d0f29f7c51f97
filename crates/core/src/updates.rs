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

/// How this copy runs: from an AppImage (which `APPIMAGE` names) or installed as a package.
pub fn installation() -> Installation {
    if std::env::var_os("APPIMAGE").is_some() {
        Installation::AppImage
    } else {
        Installation::Package
    }
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

/// Asks the server at `server` for its latest release and checks what it says against `key`.
pub async fn check(
    server: &str,
    key: &UpdateKey,
    installed: Version,
    installation: Installation,
) -> Result<Offer, UpdateError> {
    let manifest = fetch(&format!("{server}/{MANIFEST}"), online::MAX_MANIFEST as u64).await?;
    // A manifest published without its signature is refused as unsigned, not as a lost link.
    let signature = fetch(&format!("{server}/{MANIFEST}.sig"), MAX_SIGNATURE)
        .await
        .map_err(|e| match e {
            UpdateError::NotPublished => UpdateError::Unsigned,
            e => e,
        })?;
    let signature = String::from_utf8(signature).map_err(|_| UpdateError::Unsigned)?;
    online::read_manifest(&manifest, &signature, key, installed, installation)
}

/// [`check`], when a day has passed since the last successful one (kept in `data_dir`);
/// `None` when it is not due. A failed check (no network) is not counted: the next start
/// tries again.
pub async fn check_if_due(
    data_dir: &Path,
    now: i64,
    server: &str,
    key: &UpdateKey,
    installed: Version,
    installation: Installation,
) -> Result<Option<Offer>, UpdateError> {
    let marker = data_dir.join(LAST_CHECK_FILE);
    let last = std::fs::read_to_string(&marker)
        .ok()
        .and_then(|t| t.trim().parse::<i64>().ok());
    if !online::check_due(last, now) {
        return Ok(None);
    }
    let offer = check(server, key, installed, installation).await?;
    // Only a check that succeeded counts: after a dropped link or a refused answer, the next
    // start asks again.
    std::fs::write(&marker, now.to_string()).map_err(|e| UpdateError::Io(e.kind().to_string()))?;
    Ok(Some(offer))
}

/// Downloads `release` into `dir` (next to its signature, `FILE.sig`) and verifies it as
/// `outpost update verify` would. Returns its path; on any failure nothing is left in `dir`
/// under the release's name.
pub async fn download(
    release: &Release,
    dir: &Path,
    key: &UpdateKey,
    installed: Version,
) -> Result<PathBuf, UpdateError> {
    let io = |e: std::io::Error| UpdateError::Io(e.kind().to_string());
    std::fs::create_dir_all(dir).map_err(io)?;
    let path = dir.join(&release.file);
    let partial = dir.join(format!("{}.partial", release.file));
    let mut sig_path = path.clone().into_os_string();
    sig_path.push(".sig");
    let result = async {
        let mut file = std::fs::File::create(&partial).map_err(io)?;
        crate::net::download(&release.url, MAX_ARTIFACT, |piece| {
            std::io::Write::write_all(&mut file, piece)
        })
        .await
        .map_err(unreachable)?;
        file.sync_all().map_err(io)?;
        drop(file);
        // Checked under the name the manifest gave, before it gets that name.
        outpost_update::verify(
            std::fs::File::open(&partial).map_err(io)?,
            &release.file,
            &release.signature,
            key,
            installed,
            Downgrade::Refuse,
        )?;
        std::fs::write(&sig_path, &release.signature).map_err(io)?;
        std::fs::rename(&partial, &path).map_err(io)
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result.map(|()| path)
}
