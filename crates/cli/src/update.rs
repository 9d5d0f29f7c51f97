//! `outpost update`: a signed update brought on a USB stick or from another laptop, verified
//! against the project's update key exactly as an online update is (`outpost-update`), then
//! installed in one step. A downgrade is an administrator's decision, asked with their
//! passphrase.

use anyhow::{Result, anyhow, bail};
use outpost_update::{Downgrade, UpdateKey, Version};

use crate::{
    cli::{Args, UpdateCmd},
    run::{emit, with_session},
};

/// `outpost update ...`
pub(crate) async fn update(args: &Args, cmd: &UpdateCmd) -> Result<()> {
    let key = UpdateKey::shipped()?;
    let installed = Version::this_build();
    match cmd {
        UpdateCmd::Check { download } => check(args, &key, download.as_deref()).await,
        UpdateCmd::Verify { file } => {
            let verified = outpost_update::verify_file(file, &key, installed, Downgrade::Refuse)?;
            emit(args.json, &verified.version.to_string(), || {
                format!(
                    "verified: Outpost {} ({}), signed with Outpost's update key",
                    verified.version, verified.file
                )
            })
        }
        UpdateCmd::Apply {
            file,
            installed: target,
            allow_downgrade,
        } => {
            let target = match target {
                Some(t) => t.clone(),
                None => outpost_core::updates::running_appimage()
                    .ok_or_else(|| anyhow!("not running from an AppImage: say which to replace with --installed, or install a .deb with dpkg after `outpost update verify`"))?,
            };
            let downgrade = if *allow_downgrade {
                // Only an administrator may go back to an older version.
                with_session(args, async |core| {
                    let me = core.current_user().await?;
                    if me.role != outpost_core::Role::Admin {
                        bail!(
                            "installing an older version needs an admin; you are signed in as {}",
                            me.role.as_str()
                        );
                    }
                    Ok(())
                })
                .await?;
                Downgrade::AllowedByAdmin
            } else {
                Downgrade::Refuse
            };
            let done =
                outpost_update::install_replacing(file, &target, &key, installed, downgrade)?;
            emit(args.json, &done.version.to_string(), || {
                format!(
                    "installed Outpost {} in place of {}; restart Outpost to use it",
                    done.version,
                    target.display()
                )
            })
        }
    }
}

/// `outpost update check [--download DIR]`: what the update server offers, and optionally
/// every build of it fetched and verified for a USB stick.
async fn check(args: &Args, key: &UpdateKey, download: Option<&std::path::Path>) -> Result<()> {
    use outpost_core::updates;
    use outpost_update::{UpdateError, online::Offer};
    let server = updates::server()?;
    let installed = Version::this_build();
    // One list for both builds, so one check can fill a stick for AppImage and .deb laptops
    // alike; the one this computer runs is said first.
    let list = updates::fetch_list(&server).await?;
    let mut releases = Vec::new();
    let mut latest = None;
    let mut missing = None;
    for installation in [updates::installation(), other(updates::installation())] {
        match list.read(key, installed, installation) {
            Ok(Offer::Available(release)) => releases.push(release),
            Ok(Offer::UpToDate { latest: l }) => latest = Some(l),
            Ok(Offer::Behind { latest: l }) => bail!(
                "the update server names an older release ({l}) than this one ({installed}): it may be out of date, or replaying an old list"
            ),
            Err(e @ UpdateError::NotForThisMachine(_)) => missing = missing.or(Some(e)),
            Err(e) => return Err(e.into()),
        }
    }
    if let (true, Some(e)) = (releases.is_empty() && latest.is_none(), missing) {
        return Err(e.into());
    }
    let Some(first) = releases.first() else {
        let latest = latest.map_or_else(String::new, |l| l.to_string());
        return emit(
            args.json,
            &serde_json::json!({ "available": null, "latest": latest }),
            || format!("Outpost {installed} is up to date (the server's latest is {latest})"),
        );
    };
    let mut saved = Vec::new();
    if let Some(dir) = download {
        for release in &releases {
            saved.push(updates::download(release, dir, key, installed).await?);
        }
    }
    let value = serde_json::json!({
        "available": first.version.to_string(),
        "notes": first.notes,
        "published": first.pub_date,
        "downloaded": saved.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
    });
    emit(args.json, &value, || {
        let mut text = format!(
            "Outpost {} is available (published {}):\n{}",
            first.version, first.pub_date, first.notes
        );
        for path in &saved {
            text.push_str("\nverified and saved: ");
            text.push_str(&path.display().to_string());
        }
        text
    })
}

/// The installation that is not `this` one.
fn other(this: outpost_update::online::Installation) -> outpost_update::online::Installation {
    use outpost_update::online::Installation;
    match this {
        Installation::AppImage => Installation::Package,
        Installation::Package => Installation::AppImage,
    }
}
