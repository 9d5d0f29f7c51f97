//! `outpost workspace`, `sync`, `status` and `conflicts`: care-team workspaces and sync from
//! the command line, in the shape scripts rely on.

// Printing results is this module's job.
#![allow(clippy::print_stdout)]

use std::fmt::Write as _;

use anyhow::{Result, anyhow, bail};
use outpost_core::{CoreError, Role, SyncError, store::UserId};
use serde::Serialize;

use crate::{
    cli::{Args, Command, ConflictsCmd, WorkspaceCmd},
    run::{Id, duration_ms, emit, passphrase, unlocked, with_session},
};

fn device_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "Outpost device".to_owned())
}

#[derive(Serialize)]
struct Member {
    user: String,
    name: String,
    device: Option<String>,
    device_name: Option<String>,
    role: String,
    safety_number: String,
    status: String,
}

/// The workspace, sync, status and conflicts commands.
pub async fn run(args: &Args) -> Result<()> {
    match &args.command {
        Command::Workspace(cmd) => workspace(args, cmd).await,
        Command::Sync { watch } => sync(args, *watch).await,
        Command::Status => status(args).await,
        Command::Conflicts(cmd) => conflicts(args, cmd).await,
        _ => bail!("not a sync command"),
    }
}

async fn join(args: &Args, code: &str, name: Option<&str>) -> Result<()> {
    let json = args.json;
    let core = crate::run::existing(args)?;
    let user = match &args.user {
        Some(u) => u.clone(),
        None => core
            .users()
            .await?
            .first()
            .map(|u| u.id.to_hex())
            .ok_or_else(|| anyhow!("the profile has no users"))?,
    };
    let info = core
        .join_workspace(
            code.to_owned(),
            user,
            passphrase(args)?,
            name.map_or_else(device_name, str::to_owned),
        )
        .await?;
    // The request goes out now if the relay is reachable; otherwise at the next sync.
    let sent = core.sync_now().await;
    let _ = core.lock().await;
    match sent {
        Ok(_) | Err(CoreError::Sync(SyncError::Unreachable(_))) => {}
        Err(e) => return Err(e.into()),
    }
    emit(
        json,
        &Id {
            id: info.id.to_hex(),
        },
        || {
            format!(
                "Asked to join workspace {}. An admin's device admits this one at its next sync; then run `outpost sync`.",
                info.id
            )
        },
    )
}

