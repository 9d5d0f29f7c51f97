//! The call desk: one device's calls as the app's screens show and drive them. It keeps the
//! signaling line open, the waiting room (patients who knocked), a ringing call, and the one
//! call in progress, and folds that call's events into a [`CallView`] the screen polls. Decoded
//! remote pictures are kept newest-only for the screen to fetch ([`CallDesk::frame`]): a late
//! picture is worth nothing, so nothing queues behind a slow window.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use outpost_call::media::pipeline::RemoteFrame;
use outpost_call::session::{CallConfig, CallEvent, CallHandle, Command, Parties};
use outpost_call::share::{FileId, ReceivedFile, ShareEvent};
use outpost_call::signal::{CallKind, EndReason};
use outpost_call::synthetic::I420;
use outpost_call::{State, adapt::Level};
use outpost_proto::{PatientId, VisitId};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::calls::{CallError, CallLine, Incoming, IncomingRing, Knocking};
use crate::{Core, CoreError};

/// A chat line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ChatLine {
    /// Whether this device wrote it.
    pub mine: bool,
    /// The text.
    pub text: String,
}

/// A file shared during the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SharedFile {
    /// Its transfer id (hex), to attach it to a chart once received.
    pub id: String,
    /// Its name, as the sender gave it.
    pub name: String,
    /// Whether this device sends it.
    pub outgoing: bool,
    /// Bytes moved.
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub done: u64,
    /// Bytes in all.
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub total: u64,
    /// Arrived whole with its hash checked (received), or confirmed by the peer (sent).
    pub complete: bool,
}

/// A patient in the waiting room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Waiting {
    /// The visit (hex).
    pub visit: String,
    /// The chart the visit is for (hex).
    pub patient: String,
    /// The name the patient gave.
    pub name: String,
}

/// What the call screens show.
// Each flag is a separate control on the screen (mute, camera, audio only), not a state machine.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CallView {
    /// Connected to the relay's signaling socket.
    pub online: bool,
    /// The call's state: `outgoing`, `incoming`, `connecting`, `connected`, `reconnecting`,
    /// `ended`; `None` when there is no call.
    pub state: Option<String>,
    /// Who is on the other end (a name, or a device id).
    pub peer: Option<String>,
    /// A device ringing this one (its name or id), not yet answered.
    pub ringing: Option<String>,
    /// Patients in the waiting room.
    pub waiting: Vec<Waiting>,
    /// Microphone muted.
    pub muted: bool,
    /// Camera off.
    pub camera_off: bool,
    /// Audio only, as chosen or as the link forced.
    pub audio_only: bool,
    /// What happened to the quality, in plain words (the last change).
    pub notice: Option<String>,
    /// What the other side's media is doing, in plain words.
    pub peer_notice: Option<String>,
    /// Chat, oldest first.
    pub chat: Vec<ChatLine>,
    /// Files shared.
    pub files: Vec<SharedFile>,
    /// The 60-digit number both people can read aloud.
    pub safety_number: Option<String>,
    /// Why the last call ended (`hung_up`, `declined`, `security`, ...).
    pub ended: Option<String>,
    /// What went wrong, for a person.
    pub error: Option<String>,
    /// Remote pictures decoded so far (the screen fetches the newest).
    #[cfg_attr(feature = "specta", specta(type = f64))]
    pub frames: u64,
    /// The call's numbers, as JSON (round trip, loss, bitrate, resolution, codec, encryption).
    pub stats: Option<String>,
    /// On a visit: the patient's chart (hex), for the note written beside the call.
    pub patient: Option<String>,
    /// On a visit: the encounter opened for the call (hex); the note is linked to it.
    pub encounter: Option<String>,
    /// This side sends the synthetic test pattern and tone, not a camera and microphone.
    pub synthetic: bool,
}

/// The app's calls. Cheap to clone.
#[derive(Clone)]
pub struct CallDesk {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CallDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallDesk").finish_non_exhaustive()
    }
}

struct Inner {
    core: Core,
    config: CallConfig,
    line: tokio::sync::Mutex<Option<CallLine>>,
    view: Mutex<CallView>,
    ringing: Mutex<Option<IncomingRing>>,
    knocks: Mutex<Vec<Knocking>>,
    commands: Mutex<Option<mpsc::UnboundedSender<Command>>>,
    frame: Mutex<Option<(u64, RemoteFrame)>>,
    received: Mutex<HashMap<FileId, ReceivedFile>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn state_name(s: State) -> &'static str {
    match s {
        State::Outgoing => "outgoing",
        State::Incoming => "incoming",
        State::Connecting => "connecting",
        State::Connected => "connected",
        State::Reconnecting => "reconnecting",
        State::Ended(_) => "ended",
    }
}

