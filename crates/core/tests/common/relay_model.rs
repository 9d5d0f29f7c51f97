//! An in-memory stand-in for the relay, for driving the sans-IO engine deterministically: the
//! same protocol rules as `outpost-relay` (single-use invites, pending devices, per-author
//! contiguous logs, mailboxes, removals), none of its IO. Faults are injected around it.

use std::collections::{BTreeMap, HashMap};

use outpost_crypto::{PublicIdentity, SealedEnvelope};
use outpost_proto::{
    DeviceId, InviteId, WorkspaceId,
    canon::{Bytes, Canon},
    payload::Watermark,
    relay::{
        Batch, Challenge, DIRECT_ENVELOPE, DIRECT_JOIN, DirectBatch, DirectMessage, ErrorBody,
        ErrorCode, PushAck, Session,
    },
};
use outpost_sync::{Failure, Outgoing, Request, Response};

#[derive(Debug, Clone)]
struct Device {
    identity: [u8; 64],
    admin: bool,
    member: bool,
    removed: bool,
}

/// The relay's state.
#[derive(Debug, Default)]
pub struct RelayModel {
    workspace: Option<WorkspaceId>,
    devices: HashMap<DeviceId, Device>,
    invites: HashMap<InviteId, bool>,
    logs: BTreeMap<DeviceId, Vec<Vec<u8>>>,
    mailboxes: HashMap<DeviceId, Vec<DirectMessage>>,
    next_id: u64,
    sessions: HashMap<[u8; 32], DeviceId>,
    nonce: u64,
}

fn refused(code: u16, message: &str) -> Failure {
    Failure::Refused {
        status: 400,
        body: ErrorBody {
            code,
            message: message.into(),
            expected: None,
        },
    }
}

impl RelayModel {
    fn caller(&self, token: Option<[u8; 32]>) -> Result<DeviceId, Failure> {
        let device = token
            .and_then(|t| self.sessions.get(&t).copied())
            .ok_or_else(|| refused(ErrorCode::UNAUTHENTICATED, "no session"))?;
        match self.devices.get(&device) {
            Some(d) if d.removed => Err(refused(ErrorCode::REMOVED, "removed")),
            Some(_) => Ok(device),
            None => Err(refused(ErrorCode::FORBIDDEN, "not a member")),
        }
    }

    fn member(&self, token: Option<[u8; 32]>) -> Result<DeviceId, Failure> {
        let d = self.caller(token)?;
        if self.devices[&d].member {
            Ok(d)
        } else {
            Err(refused(ErrorCode::FORBIDDEN, "not admitted"))
        }
    }

    /// Every envelope held, per author (for tampering and zero-knowledge checks).
    pub fn envelopes(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.logs.values().flatten()
    }

    /// Replaces one stored envelope (an attacker owning the relay).
    pub fn tamper(&mut self, author: DeviceId, seq: u64, f: impl FnOnce(&mut Vec<u8>)) {
        if let Some(e) = self
            .logs
            .get_mut(&author)
            .and_then(|l| l.get_mut(usize::try_from(seq - 1).unwrap()))
        {
            f(e);
        }
    }

