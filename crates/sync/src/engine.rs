//! The sync engine: one exchange with the relay as a state machine. It is handed the relay's
//! answers (or why none came) and says what to send next, until it says it is done. It does no
//! IO, reads no clock and draws no randomness: the caller passes the time, and envelopes are
//! sealed deterministically (a retried push is byte for byte the same).
//!
//! One exchange, in order:
//! 1. register the workspace with the relay (a founder, once) or send the join request (a
//!    joiner, once);
//! 2. open a session by signing the relay's challenge;
//! 3. carry out relay requests queued offline (invites, admissions, removals, key deliveries);
//! 4. read the mailbox: admit joiners (managers), take delivered keys;
//! 5. push this device's operations the relay lacks, sealed under the current epoch's key;
//! 6. pull everything above this device's watermarks and take it in (see `ingest`);
//! 7. upload attachment content the team lacks and download what others uploaded (`blobs`);
//! 8. settle (confirm keys, receipts, rotation) and push what that wrote.
//!
//! Every step's progress is in the store, so an exchange cut anywhere (a dropped link, a
//! killed process) is repeated harmlessly by the next one.

use outpost_crypto::{ContentType, SealedEnvelope, SequenceTracker};

use outpost_proto::{
    OpKind,
    canon::{Bytes, Canon},
    relay::{
        self, AckDirect, CreateInvite, CreateWorkspace, DIRECT_ENVELOPE, DIRECT_JOIN, Delivery,
        DirectBatch, ErrorCode, Join, OpenSession, Pull, Push, RemoveDevice, SendDirect, SetDevice,
    },
};

use crate::{
    Failure, Outgoing, Replica, Request, Response,
    blobs::Blobs,
    ingest::{self, Intake},
    replica::Membership,
};

/// Operations per push.
const PUSH_BATCH: usize = 256;
/// Soft limit of a pull response.
const PULL_BYTES: u32 = 2 * 1024 * 1024;
/// Pulls that bring nothing new before the engine stops asking.
const IDLE_PULLS: u32 = 1;

/// What one exchange did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// This device's operations the relay acknowledged.
    pub pushed: u64,
    /// Operations of other devices taken in (applied, refused or set aside).
    pub received: u64,
    /// Of those, refused (their authors had no right).
    pub refused: u64,
    /// Envelopes that could not be read (holes recorded).
    pub unreadable: u64,
    /// Operations still waiting for something (a key, an earlier operation).
    pub waiting: u64,
    /// Devices admitted (by this manager's device).
    pub admitted: u64,
    /// Join requests or key deliveries refused.
    pub refused_messages: u64,
    /// Attachments whose content this device uploaded.
    pub uploaded: u64,
    /// Attachments whose content arrived here.
    pub downloaded: u64,
    /// Whether the relay has admitted this device (false while it waits).
    pub device_admitted: bool,
}