fn busy() -> CoreError {
    CoreError::Call(CallError::Busy)
}

fn gone(what: &'static str) -> CoreError {
    CoreError::Call(CallError::Gone(what))
}

impl CallDesk {
    /// A desk for `core`'s profile; nothing connects until [`CallDesk::go_online`].
    pub fn new(core: Core, config: CallConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                core,
                config,
                line: tokio::sync::Mutex::new(None),
                view: Mutex::new(CallView::default()),
                ringing: Mutex::new(None),
                knocks: Mutex::new(Vec::new()),
                commands: Mutex::new(None),
                frame: Mutex::new(None),
                received: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// What the screen shows now.
    pub fn view(&self) -> CallView {
        let mut v = lock(&self.inner.view).clone();
        v.waiting = lock(&self.inner.knocks)
            .iter()
            .map(|k| Waiting {
                visit: k.visit.to_hex(),
                patient: k.patient.to_hex(),
                name: k.name.clone(),
            })
            .collect();
        v
    }

    /// The newest remote picture after `after` (a count from [`CallView::frames`]), with its
    /// number.
    pub fn frame(&self, after: u64) -> Option<(u64, Arc<I420>)> {
        let guard = lock(&self.inner.frame);
        let (n, f) = guard.as_ref()?;
        (*n > after).then(|| (*n, Arc::clone(&f.picture)))
    }

    /// Connects a care-team device to the relay for calls: incoming calls ring, patients who
    /// knock appear in the waiting room.
    pub async fn go_online(&self) -> Result<(), CoreError> {
        let mut line = self.inner.line.lock().await;
        if line.is_some() {
            return Ok(());
        }
        let l = self.inner.core.call_line(self.inner.config.clone()).await?;
        *line = Some(l.clone());
        lock(&self.inner.view).online = true;
        let inner = Arc::clone(&self.inner);
        // Incoming rings and knocks are not someone at this laptop (see `Core::in_background`).
        tokio::spawn(crate::session::background(async move {
            while let Some(incoming) = l.next_incoming().await {
                match incoming {
                    Incoming::Ring(ring) => {
                        let desk = CallDesk {
                            inner: Arc::clone(&inner),
                        };
                        let name = desk.name_of(ring.from).await;
                        // Under the ringing lock, as `call` places: a ring from the device
                        // this desk is calling is glare, whichever came first.
                        let mut ringing = lock(&inner.ringing);
                        let Some(ring) = l.resolve_glare(ring) else {
                            continue;
                        };
                        if lock(&inner.commands).is_some() {
                            continue;
                        }
                        lock(&inner.view).ringing = Some(name);
                        *ringing = Some(ring);
                    }
                    Incoming::Knock(k) => {
                        let mut knocks = lock(&inner.knocks);
                        if !knocks.iter().any(|x| x.visit == k.visit) {
                            knocks.push(k);
                        }
                    }
                }
            }
            lock(&inner.view).online = false;
            *inner.line.lock().await = None;
        }));
        Ok(())
    }

    /// The member's name for a device (its id when the log does not name it).
    async fn name_of(&self, device: outpost_crypto::PublicIdentity) -> String {
        let id = device.device_id().to_hex();
        self.inner
            .core
            .workspace_members()
            .await
            .ok()
            .and_then(|m| {
                m.into_iter()
                    .find(|m| m.device.as_deref() == Some(id.as_str()))
            })
            .map_or(id, |m| m.name)
    }

    async fn line(&self) -> Result<CallLine, CoreError> {
        self.go_online().await?;
        self.inner
            .line
            .lock()
            .await
            .clone()
            .ok_or(CoreError::Call(CallError::Unreachable(
                "the signaling connection closed".into(),
            )))
    }

    /// Calls a member (user id) or a device.
    pub async fn call(&self, to: &str, kind: CallKind) -> Result<(), CoreError> {
        if lock(&self.inner.commands).is_some() {
            return Err(busy());
        }
        let line = self.line().await?;
        let peer = line.resolve(to).await?;
        let name = self.name_of(peer).await;
        let handle = {
            let mut ringing = lock(&self.inner.ringing);
            if ringing.as_ref().is_some_and(|r| r.from == peer) {
                // They are ringing this device already: both want to talk, so answer.
                let ring = ringing.take().expect("checked");
                drop(ringing);
                lock(&self.inner.view).ringing = None;
                let handle = line.answer(ring);
                let _ = handle.commands.send(Command::Accept);
                handle
            } else {
                line.call(peer, kind)
            }
        };
        self.run(
            handle,
            Parties {
                me: line.me(),
                peer,
            },
            name,
            None,
        );
        Ok(())
    }

    /// Answers the ringing call.
    pub async fn accept(&self) -> Result<(), CoreError> {
        let ring = lock(&self.inner.ringing).take();
        let Some(ring) = ring else {
            return Err(gone("ringing call"));
        };
        let line = self.line().await?;
        let parties = Parties {
            me: line.me(),
            peer: ring.from,
        };
        let name = self.name_of(ring.from).await;
        let handle = line.answer(ring);
        let _ = handle.commands.send(Command::Accept);
        lock(&self.inner.view).ringing = None;
        self.run(handle, parties, name, None);
        Ok(())
    }

    /// Declines the ringing call.
    pub async fn decline(&self) -> Result<(), CoreError> {
        let ring = lock(&self.inner.ringing).take();
        lock(&self.inner.view).ringing = None;
        if let Some(ring) = ring {
            let line = self.line().await?;
            let handle = line.answer(ring);
            let _ = handle.commands.send(Command::Decline);
        }
        Ok(())
    }

    /// Admits a patient from the waiting room; an encounter is opened on their chart for the
    /// call and finished when it ends.
    pub async fn admit(&self, visit: VisitId, kind: CallKind) -> Result<(), CoreError> {
        if lock(&self.inner.commands).is_some() {
            return Err(busy());
        }
        let knock = {
            let mut knocks = lock(&self.inner.knocks);
            let at = knocks
                .iter()
                .position(|k| k.visit == visit)
                .ok_or_else(|| gone("patient in the waiting room"))?;
            knocks.remove(at)
        };
        let line = self.line().await?;
        let encounter = self
            .inner
            .core
            .add_encounter(
                knock.patient,
                outpost_store::records::EncounterKind::Video,
                None,
            )
            .await?;
        let handle = line.admit(&knock, kind).await?;
        let parties = Parties {
            me: line.me(),
            peer: knock.device,
        };
        self.run(
            handle,
            parties,
            knock.name.clone(),
            Some((knock.patient, encounter.id)),
        );
        Ok(())
    }

    /// On a patient's profile: joins the visit with its code and waits to be admitted; the
    /// physician's call is answered when it comes.
    pub async fn join_visit(&self, code: &str, name: &str) -> Result<(), CoreError> {
        if lock(&self.inner.commands).is_some() {
            return Err(busy());
        }
        let line = self
            .inner
            .core
            .join_visit(code, self.inner.config.clone())
            .await?;
        *self.inner.line.lock().await = Some(line.clone());
        {
            let mut v = lock(&self.inner.view);
            v.online = true;
            v.state = Some("waiting_room".into());
            v.ended = None;
            v.error = None;
        }
        let desk = self.clone();
        let name = name.to_owned();
        tokio::spawn(async move {
            match line
                .knock_until_rung(&name, std::time::Duration::from_hours(1))
                .await
            {
                Ok(ring) => {
                    let parties = Parties {
                        me: line.me(),
                        peer: ring.from,
                    };
                    let handle = line.answer(ring);
                    let _ = handle.commands.send(Command::Accept);
                    desk.run(handle, parties, "Your clinician".into(), None);
                }
                Err(e) => {
                    let mut v = lock(&desk.inner.view);
                    v.state = None;
                    v.error = Some(e.to_string());
                }
            }
        });
        Ok(())
    }

    /// Sends a command to the call in progress (mute, camera, audio only, chat, share, hang
    /// up); the view follows.
    pub fn command(&self, command: Command) -> Result<(), CoreError> {
        {
            let mut v = lock(&self.inner.view);
            match &command {
                Command::Mute(m) => v.muted = *m,
                Command::CameraOff(c) => v.camera_off = *c,
                Command::AudioOnly(a) => v.audio_only = *a,
                Command::Chat(text) => v.chat.push(ChatLine {
                    mine: true,
                    text: text.clone(),
                }),
                // Named now; its transfer id arrives with the first progress report.
                Command::ShareFile { name, bytes, .. } => v.files.push(SharedFile {
                    id: String::new(),
                    name: name.clone(),
                    outgoing: true,
                    done: 0,
                    total: bytes.len() as u64,
                    complete: false,
                }),
                _ => {}
            }
        }
        lock(&self.inner.commands)
            .as_ref()
            .and_then(|c| c.send(command).ok())
            .ok_or_else(|| gone("call in progress"))
    }

    /// Attaches a file received during the call to a chart.
    pub async fn attach_received(
        &self,
        file: &str,
        patient: PatientId,
    ) -> Result<outpost_store::attachments::AttachmentInfo, CoreError> {
        let id: FileId =
            outpost_proto::ids::from_hex::<16>(file).ok_or_else(|| gone("received file"))?;
        let received = lock(&self.inner.received)
            .get(&id)
            .cloned()
            .ok_or_else(|| gone("received file"))?;
        self.inner
            .core
            .add_attachment_bytes(patient, received.name, received.mime, received.bytes)
            .await
    }

    /// Runs `handle` as the call in progress: its events fold into the view, its pictures
    /// into the newest-frame slot.
    fn run(
        &self,
        handle: CallHandle,
        parties: Parties,
        peer: String,
        visit: Option<(PatientId, outpost_proto::EncounterId)>,
    ) {
        let CallHandle {
            commands,
            mut events,
            mut video,
            kind,
            ..
        } = handle;
        *lock(&self.inner.commands) = Some(commands);
        *lock(&self.inner.frame) = None;
        lock(&self.inner.received).clear();
        *lock(&self.inner.view) = CallView {
            online: true,
            state: Some("connecting".into()),
            peer: Some(peer),
            audio_only: kind == CallKind::Audio,
            safety_number: Some(parties.safety_number()),
            patient: visit.map(|(p, _)| p.to_hex()),
            encounter: visit.map(|(_, e)| e.to_hex()),
            synthetic: self.inner.config.media == outpost_call::source::MediaInput::Synthetic,
            ..CallView::default()
        };
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move {
            let mut n = 0u64;
            while let Some(frame) = video.recv().await {
                n += 1;
                *lock(&inner.frame) = Some((n, frame));
                lock(&inner.view).frames = n;
            }
        });
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let ended = matches!(event, CallEvent::Ended { .. });
                fold(&inner, event);
                if ended {
                    break;
                }
            }
            *lock(&inner.commands) = None;
            if let Some((_, e)) = visit {
                let _ = inner.core.finish_encounter(e).await;
            }
        });
    }
}

