//! `outpost call` and `outpost visit`: headless calls and video visits with synthetic media,
//! for clinic nodes, scripts and tests. Each command runs one call and writes its numbers.

// Printing results is this module's job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use outpost_core::{
    Core,
    call::{
        machine::State,
        session::{CallConfig, CallEvent, CallHandle, Command as CallCommand},
        share::ShareEvent,
        signal::{CallKind, EndReason},
    },
    calls::Incoming,
    store::{PatientId, records::EncounterKind},
};
use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

use crate::{
    cli::{Args, CallCmd, CallOpts, Command, VisitCmd},
    run::{Id, duration_ms, emit, parse_duration, unlocked},
};

/// The call and visit commands.
pub async fn run(args: &Args) -> Result<()> {
    match &args.command {
        Command::Call(CallCmd::Start { to, opts }) => {
            check_media(opts)?;
            let core = unlocked(args).await?;
            let out = call_start(&core, to, opts).await;
            finish(&core, out).await
        }
        Command::Call(CallCmd::Answer { opts }) => {
            check_media(opts)?;
            let core = unlocked(args).await?;
            let out = call_answer(&core, opts).await;
            finish(&core, out).await
        }
        Command::Visit(VisitCmd::Invite { patient, expires }) => {
            let core = unlocked(args).await?;
            let ttl = duration_ms(expires)?;
            let out = core.create_visit(*patient, ttl).await;
            let _ = core.lock().await;
            let code = out?;
            emit(args.json, &Id { id: code.clone() }, || code)
        }
        Command::Visit(VisitCmd::Join { code, name, opts }) => {
            check_media(opts)?;
            let core = unlocked(args).await?;
            let out = visit_join(&core, code, name.as_deref(), opts).await;
            finish(&core, out).await
        }
        Command::Visit(VisitCmd::Admit {
            first,
            patient,
            opts,
        }) => {
            check_media(opts)?;
            if !first && patient.is_none() {
                bail!("say whom to admit: --first or --patient ID");
            }
            let core = unlocked(args).await?;
            let out = visit_admit(&core, *patient, opts).await;
            finish(&core, out).await
        }
        _ => bail!("not a call command"),
    }
}

async fn call_start(core: &Core, to: &str, opts: &CallOpts) -> Result<()> {
    let line = core.call_line(config(opts)).await?;
    let peer = line.resolve(to).await?;
    let handle = line.call(peer, kind(opts));
    eprintln!("Calling {}…", peer.device_id());
    run_call(handle, opts, false, None).await
}

async fn call_answer(core: &Core, opts: &CallOpts) -> Result<()> {
    let line = core.call_line(config(opts)).await?;
    eprintln!("Waiting for a call…");
    let ring = tokio::time::timeout(parse_duration(&opts.wait)?, async {
        loop {
            match line.next_incoming().await {
                Some(Incoming::Ring(r)) => return Ok(r),
                Some(Incoming::Knock(_)) => {}
                None => bail!("the relay closed the signaling connection"),
            }
        }
    })
    .await
    .map_err(|_| anyhow!("no call came in time"))??;
    eprintln!("Call from {}; answering.", ring.from.device_id());
    let handle = line.answer(ring);
    run_call(handle, opts, true, None).await
}

async fn visit_join(core: &Core, code: &str, name: Option<&str>, opts: &CallOpts) -> Result<()> {
    let name = match name {
        Some(n) => n.to_owned(),
        None => core.current_user().await?.name,
    };
    let line = core.join_visit(code, config(opts)).await?;
    eprintln!("In the waiting room; the physician will admit you.");
    let ring = line
        .knock_until_rung(&name, parse_duration(&opts.wait)?)
        .await?;
    eprintln!("Admitted; connecting.");
    let handle = line.answer(ring);
    run_call(handle, opts, true, None).await
}

async fn visit_admit(core: &Core, patient: Option<PatientId>, opts: &CallOpts) -> Result<()> {
    let line = core.call_line(config(opts)).await?;
    eprintln!("Waiting room open.");
    let knock = tokio::time::timeout(parse_duration(&opts.wait)?, async {
        loop {
            match line.next_incoming().await {
                Some(Incoming::Knock(k)) if patient.is_none_or(|p| p == k.patient) => {
                    return Ok(k);
                }
                Some(_) => {}
                None => bail!("the relay closed the signaling connection"),
            }
        }
    })
    .await
    .map_err(|_| anyhow!("nobody knocked in time"))??;
    eprintln!("Admitting {}.", knock.name);
    // Every call is an encounter on the patient's chart: start, end, who.
    let encounter = core
        .add_encounter(knock.patient, EncounterKind::Video, None)
        .await?;
    let handle = line.admit(&knock, kind(opts)).await?;
    let out = run_call(handle, opts, false, Some(&knock.name)).await;
    core.finish_encounter(encounter.id).await?;
    out
}

fn check_media(opts: &CallOpts) -> Result<()> {
    if opts.synthetic {
        return Ok(());
    }
    devices_ready(opts)
}

/// Opens (and closes again) the devices a call will use, so a missing camera is said before
/// anyone is rung.
#[cfg(feature = "devices")]
fn devices_ready(opts: &CallOpts) -> Result<()> {
    use outpost_core::call::devices::{Camera, Microphone};
    if !opts.audio_only {
        Camera::open(0).map_err(|e| anyhow!("{e}; pass --audio-only, or --synthetic"))?;
    }
    Microphone::open().map_err(|e| anyhow!("{e}; pass --synthetic to test without devices"))?;
    Ok(())
}

#[cfg(not(feature = "devices"))]
fn devices_ready(_: &CallOpts) -> Result<()> {
    bail!(
        "this build has no camera or microphone input: pass --synthetic \
         (or build with `--features devices`)"
    )
}