    /// Answers one request.
    #[allow(clippy::too_many_lines)] // one arm per request, like the relay's router
    pub fn handle(&mut self, out: &Outgoing) -> Result<Response, Failure> {
        match &out.request {
            Request::Challenge => {
                self.nonce += 1;
                let mut nonce = [0u8; 32];
                nonce[..8].copy_from_slice(&self.nonce.to_be_bytes());
                Ok(Response::Challenge(Challenge { nonce }))
            }
            Request::CreateWorkspace(r) => {
                if self.workspace.is_some() {
                    return Err(refused(ErrorCode::EXISTS, "exists"));
                }
                self.workspace = Some(r.workspace);
                let id = PublicIdentity::from_bytes(&r.identity).unwrap().device_id();
                self.devices.insert(
                    id,
                    Device {
                        identity: r.identity,
                        admin: true,
                        member: true,
                        removed: false,
                    },
                );
                Ok(Response::Empty)
            }
            Request::Join(j) => {
                match self.invites.get(&j.invite) {
                    None => return Err(refused(ErrorCode::NOT_FOUND, "no such invite")),
                    Some(true) => {
                        return Err(refused(ErrorCode::INVITE_USED, "invite already used"));
                    }
                    Some(false) => {}
                }
                self.invites.insert(j.invite, true);
                let id = PublicIdentity::from_bytes(&j.identity).unwrap().device_id();
                self.devices.insert(
                    id,
                    Device {
                        identity: j.identity,
                        admin: false,
                        member: false,
                        removed: false,
                    },
                );
                let admins: Vec<DeviceId> = self
                    .devices
                    .iter()
                    .filter(|(_, d)| d.admin && d.member && !d.removed)
                    .map(|(id, _)| *id)
                    .collect();
                for admin in admins {
                    self.next_id += 1;
                    self.mailboxes
                        .entry(admin)
                        .or_default()
                        .push(DirectMessage {
                            id: self.next_id,
                            from: id,
                            sender: j.identity,
                            kind: DIRECT_JOIN,
                            body: Bytes(j.to_canonical()),
                        });
                }
                Ok(Response::Empty)
            }
            Request::OpenSession(s) => {
                let id = PublicIdentity::from_bytes(&s.identity).unwrap().device_id();
                let Some(d) = self.devices.get(&id) else {
                    return Err(refused(ErrorCode::FORBIDDEN, "not a member"));
                };
                if d.removed {
                    return Err(refused(ErrorCode::REMOVED, "removed"));
                }
                let mut token = [0u8; 32];
                token[..16].copy_from_slice(&id.0);
                token[16..24].copy_from_slice(&s.nonce[..8]);
                self.sessions.insert(token, id);
                Ok(Response::Session(Session {
                    token,
                    expires_at: i64::MAX,
                    admitted: d.member,
                    admin: d.admin,
                    own_head: self.logs.get(&id).map_or(0, |l| l.len() as u64),
                }))
            }
            Request::CreateInvite(i) => {
                let d = self.member(out.token)?;
                assert!(self.devices[&d].admin, "only admin devices create invites");
                self.invites.entry(i.invite).or_insert(false);
                Ok(Response::Empty)
            }
            Request::SetDevice(s) => {
                let d = self.member(out.token)?;
                if !self.devices[&d].admin {
                    return Err(refused(ErrorCode::FORBIDDEN, "not an admin device"));
                }
                let id = PublicIdentity::from_bytes(&s.identity).unwrap().device_id();
                let entry = self.devices.entry(id).or_insert(Device {
                    identity: s.identity,
                    admin: false,
                    member: false,
                    removed: false,
                });
                if !entry.removed {
                    entry.member = true;
                    entry.admin = s.admin;
                }
                Ok(Response::Empty)
            }
            Request::RemoveDevice(r) => {
                let d = self.member(out.token)?;
                if !self.devices[&d].admin {
                    return Err(refused(ErrorCode::FORBIDDEN, "not an admin device"));
                }
                match self.devices.get_mut(&r.device) {
                    Some(x) => {
                        x.removed = true;
                        Ok(Response::Empty)
                    }
                    None => Err(refused(ErrorCode::NOT_FOUND, "no such device")),
                }
            }
            Request::SendDirect(s) => {
                let d = self.member(out.token)?;
                if !self.devices.contains_key(&s.to) {
                    return Err(refused(ErrorCode::NOT_FOUND, "no such device"));
                }
                self.next_id += 1;
                let sender = self.devices[&d].identity;
                self.mailboxes.entry(s.to).or_default().push(DirectMessage {
                    id: self.next_id,
                    from: d,
                    sender,
                    kind: DIRECT_ENVELOPE,
                    body: s.envelope.clone(),
                });
                Ok(Response::Empty)
            }
            Request::FetchDirect => {
                let d = self.caller(out.token)?;
                Ok(Response::Direct(DirectBatch {
                    messages: self.mailboxes.get(&d).cloned().unwrap_or_default(),
                }))
            }
            Request::AckDirect(a) => {
                let d = self.caller(out.token)?;
                if let Some(m) = self.mailboxes.get_mut(&d) {
                    m.retain(|x| !a.ids.contains(&x.id));
                }
                Ok(Response::Empty)
            }
            Request::Push(p) => {
                let d = self.member(out.token)?;
                let log = self.logs.entry(d).or_default();
                for Bytes(bytes) in &p.envelopes {
                    let env = SealedEnvelope::decode(bytes).unwrap();
                    assert_eq!(env.header().author, d, "a device pushes only its own log");
                    let seq = env.header().seq;
                    let held = log.len() as u64;
                    if seq <= held {
                        if &log[usize::try_from(seq - 1).unwrap()] != bytes {
                            return Err(refused(ErrorCode::SEQUENCE_REUSED, "reused"));
                        }
                    } else if seq == held + 1 {
                        log.push(bytes.clone());
                    } else {
                        return Err(Failure::Refused {
                            status: 409,
                            body: ErrorBody {
                                code: ErrorCode::SEQUENCE,
                                message: "gap".into(),
                                expected: Some(held + 1),
                            },
                        });
                    }
                }
                Ok(Response::PushAck(PushAck {
                    head: log.len() as u64,
                }))
            }
            Request::BlobStatus(_)
            | Request::BlobPut { .. }
            | Request::BlobComplete(_)
            | Request::BlobGet { .. } => {
                self.member(out.token)?;
                Err(refused(ErrorCode::NOT_FOUND, "this model holds no blobs"))
            }
            Request::CreateVisit(_) | Request::OpenGuest(_) | Request::TurnServers => {
                Err(refused(ErrorCode::NOT_FOUND, "this model holds no visits"))
            }
            Request::Pull(p) => {
                self.member(out.token)?;
                let mut envelopes = Vec::new();
                let mut heads = Vec::new();
                for (author, log) in &self.logs {
                    heads.push(Watermark {
                        device: *author,
                        seq: log.len() as u64,
                    });
                    let have = p
                        .have
                        .iter()
                        .find(|w| w.device == *author)
                        .map_or(0, |w| w.seq);
                    for e in log.iter().skip(usize::try_from(have).unwrap()) {
                        envelopes.push(Bytes(e.clone()));
                    }
                }
                Ok(Response::Batch(Batch {
                    envelopes,
                    more: false,
                    heads,
                }))
            }
        }
    }
}