/// What one event changes on the screen.
fn fold(inner: &Inner, event: CallEvent) {
    let mut v = lock(&inner.view);
    match event {
        CallEvent::State(s) => v.state = Some(state_name(s).into()),
        CallEvent::Level(change) => {
            v.audio_only = change.to == Level::AudioOnly;
            v.notice = Some(change.message().into());
        }
        CallEvent::PeerMedia(m) => {
            v.peer_notice = match (m.level, m.camera_off, m.muted) {
                (_, true, _) => Some("Their camera is off.".into()),
                (Level::AudioOnly, _, _) => Some("Their video is paused: audio only.".into()),
                (_, _, true) => Some("They are muted.".into()),
                _ => None,
            };
        }
        CallEvent::Share(share) => fold_share(inner, &mut v, share),
        CallEvent::ChannelOpen => {}
        CallEvent::Device(problem) => v.error = Some(problem),
        CallEvent::Ended { reason, stats } => {
            v.state = Some("ended".into());
            v.ended = Some(reason.as_str().into());
            if reason == EndReason::Security {
                v.error = Some(
                    "The call was ended for your safety: the other device failed a security check (its media key did not match its signed offer, or a message was altered). Nothing was sent."
                        .into(),
                );
            }
            v.stats = serde_json::to_string(&*stats).ok();
        }
    }
}

