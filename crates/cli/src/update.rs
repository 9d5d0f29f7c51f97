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
                None => std::env::var_os("APPIMAGE")
                    .map(Into::into)
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