fn config(opts: &CallOpts) -> CallConfig {
    let mut config = CallConfig::default();
    config.peer.relay_only = opts.relay_only;
    #[cfg(feature = "devices")]
    if !opts.synthetic {
        config.media = outpost_core::call::source::MediaInput::Devices;
    }
    config
}

fn kind(opts: &CallOpts) -> CallKind {
    if opts.audio_only {
        CallKind::Audio
    } else {
        CallKind::Video
    }
}

async fn finish(core: &Core, out: Result<()>) -> Result<()> {
    let _ = core.lock().await;
    out
}

/// What the remote test pattern's stamps said.
#[derive(Debug, Default, Clone, Copy, Serialize)]
struct FrameCheck {
    /// Decoded frames whose stamp was read.
    frames_checked: u64,
    /// Stamps not after the previous one (frames out of order or repeated).
    out_of_order: u64,
    /// The highest frame number seen.
    last_frame: Option<u32>,
}

/// Runs a call to its end: accepts it when `accept`, shares what `opts` says once connected,
/// hangs up after the duration, writes the stats.
async fn run_call(
    mut handle: CallHandle,
    opts: &CallOpts,
    accept: bool,
    peer_name: Option<&str>,
) -> Result<()> {
    let duration = parse_duration(&opts.duration)?;
    let wait = parse_duration(&opts.wait)?;
    if accept {
        let _ = handle.commands.send(CallCommand::Accept);
    }
    let mut video = handle.video;
    let checker = tokio::spawn(async move {
        let mut check = FrameCheck::default();
        while let Some(frame) = video.recv().await {
            if let Some(stamp) = frame.stamp {
                check.frames_checked += 1;
                if check.last_frame.is_some_and(|l| stamp.frame <= l) {
                    check.out_of_order += 1;
                }
                check.last_frame = Some(stamp.frame);
            }
        }
        check
    });
    let mut hang_up_at = tokio::time::Instant::now() + wait;
    let mut connected = false;
    let mut hung_up = false;
    let (reason, stats) = loop {
        let event = tokio::select! {
            e = handle.events.recv() => e,
            () = tokio::time::sleep_until(hang_up_at), if !hung_up => {
                hung_up = true;
                let _ = handle.commands.send(CallCommand::HangUp);
                // The session reports Ended right after; give it a moment.
                hang_up_at = tokio::time::Instant::now() + Duration::from_secs(5);
                continue;
            }
            () = tokio::time::sleep_until(hang_up_at), if hung_up => {
                bail!("the call did not end after hanging up");
            }
        };
        match event {
            None => bail!("the call stopped without a summary"),
            Some(CallEvent::State(State::Connected)) if !connected => {
                connected = true;
                hang_up_at = tokio::time::Instant::now() + duration;
                match peer_name {
                    Some(n) => eprintln!("Connected with {n}; end-to-end encrypted."),
                    None => eprintln!("Connected; end-to-end encrypted."),
                }
            }
            Some(CallEvent::ChannelOpen) => share(&handle.commands, opts)?,
            Some(CallEvent::Share(ShareEvent::Chat(chat))) => {
                println!("chat: {}", chat.text);
            }
            Some(CallEvent::Share(ShareEvent::Received(file))) => {
                println!(
                    "file: {} ({} bytes, hash checked)",
                    file.name,
                    file.bytes.len()
                );
                if let Some(dir) = &opts.receive_dir {
                    save(dir, &file.name, &file.bytes)?;
                }
            }
            Some(CallEvent::Share(ShareEvent::Delivered { .. })) => {
                println!("delivered: a shared file arrived intact");
            }
            Some(CallEvent::Level(change)) => {
                eprintln!("{}", change.message());
            }
            Some(CallEvent::Device(problem)) => eprintln!("warning: {problem}"),
            Some(CallEvent::Ended { reason, stats }) => break (reason, stats),
            Some(_) => {}
        }
    };
    let check = checker.await.unwrap_or_default();
    if let Some(path) = &opts.stats_json {
        let mut value = serde_json::to_value(&*stats)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("end_reason".into(), serde_json::to_value(reason.as_str())?);
            map.insert("remote_frames".into(), serde_json::to_value(check)?);
        }
        std::fs::write(path, serde_json::to_vec_pretty(&value)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    match reason {
        EndReason::Security => bail!(
            "security: the call was ended because a check of the other device failed (its media key did not match its signed offer, or a signal was altered); nothing was sent"
        ),
        _ if !stats.connected => bail!("the call did not connect ({})", reason.as_str()),
        _ => {
            eprintln!("Call ended ({}).", reason.as_str());
            Ok(())
        }
    }
}

/// Sends what `opts` says to share once the data channel is open.
fn share(commands: &UnboundedSender<CallCommand>, opts: &CallOpts) -> Result<()> {
    for line in &opts.chat {
        let _ = commands.send(CallCommand::Chat(line.clone()));
    }
    for path in &opts.send_file {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let name = path
            .file_name()
            .map_or_else(|| "file".to_owned(), |n| n.to_string_lossy().into_owned());
        let _ = commands.send(CallCommand::ShareFile {
            name,
            mime: "application/octet-stream".to_owned(),
            bytes,
        });
    }
    Ok(())
}

/// Saves a received file under `dir` by its base name only (a name is the sender's word).
fn save(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let base = Path::new(name).file_name().map_or_else(
        || "received".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    std::fs::create_dir_all(dir)?;
    let mut path = dir.join(&base);
    let mut n = 1;
    while path.exists() {
        path = dir.join(format!("{n}-{base}"));
        n += 1;
    }
    std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