fn fold_share(inner: &Inner, v: &mut CallView, share: ShareEvent) {
    let find = |v: &mut CallView, id: &FileId| {
        let hex = outpost_proto::ids::to_hex(id);
        v.files.iter().position(|f| f.id == hex)
    };
    match share {
        ShareEvent::Chat(c) => v.chat.push(ChatLine {
            mine: false,
            text: c.text,
        }),
        ShareEvent::Offered { file, name, size } => v.files.push(SharedFile {
            id: outpost_proto::ids::to_hex(&file),
            name,
            outgoing: false,
            done: 0,
            total: size,
            complete: false,
        }),
        ShareEvent::Progress {
            file,
            outgoing,
            done,
            total,
        } => {
            if let Some(i) = find(v, &file) {
                v.files[i].done = done;
                v.files[i].total = total;
            } else {
                let hex = outpost_proto::ids::to_hex(&file);
                let named = v.files.iter_mut().find(|f| f.outgoing && f.id.is_empty());
                if let Some(f) = named.filter(|_| outgoing) {
                    f.id = hex;
                    f.done = done;
                    f.total = total;
                } else {
                    v.files.push(SharedFile {
                        id: hex,
                        name: "file".into(),
                        outgoing,
                        done,
                        total,
                        complete: false,
                    });
                }
            }
        }
        ShareEvent::Received(r) => {
            if let Some(i) = find(v, &r.file) {
                v.files[i].complete = true;
                v.files[i].done = v.files[i].total;
            }
            lock(&inner.received).insert(r.file, r);
        }
        ShareEvent::Delivered { file } => {
            if let Some(i) = find(v, &file) {
                v.files[i].complete = true;
            }
        }
        ShareEvent::Corrupted { file, .. } => {
            if let Some(i) = find(v, &file) {
                v.files[i].done = 0;
            }
        }
    }
}