async fn workspace(args: &Args, cmd: &WorkspaceCmd) -> Result<()> {
    let json = args.json;
    match cmd {
        WorkspaceCmd::Join { code, device_name } => join(args, code, device_name.as_deref()).await,
        WorkspaceCmd::Create { name, relay } => {
            with_session(args, async |core| {
                let info = core.create_workspace(name.clone(), relay.clone()).await?;
                emit(json, &Id { id: info.id.to_hex() }, || info.id.to_hex())
            })
            .await
        }
        WorkspaceCmd::Invite { role, expires } => {
            let role = Role::from_name(role)
                .filter(|r| matches!(r, Role::Physician | Role::Nurse | Role::Admin))
                .ok_or_else(|| anyhow!("--role: one of physician, nurse, admin"))?;
            let ttl = duration_ms(expires)?;
            with_session(args, async |core| {
                let code = core.create_invite(role, ttl).await?;
                emit(json, &serde_json::json!({ "code": code }), || code.clone())
            })
            .await
        }
        WorkspaceCmd::Members => {
            with_session(args, async |core| {
                let members: Vec<Member> = core
                    .workspace_members()
                    .await?
                    .into_iter()
                    .map(|m| Member {
                        user: m.user.to_hex(),
                        name: m.name,
                        device: m.device,
                        device_name: m.device_name,
                        role: m.role.as_str().to_owned(),
                        safety_number: m.safety_number,
                        status: m.status,
                    })
                    .collect();
                emit(json, &members, || {
                    members
                        .iter()
                        .map(|m| {
                            format!(
                                "{}  {:<24} {:<9} {:<11} device {}\n    safety number {}",
                                m.user,
                                m.name,
                                m.role,
                                m.status,
                                m.device.as_deref().unwrap_or("-"),
                                m.safety_number
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
            })
            .await
        }
        WorkspaceCmd::Verify { user } => {
            let user: UserId = user.parse().map_err(|_| anyhow!("a user id is 32 hex characters"))?;
            with_session(args, async |core| {
                core.mark_verified(user).await?;
                emit(json, &Id { id: user.to_hex() }, || format!("{user} marked verified"))
            })
            .await
        }
        WorkspaceCmd::Remove { id } => {
            with_session(args, async |core| {
                let removed = core.remove_member(id.clone()).await?;
                emit(json, &serde_json::json!({ "removed_devices": removed }), || {
                    format!(
                        "Removed; {} device(s) cut off, new key epoch started. Run `outpost sync` to tell the relay.",
                        removed.len()
                    )
                })
            })
            .await
        }
    }
}

async fn sync(args: &Args, watch: bool) -> Result<()> {
    let json = args.json;
    if watch {
        let core = unlocked(args).await?;
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let outcome = core
            .watch(
                std::time::Duration::from_secs(15),
                async move {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = tokio::signal::ctrl_c() => {}
                    }
                },
                |r| match r {
                    Ok(s) => println!(
                        "synced: pushed {}, received {}, waiting {}",
                        s.pushed, s.received, s.waiting
                    ),
                    Err(e) => eprintln!("outpost: {e}"),
                },
            )
            .await;
        let _ = core.lock().await;
        return Ok(outcome?);
    }
    with_session(args, async |core| {
        let s = core.sync_now().await?;
        emit(
            json,
            &serde_json::json!({
                "pushed": s.pushed, "received": s.received, "refused": s.refused,
                "unreadable": s.unreadable, "waiting": s.waiting, "admitted": s.admitted,
                "device_admitted": s.device_admitted,
            }),
            || {
                let mut line = if s.device_admitted {
                    format!("Up to date: pushed {}, received {}.", s.pushed, s.received)
                } else {
                    "Waiting for an admin's device to admit this one (it does so at its next sync)."
                        .to_owned()
                };
                if s.admitted > 0 {
                    let _ = write!(line, " Admitted {} new device(s).", s.admitted);
                }
                if s.refused + s.unreadable > 0 {
                    let _ = write!(
                        line,
                        " {} set aside (see the sync centre).",
                        s.refused + s.unreadable
                    );
                }
                line
            },
        )
    })
    .await
}

async fn status(args: &Args) -> Result<()> {
    let json = args.json;
    with_session(args, async |core| {
        let s = core.sync_status().await?;
        emit(json, &s, || {
            format!(
                "workspace {}: {} change(s) not on the relay{}; last sync {}; {} conflict(s); {} set aside{}",
                s.workspace.as_deref().unwrap_or("(none)"),
                s.pending,
                s.oldest_pending_seconds
                    .map(|a| format!(" (oldest {a} s)"))
                    .unwrap_or_default(),
                s.last_sync.map_or("never".to_owned(), |t| t.to_string()),
                s.conflicts,
                s.quarantined,
                s.last_error
                    .as_deref()
                    .map(|e| format!("; last attempt: {e}"))
                    .unwrap_or_default()
            )
        })
    })
    .await
}

async fn conflicts(args: &Args, cmd: &ConflictsCmd) -> Result<()> {
    let json = args.json;
    with_session(args, async |core| match cmd {
        ConflictsCmd::List => {
            let list = core.conflicts().await?;
            emit(json, &list, || {
                if list.is_empty() {
                    return "No conflicts.".to_owned();
                }
                list.iter()
                    .map(|c| {
                        let values = c
                            .values
                            .iter()
                            .map(|v| {
                                format!(
                                    "  {}  {:?}  by {} at {}",
                                    v.id,
                                    v.value.as_deref().unwrap_or(""),
                                    v.author,
                                    v.at
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n");
                        format!("{} ({} {}):\n{values}", c.id, c.record, c.field)
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        ConflictsCmd::Resolve { id, choose, value } => {
            core.resolve_conflict(id.clone(), choose.clone(), value.clone())
                .await?;
            emit(json, &Id { id: id.clone() }, || format!("{id} resolved"))
        }
    })
    .await
}