/// Why an exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The relay could not be reached; nothing is lost, sync retries later.
    #[error("the relay is unreachable: {0}")]
    Unreachable(String),
    /// This device was removed from the workspace.
    #[error("this device was removed from the workspace")]
    Removed,
    /// The relay does not know this device as a member.
    #[error("the relay does not know this device as a member of the workspace")]
    NotMember,
    /// The invite could not be used.
    #[error("{0}")]
    Invite(String),
    /// The relay holds more of this device's own log than the device does: its database was
    /// restored from an older copy. Nothing is lost (the relay and the team hold what is
    /// missing here), but this device's log has forked and it pushes nothing more.
    #[error(
        "this device's database was restored from an older copy: the relay holds {missing} more of its own changes (nothing is lost: the team has them); join again with a new invite from a fresh profile to keep working on this device"
    )]
    RolledBack {
        /// Operations of this device the relay holds beyond its log.
        missing: u64,
    },
    /// The relay holds a different history of this device's log (it was restored from an
    /// older copy and wrote since): its new operations cannot be pushed.
    #[error(
        "the relay holds a different history of this device's log: it was restored from an older copy and then written to"
    )]
    Diverged,
    /// The relay refused, with its reason.
    #[error("the relay refused: {0}")]
    Relay(String),
    /// The device's store failed.
    #[error("{0}")]
    Store(String),
    /// Sealing failed.
    #[error("sealing failed: {0}")]
    Crypto(String),
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this and hand the answer to [`Engine::on_response`].
    Send(Outgoing),
    /// The exchange is over.
    Done(Result<Summary, SyncError>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Found,
    Join,
    Session,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Found,
    Join,
    Session,
    Tasks,
    Fetch,
    Push,
    Pull,
    Blobs,
    Settle,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Waiting {
    Challenge(Purpose),
    Found,
    Join,
    Session,
    Task(i64, String),
    Fetch,
    Ack,
    Push { count: u64 },
    Pull,
    OwnCheck,
    Blob,
}

/// One exchange with the relay (see the module docs).
#[derive(Debug)]
pub struct Engine {
    now_ms: i64,
    stage: Stage,
    waiting: Option<Waiting>,
    token: Option<[u8; 32]>,
    membership: Option<Membership>,
    relay_admitted: bool,
    second_round: bool,
    own_checked: bool,
    sequence_retries: u32,
    idle_pulls: u32,
    intake: Intake,
    blobs: Blobs,
    summary: Summary,
}

fn store_err(e: impl std::fmt::Display) -> SyncError {
    SyncError::Store(e.to_string())
}

fn refused_message(failure: &Failure) -> SyncError {
    match failure {
        Failure::Unreachable(why) => SyncError::Unreachable(why.clone()),
        Failure::Refused { body, .. } => match body.code {
            ErrorCode::REMOVED => SyncError::Removed,
            ErrorCode::FORBIDDEN => SyncError::NotMember,
            ErrorCode::INVITE_USED | ErrorCode::INVITE_EXPIRED => {
                SyncError::Invite(body.message.clone())
            }
            ErrorCode::SEQUENCE_REUSED => SyncError::Diverged,
            _ => SyncError::Relay(body.message.clone()),
        },
    }
}

impl Engine {
    /// An exchange starting at `now_ms`.
    pub fn new(now_ms: i64) -> Self {
        Self {
            now_ms,
            stage: Stage::Found,
            waiting: None,
            token: None,
            membership: None,
            relay_admitted: false,
            second_round: false,
            own_checked: false,
            sequence_retries: 0,
            idle_pulls: 0,
            intake: Intake::new(SequenceTracker::new()),
            blobs: Blobs::default(),
            summary: Summary::default(),
        }
    }

    /// The session token, once open (the live socket uses it).
    pub fn token(&self) -> Option<[u8; 32]> {
        self.token
    }

    /// Starts the exchange.
    pub fn start<R: Replica>(&mut self, r: &mut R) -> Action {
        match r.membership() {
            Ok(Some(m)) => {
                self.membership = Some(m);
                self.next(r)
            }
            Ok(None) => self.finish(
                r,
                Err(SyncError::Store(
                    "this profile is in no workspace: create or join one first".into(),
                )),
            ),
            Err(e) => self.finish(r, Err(store_err(e))),
        }
    }

    /// Takes envelopes that arrived outside an exchange (the live socket), with the token of
    /// a finished exchange. Returns how many operations were taken in.
    pub fn ingest_live<R: Replica>(
        &mut self,
        r: &mut R,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<u64, SyncError> {
        let before = self.summary.received;
        let workspace = match &self.membership {
            Some(m) => m.workspace,
            None => return Ok(0),
        };
        ingest::take(r, &mut self.intake, workspace, envelopes, &mut self.summary)?;
        Ok(self.summary.received - before)
    }

    fn send(&mut self, waiting: Waiting, request: Request) -> Action {
        let token = match request {
            Request::Challenge
            | Request::CreateWorkspace(_)
            | Request::Join(_)
            | Request::OpenSession(_) => None,
            _ => self.token,
        };
        self.waiting = Some(waiting);
        Action::Send(Outgoing { request, token })
    }

    fn finish<R: Replica>(&mut self, r: &mut R, outcome: Result<Summary, SyncError>) -> Action {
        let error = outcome.as_ref().err().map(ToString::to_string);
        let recorded = r.record_outcome(self.now_ms, error.as_deref());
        self.waiting = None;
        Action::Done(match (outcome, recorded) {
            (Ok(_), Err(e)) => Err(store_err(e)),
            (outcome, _) => outcome,
        })
    }

    /// Decides the next request from the stage.
    fn next<R: Replica>(&mut self, r: &mut R) -> Action {
        loop {
            let Some(m) = self.membership.clone() else {
                return self.finish(r, Err(SyncError::Store("no workspace".into())));
            };
            match self.stage {
                Stage::Found if m.must_found => {
                    return self.send(Waiting::Challenge(Purpose::Found), Request::Challenge);
                }
                Stage::Found => self.stage = Stage::Join,
                Stage::Join if m.join.is_some() => {
                    return self.send(Waiting::Challenge(Purpose::Join), Request::Challenge);
                }
                Stage::Join => self.stage = Stage::Session,
                Stage::Session => {
                    return self.send(Waiting::Challenge(Purpose::Session), Request::Challenge);
                }
                Stage::Tasks => match r.tasks() {
                    Err(e) => return self.finish(r, Err(store_err(e))),
                    Ok(tasks) => {
                        let Some(task) = tasks.into_iter().next() else {
                            self.stage = if self.second_round {
                                Stage::Push
                            } else {
                                Stage::Fetch
                            };
                            continue;
                        };
                        match task_request(&task.kind, &task.body) {
                            Some(request) => {
                                return self.send(Waiting::Task(task.id, task.kind), request);
                            }
                            // A request this build cannot read: dropped, not retried forever.
                            None => {
                                if let Err(e) = r.task_done(task.id) {
                                    return self.finish(r, Err(store_err(e)));
                                }
                            }
                        }
                    }
                },
                Stage::Fetch => return self.send(Waiting::Fetch, Request::FetchDirect),
                Stage::Push => match Self::push_request(r) {
                    Err(e) => return self.finish(r, Err(e)),
                    Ok(Some((count, request))) => {
                        return self.send(Waiting::Push { count }, request);
                    }
                    Ok(None) if self.second_round => {
                        let summary = self.summary.clone();
                        return self.finish(r, Ok(summary));
                    }
                    Ok(None) => self.stage = Stage::Pull,
                },
                Stage::Pull => match r.watermarks() {
                    Err(e) => return self.finish(r, Err(store_err(e))),
                    Ok(have) => {
                        return self.send(
                            Waiting::Pull,
                            Request::Pull(Pull {
                                have,
                                max_bytes: PULL_BYTES,
                            }),
                        );
                    }
                },
                Stage::Blobs => match self.blobs.next(r) {
                    Err(e) => return self.finish(r, Err(e)),
                    Ok(Some(request)) => return self.send(Waiting::Blob, request),
                    Ok(None) => {
                        self.summary.uploaded = self.blobs.uploaded;
                        self.summary.downloaded = self.blobs.downloaded;
                        self.stage = Stage::Settle;
                    }
                },
                Stage::Settle => match r.settle() {
                    Err(e) => return self.finish(r, Err(store_err(e))),
                    Ok(wrote) => {
                        self.summary.waiting = self.intake.waiting();
                        if wrote && !self.second_round {
                            self.second_round = true;
                            self.stage = Stage::Tasks;
                        } else {
                            let summary = self.summary.clone();
                            return self.finish(r, Ok(summary));
                        }
                    }
                },
            }
        }
    }

    fn push_request<R: Replica>(r: &mut R) -> Result<Option<(u64, Request)>, SyncError> {
        let Some(key) = r.sealing_key().map_err(store_err)? else {
            // No key yet (a device waiting for its first delivery): nothing can be sealed.
            return Ok(None);
        };
        let after = r.relay_head().map_err(store_err)?;
        let ops = r.outbox(after, PUSH_BATCH).map_err(store_err)?;
        if ops.is_empty() {
            return Ok(None);
        }
        let mut envelopes = Vec::with_capacity(ops.len());
        for op in &ops {
            // Deterministic: a push retried after a lost acknowledgement carries the very
            // bytes the relay already holds.
            let envelope = SealedEnvelope::seal_group_deterministic(
                r.device(),
                &key,
                op.header().seq,
                ContentType::RECORD,
                op.as_bytes(),
            )
            .map_err(|e| SyncError::Crypto(e.to_string()))?;
            envelopes.push(Bytes(envelope.encode()));
        }
        let count = u64::try_from(ops.len()).unwrap_or(u64::MAX);
        Ok(Some((count, Request::Push(Push { envelopes }))))
    }

    /// Hands over the answer to the last request.
    pub fn on_response<R: Replica>(
        &mut self,
        r: &mut R,
        response: Result<Response, Failure>,
    ) -> Action {
        let Some(waiting) = self.waiting.take() else {
            return self.finish(
                r,
                Err(SyncError::Relay("an answer nobody asked for".into())),
            );
        };
        match self.handle(r, waiting, response) {
            Ok(Some(action)) => action,
            Ok(None) => self.next(r),
            Err(e) => self.finish(r, Err(e)),
        }
    }

    /// Takes one answer in; `Some` when it decides the next action itself.
    fn handle<R: Replica>(
        &mut self,
        r: &mut R,
        waiting: Waiting,
        response: Result<Response, Failure>,
    ) -> Result<Option<Action>, SyncError> {
        let m = self
            .membership
            .clone()
            .ok_or_else(|| SyncError::Store("no workspace".into()))?;
        match (waiting, response) {
            (Waiting::Challenge(purpose), Ok(Response::Challenge(c))) => {
                Ok(Some(self.signed(purpose, &m, r, c.nonce)))
            }
            (Waiting::Found, Ok(Response::Empty)) => {
                r.founded().map_err(store_err)?;
                self.stage = Stage::Join;
                Ok(None)
            }
            (Waiting::Found, Err(Failure::Refused { body, .. }))
                if body.code == ErrorCode::EXISTS =>
            {
                // Registered by an earlier exchange whose answer was lost.
                r.founded().map_err(store_err)?;
                self.stage = Stage::Join;
                Ok(None)
            }
            (Waiting::Join, Ok(Response::Empty)) => {
                r.join_sent().map_err(store_err)?;
                self.stage = Stage::Session;
                Ok(None)
            }
            (Waiting::Session, Ok(Response::Session(s))) => {
                self.token = Some(s.token);
                self.relay_admitted = s.admitted;
                self.summary.device_admitted = s.admitted;
                let relay_head = r.relay_head().map_err(store_err)?;
                if s.own_head > relay_head && relay_head_is_stale(r, s.own_head)? {
                    // The relay holds more of this device's log than the device ever saw
                    // acknowledged and than it holds itself: it was put back to an older copy.
                    let own = r.own_head().map_err(store_err)?;
                    return Err(SyncError::RolledBack {
                        missing: s.own_head.saturating_sub(own.min(relay_head)),
                    });
                }
                self.stage = if s.admitted {
                    Stage::Tasks
                } else {
                    Stage::Fetch
                };
                Ok(None)
            }
            (Waiting::Task(id, _), Ok(_)) => {
                r.task_done(id).map_err(store_err)?;
                Ok(None)
            }
            (Waiting::Task(id, kind), Err(Failure::Refused { body, .. }))
                if (kind == "direct" && body.code == ErrorCode::NOT_FOUND)
                    || (kind == "invite" && body.code == ErrorCode::EXISTS)
                    || (kind == "remove_device" && body.code == ErrorCode::NOT_FOUND) =>
            {
                // Done already, or can never be done (a device gone): not retried.
                r.task_done(id).map_err(store_err)?;
                Ok(None)
            }
            (Waiting::Fetch, Ok(Response::Direct(batch))) => Ok(self.take_mailbox(r, &batch)),
            (Waiting::Ack, Ok(_)) => Ok(self.after_mailbox(r)),
            (Waiting::Push { count }, Ok(Response::PushAck(ack))) => {
                r.set_relay_head(ack.head).map_err(store_err)?;
                self.summary.pushed += count;
                self.sequence_retries = 0;
                Ok(None)
            }
            (Waiting::Push { .. }, Err(Failure::Refused { body, .. }))
                if body.code == ErrorCode::SEQUENCE && self.sequence_retries < 2 =>
            {
                // The relay holds a different amount of this log than recorded (an answer
                // lost, a relay restored): continue from where it is.
                self.sequence_retries += 1;
                let expected = body.expected.unwrap_or(1);
                r.set_relay_head(expected.saturating_sub(1))
                    .map_err(store_err)?;
                Ok(None)
            }
            (Waiting::Push { .. }, Err(Failure::Refused { body, .. }))
                if body.code == ErrorCode::SEQUENCE_REUSED && !self.own_checked =>
            {
                self.own_checked = true;
                Ok(Some(self.read_own_log(r)?))
            }
            (Waiting::Blob, response) => {
                self.blobs.on_response(r, response)?;
                Ok(None)
            }
            (Waiting::OwnCheck, Ok(Response::Batch(batch))) => {
                self.check_own(r, m.workspace, batch)?;
                Ok(None)
            }
            (Waiting::Pull, Ok(Response::Batch(batch))) => {
                self.take_batch(r, m.workspace, batch)?;
                Ok(None)
            }
            (_, Err(failure)) => Err(refused_message(&failure)),
            (_, Ok(_)) => Err(SyncError::Relay("an unexpected answer".into())),
        }
    }

    /// Admits joiners and takes delivered keys from the mailbox; acknowledges what it read.
    fn take_mailbox<R: Replica>(&mut self, r: &mut R, batch: &DirectBatch) -> Option<Action> {
        let mut ids = Vec::with_capacity(batch.messages.len());
        for message in &batch.messages {
            ids.push(message.id);
            let taken = match message.kind {
                DIRECT_JOIN => Join::from_canonical(&message.body.0)
                    .map_err(|_| ())
                    .and_then(|join| r.admit(&join).map_err(|_| ())),
                DIRECT_ENVELOPE => r
                    .accept_delivery(
                        &Delivery {
                            sender: message.sender,
                            envelope: message.body.clone(),
                        }
                        .to_canonical(),
                    )
                    .map_err(|_| ()),
                _ => Err(()),
            };
            match (taken, message.kind) {
                (Ok(()), DIRECT_JOIN) => self.summary.admitted += 1,
                (Ok(()), _) => {}
                (Err(()), _) => self.summary.refused_messages += 1,
            }
        }
        if ids.is_empty() {
            return self.after_mailbox(r);
        }
        Some(self.send(Waiting::Ack, Request::AckDirect(AckDirect { ids })))
    }

    /// Takes a pulled batch in; decides whether to pull again.
    fn take_batch<R: Replica>(
        &mut self,
        r: &mut R,
        workspace: outpost_proto::WorkspaceId,
        batch: outpost_proto::relay::Batch,
    ) -> Result<(), SyncError> {
        let received_before = self.summary.received + self.summary.unreadable;
        let envelopes = batch.envelopes.into_iter().map(|b| b.0).collect();
        ingest::take(r, &mut self.intake, workspace, envelopes, &mut self.summary)?;
        let progress = self.summary.received + self.summary.unreadable > received_before;
        if !progress {
            self.idle_pulls += 1;
        }
        if !batch.more || self.idle_pulls > IDLE_PULLS {
            self.stage = Stage::Blobs;
        }
        Ok(())
    }

    /// The relay holds other bytes at a place of this log: a push whose answer was lost,
    /// sealed again under a newer key since. Ask for what it holds, to compare.
    fn read_own_log<R: Replica>(&mut self, r: &mut R) -> Result<Action, SyncError> {
        let mut have = r.watermarks().map_err(store_err)?;
        let me = r.device().device_id();
        let head = r.relay_head().map_err(store_err)?;
        have.retain(|w| w.device != me);
        have.push(outpost_proto::payload::Watermark {
            device: me,
            seq: head,
        });
        Ok(self.send(
            Waiting::OwnCheck,
            Request::Pull(Pull {
                have,
                max_bytes: PULL_BYTES,
            }),
        ))
    }

    /// Compares what the relay holds of this device's own log with the log: the places that
    /// hold this device's very operations count as pushed; anything else is a divergence.
    fn check_own<R: Replica>(
        &mut self,
        r: &mut R,
        workspace: outpost_proto::WorkspaceId,
        batch: outpost_proto::relay::Batch,
    ) -> Result<(), SyncError> {
        let me = r.device().device_id();
        let mut head = r.relay_head().map_err(store_err)?;
        let mut others = Vec::new();
        for Bytes(bytes) in batch.envelopes {
            let Ok(envelope) = SealedEnvelope::decode(&bytes) else {
                continue;
            };
            if envelope.header().author != me {
                others.push(bytes);
                continue;
            }
            let seq = envelope.header().seq;
            let keys = r.opening_keys(envelope.header().epoch).map_err(store_err)?;
            let public = r.device().public();
            let held = keys
                .iter()
                .find_map(|k| envelope.open_group(k, &public).ok())
                .and_then(|o| outpost_proto::Operation::decode(o.plaintext().to_vec()).ok());
            let mine = r.outbox(seq - 1, 1).map_err(store_err)?;
            match (held, mine.first()) {
                (Some(h), Some(m)) if seq == head + 1 && h.hash() == m.hash() => head = seq,
                _ => return Err(SyncError::Diverged),
            }
        }
        r.set_relay_head(head).map_err(store_err)?;
        ingest::take(r, &mut self.intake, workspace, others, &mut self.summary)
    }

    /// After the mailbox: a device the relay has not admitted stops here.
    fn after_mailbox<R: Replica>(&mut self, r: &mut R) -> Option<Action> {
        if self.relay_admitted {
            self.stage = Stage::Push;
            None
        } else {
            let summary = self.summary.clone();
            Some(self.finish(r, Ok(summary)))
        }
    }

    /// The request a challenge was asked for, signed over its nonce.
    fn signed<R: Replica>(
        &mut self,
        purpose: Purpose,
        m: &Membership,
        r: &R,
        nonce: [u8; relay::NONCE_LEN],
    ) -> Action {
        let device = r.device();
        let identity = device.public().to_bytes();
        match purpose {
            Purpose::Found => {
                let signature = device.sign(&relay::signed_challenge(
                    relay::CREATE_CONTEXT,
                    &m.workspace,
                    &nonce,
                    &identity,
                    &[],
                ));
                self.send(
                    Waiting::Found,
                    Request::CreateWorkspace(CreateWorkspace {
                        workspace: m.workspace,
                        identity,
                        nonce,
                        signature,
                    }),
                )
            }
            Purpose::Join => {
                let (invite, sealed) = m
                    .join
                    .clone()
                    .unwrap_or((outpost_proto::InviteId([0; 16]), Vec::new()));
                let mut extra = invite.0.to_vec();
                extra.extend_from_slice(&sealed);
                let signature = device.sign(&relay::signed_challenge(
                    relay::JOIN_CONTEXT,
                    &m.workspace,
                    &nonce,
                    &identity,
                    &extra,
                ));
                self.send(
                    Waiting::Join,
                    Request::Join(Join {
                        workspace: m.workspace,
                        invite,
                        identity,
                        nonce,
                        sealed: Bytes(sealed),
                        signature,
                    }),
                )
            }
            Purpose::Session => {
                let signature = device.sign(&relay::signed_challenge(
                    relay::SESSION_CONTEXT,
                    &m.workspace,
                    &nonce,
                    &identity,
                    &[],
                ));
                self.send(
                    Waiting::Session,
                    Request::OpenSession(OpenSession {
                        workspace: m.workspace,
                        identity,
                        nonce,
                        signature,
                    }),
                )
            }
        }
    }
}

/// The relay request a queued task stands for.
fn task_request(kind: &str, body: &[u8]) -> Option<Request> {
    Some(match kind {
        "invite" => Request::CreateInvite(CreateInvite::from_canonical(body).ok()?),
        "set_device" => Request::SetDevice(SetDevice::from_canonical(body).ok()?),
        "remove_device" => Request::RemoveDevice(RemoveDevice::from_canonical(body).ok()?),
        "direct" => Request::SendDirect(SendDirect::from_canonical(body).ok()?),
        _ => return None,
    })
}

/// Whether an operation kind is one whose arrival says nothing new to acknowledge.
pub fn is_receipt(kind: OpKind) -> bool {
    kind == OpKind::RECEIPT
}

/// Whether the relay's head of this device's own log is beyond what the device holds: a
/// restored database (the relay being ahead of the recorded acknowledgement alone is only a
/// lost answer, when the device holds those operations).
fn relay_head_is_stale<R: Replica>(r: &mut R, relay_has: u64) -> Result<bool, SyncError> {
    Ok(r.own_head().map_err(store_err)? < relay_has)
}
