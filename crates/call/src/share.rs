//! In-call chat and file sharing over the call's data channel (sans IO).
//!
//! The data channel is reliable and ordered and already inside DTLS, which is itself keyed
//! from fingerprints the identity keys signed. Files go as an offer (name, type, size,
//! SHA-256), then chunks from the offset the receiver says it has, so a transfer cut by a
//! reconnect resumes where it stopped instead of starting over on a slow link; the receiver
//! checks the hash before it hands the file over, and a mismatch is an error, never a file.
//!
//! Sending is pulled, not pushed: the IO layer asks [`Share::next_chunk`] for more only while
//! the channel's send buffer is low, so a 5 MB photo never queues 5 MB in memory at once on a
//! 2G link, and chat messages overtake file chunks.

use std::collections::{BTreeMap, VecDeque};

use outpost_proto::{
    canon::{Bytes, Canon, DecodeError},
    canon_struct,
};

/// A transfer's id, chosen by the sender.
pub type FileId = [u8; 16];

/// Bytes of file per chunk message (well under SCTP's usual 64 KiB message limit).
pub const CHUNK: usize = 16 * 1024;
/// Largest file shared in a call (a phone photo or a short PDF; bigger goes through the chart's
/// store-and-forward attachments).
pub const MAX_FILE: u64 = 64 * 1024 * 1024;
/// Longest chat message, in bytes.
pub const MAX_CHAT: usize = 4096;

canon_struct! {
    /// A chat line.
    #[derive(Clone, PartialEq, Eq)]
    pub struct Chat {
        /// When it was written (sender's clock, UTC ms).
        pub sent_ms: u64,
        /// The text.
        pub text: String,
    }
}

canon_struct! {
    /// A file on offer.
    #[derive(Clone, PartialEq, Eq)]
    pub struct Offer {
        /// The transfer.
        pub file: FileId,
        /// File name as the sender had it (shown, never used as a path).
        pub name: String,
        /// Media type, e.g. `image/jpeg`.
        pub mime: String,
        /// Size in bytes.
        pub size: u64,
        /// SHA-256 of the whole file.
        pub sha256: [u8; 32],
    }
}

canon_struct! {
    /// The receiver has the first `have` bytes: send from there.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Resume {
        /// The transfer.
        pub file: FileId,
        /// Bytes already held.
        pub have: u64,
    }
}

canon_struct! {
    /// Part of a file.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Chunk {
        /// The transfer.
        pub file: FileId,
        /// Where this part starts.
        pub offset: u64,
        /// The bytes.
        pub data: Bytes,
    }
}

canon_struct! {
    /// The receiver has the whole file and its hash matched (or it gave up).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Done {
        /// The transfer.
        pub file: FileId,
        /// Whether the file arrived intact.
        pub ok: bool,
    }
}

// Chat text and file names are patient data: their Debug shows sizes only, so a stray `{:?}`
// in a log line leaks nothing.
impl std::fmt::Debug for Chat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Chat({} bytes at {})", self.text.len(), self.sent_ms)
    }
}

impl std::fmt::Debug for Offer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Offer({} bytes)", self.size)
    }
}

/// One data channel message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A chat line.
    Chat(Chat),
    /// A file on offer.
    Offer(Offer),
    /// Send from here.
    Resume(Resume),
    /// Part of a file.
    Chunk(Chunk),
    /// Transfer finished.
    Done(Done),
}

impl Message {
    /// Canonical bytes: a tag, then the message.
    pub fn encode(&self) -> Vec<u8> {
        let (tag, body) = match self {
            Self::Chat(m) => (1, m.to_canonical()),
            Self::Offer(m) => (2, m.to_canonical()),
            Self::Resume(m) => (3, m.to_canonical()),
            Self::Chunk(m) => (4, m.to_canonical()),
            Self::Done(m) => (5, m.to_canonical()),
        };
        let mut out = Vec::with_capacity(1 + body.len());
        out.push(tag);
        out.extend(body);
        out
    }

    /// Decodes what [`Message::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (&tag, rest) = bytes.split_first().ok_or(DecodeError::Truncated)?;
        Ok(match tag {
            1 => Self::Chat(Chat::from_canonical(rest)?),
            2 => Self::Offer(Offer::from_canonical(rest)?),
            3 => Self::Resume(Resume::from_canonical(rest)?),
            4 => Self::Chunk(Chunk::from_canonical(rest)?),
            5 => Self::Done(Done::from_canonical(rest)?),
            code => {
                return Err(DecodeError::UnknownCode {
                    field: "data channel message",
                    code: u32::from(code),
                });
            }
        })
    }
}

/// Why a share step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// A file over [`MAX_FILE`].
    #[error("the file is {size} bytes; files shared in a call can be at most {MAX_FILE} bytes")]
    TooLarge {
        /// Its size.
        size: u64,
    },
    /// A chat message over [`MAX_CHAT`] bytes.
    #[error("the message is too long ({len} bytes; at most {MAX_CHAT})")]
    ChatTooLong {
        /// Its length.
        len: usize,
    },
    /// The peer sent something that does not fit the protocol.
    #[error("the other side sent a malformed data channel message")]
    Malformed,
}

/// What happened, for the UI and the chart.
#[derive(Clone, PartialEq, Eq)]
pub enum ShareEvent {
    /// A chat line arrived.
    Chat(Chat),
    /// The peer offered a file; it is being received.
    Offered {
        /// The transfer.
        file: FileId,
        /// Its name.
        name: String,
        /// Its size.
        size: u64,
    },
    /// Bytes moved.
    Progress {
        /// The transfer.
        file: FileId,
        /// True for a file we send.
        outgoing: bool,
        /// Bytes done.
        done: u64,
        /// Bytes in all.
        total: u64,
    },
    /// A file arrived whole, its hash checked.
    Received(ReceivedFile),
    /// The peer confirmed our file arrived intact.
    Delivered {
        /// The transfer.
        file: FileId,
    },
    /// A transfer failed (hash mismatch); it starts over from the beginning.
    Corrupted {
        /// The transfer.
        file: FileId,
        /// True for a file we send.
        outgoing: bool,
    },
}

impl std::fmt::Debug for ShareEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Chat(c) => c.fmt(f),
            Self::Offered { size, .. } => write!(f, "Offered({size} bytes)"),
            Self::Progress {
                outgoing,
                done,
                total,
                ..
            } => write!(f, "Progress(outgoing: {outgoing}, {done}/{total})"),
            Self::Received(r) => r.fmt(f),
            Self::Delivered { .. } => f.write_str("Delivered"),
            Self::Corrupted { outgoing, .. } => write!(f, "Corrupted(outgoing: {outgoing})"),
        }
    }
}

/// A file received in a call, ready to be shown or attached to the chart.
#[derive(Clone, PartialEq, Eq)]
pub struct ReceivedFile {
    /// The transfer.
    pub file: FileId,
    /// Name as sent.
    pub name: String,
    /// Media type as sent.
    pub mime: String,
    /// The bytes; their SHA-256 matched the offer's.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for ReceivedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names and contents are patient data: neither goes to a log.
        write!(f, "ReceivedFile({} bytes)", self.bytes.len())
    }
}

struct Outgoing {
    offer: Offer,
    bytes: Vec<u8>,
    /// Where to send from next; `None` until the receiver says where it stands.
    next: Option<u64>,
}

struct Incoming {
    offer: Offer,
    bytes: Vec<u8>,
}

/// Both directions of chat and file sharing for one call.
#[derive(Default)]
pub struct Share {
    outgoing: BTreeMap<FileId, Outgoing>,
    incoming: BTreeMap<FileId, Incoming>,
    /// Control messages waiting to go, ahead of any chunk.
    queue: VecDeque<Message>,
}

impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Share")
            .field("outgoing", &self.outgoing.len())
            .field("incoming", &self.incoming.len())
            .finish_non_exhaustive()
    }
}

impl Share {
    /// Nothing shared yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues a chat line.
    pub fn chat(&mut self, text: &str, now_ms: u64) -> Result<Chat, ShareError> {
        if text.len() > MAX_CHAT {
            return Err(ShareError::ChatTooLong { len: text.len() });
        }
        let chat = Chat {
            sent_ms: now_ms,
            text: text.to_owned(),
        };
        self.queue.push_back(Message::Chat(chat.clone()));
        Ok(chat)
    }

    /// Offers a file; its chunks go once the receiver answers.
    pub fn offer(
        &mut self,
        file: FileId,
        name: &str,
        mime: &str,
        bytes: Vec<u8>,
    ) -> Result<(), ShareError> {
        let size = bytes.len() as u64;
        if size > MAX_FILE {
            return Err(ShareError::TooLarge { size });
        }
        let offer = Offer {
            file,
            name: name.to_owned(),
            mime: mime.to_owned(),
            size,
            sha256: outpost_crypto::primitives::sha256(&bytes),
        };
        self.queue.push_back(Message::Offer(offer.clone()));
        self.outgoing.insert(
            file,
            Outgoing {
                offer,
                bytes,
                next: None,
            },
        );
        Ok(())
    }

    /// After the data channel reopened (a new connection): re-offer what was not confirmed, and
    /// tell the peer how far each incoming file got so it resumes from there.
    pub fn reopened(&mut self) {
        self.queue.clear();
        for (file, inc) in &self.incoming {
            self.queue.push_back(Message::Resume(Resume {
                file: *file,
                have: inc.bytes.len() as u64,
            }));
        }
        for out in self.outgoing.values_mut() {
            out.next = None;
            self.queue.push_back(Message::Offer(out.offer.clone()));
        }
    }

    /// The next message to send: control messages and chat first, then one file chunk.
    /// Returns the message and, for a chunk, the progress it makes.
    pub fn next_chunk(&mut self) -> Option<(Message, Option<ShareEvent>)> {
        if let Some(m) = self.queue.pop_front() {
            return Some((m, None));
        }
        let (file, out) = self
            .outgoing
            .iter_mut()
            .find(|(_, o)| o.next.is_some_and(|n| n < o.bytes.len() as u64))?;
        let start = out.next.unwrap_or(0);
        let from = usize::try_from(start)
            .unwrap_or(usize::MAX)
            .min(out.bytes.len());
        let to = (from + CHUNK).min(out.bytes.len());
        out.next = Some(to as u64);
        let total = out.bytes.len() as u64;
        Some((
            Message::Chunk(Chunk {
                file: *file,
                offset: start,
                data: Bytes(out.bytes[from..to].to_vec()),
            }),
            Some(ShareEvent::Progress {
                file: *file,
                outgoing: true,
                done: to as u64,
                total,
            }),
        ))
    }

    /// Handles one message from the peer.
    pub fn on_message(&mut self, bytes: &[u8]) -> Result<Vec<ShareEvent>, ShareError> {
        let message = Message::decode(bytes).map_err(|_| ShareError::Malformed)?;
        Ok(match message {
            Message::Chat(chat) => {
                if chat.text.len() > MAX_CHAT {
                    return Err(ShareError::Malformed);
                }
                vec![ShareEvent::Chat(chat)]
            }
            Message::Offer(offer) => self.on_offer(offer)?,
            Message::Resume(r) => {
                if let Some(out) = self.outgoing.get_mut(&r.file) {
                    out.next = Some(r.have.min(out.bytes.len() as u64));
                }
                Vec::new()
            }
            Message::Chunk(c) => self.on_chunk(&c)?,
            Message::Done(d) => match self.outgoing.get_mut(&d.file) {
                Some(_) if d.ok => {
                    self.outgoing.remove(&d.file);
                    vec![ShareEvent::Delivered { file: d.file }]
                }
                Some(out) => {
                    out.next = None; // the receiver asks again from 0 with a Resume
                    vec![ShareEvent::Corrupted {
                        file: d.file,
                        outgoing: true,
                    }]
                }
                None => Vec::new(),
            },
        })
    }

    fn on_offer(&mut self, offer: Offer) -> Result<Vec<ShareEvent>, ShareError> {
        if offer.size > MAX_FILE {
            return Err(ShareError::Malformed);
        }
        let file = offer.file;
        // A re-offer after a reconnect (or a repeat) keeps what has arrived.
        let have = match self.incoming.get(&file) {
            Some(inc) if inc.offer.size == offer.size && inc.offer.sha256 == offer.sha256 => {
                inc.bytes.len() as u64
            }
            _ => {
                let event = ShareEvent::Offered {
                    file,
                    name: offer.name.clone(),
                    size: offer.size,
                };
                self.incoming.insert(
                    file,
                    Incoming {
                        offer,
                        bytes: Vec::new(),
                    },
                );
                self.queue
                    .push_back(Message::Resume(Resume { file, have: 0 }));
                return Ok(vec![event]);
            }
        };
        self.queue.push_back(Message::Resume(Resume { file, have }));
        Ok(Vec::new())
    }

    fn on_chunk(&mut self, c: &Chunk) -> Result<Vec<ShareEvent>, ShareError> {
        let Some(inc) = self.incoming.get_mut(&c.file) else {
            return Ok(Vec::new()); // a chunk for a transfer we finished or never saw
        };
        if c.offset != inc.bytes.len() as u64 {
            return Ok(Vec::new()); // sent before our Resume reached the peer
        }
        if inc.bytes.len() as u64 + c.data.0.len() as u64 > inc.offer.size {
            return Err(ShareError::Malformed);
        }
        inc.bytes.extend_from_slice(&c.data.0);
        let done = inc.bytes.len() as u64;
        let total = inc.offer.size;
        let mut events = vec![ShareEvent::Progress {
            file: c.file,
            outgoing: false,
            done,
            total,
        }];
        if done == total {
            let inc = self.incoming.remove(&c.file).ok_or(ShareError::Malformed)?;
            let intact = outpost_crypto::primitives::sha256(&inc.bytes) == inc.offer.sha256;
            self.queue.push_back(Message::Done(Done {
                file: c.file,
                ok: intact,
            }));
            if intact {
                events.push(ShareEvent::Received(ReceivedFile {
                    file: c.file,
                    name: inc.offer.name,
                    mime: inc.offer.mime,
                    bytes: inc.bytes,
                }));
            } else {
                // Start over from nothing: the bad bytes could be anywhere.
                let file = c.file;
                self.incoming.insert(
                    file,
                    Incoming {
                        offer: inc.offer,
                        bytes: Vec::new(),
                    },
                );
                self.queue
                    .push_back(Message::Resume(Resume { file, have: 0 }));
                events.push(ShareEvent::Corrupted {
                    file,
                    outgoing: false,
                });
            }
        }
        Ok(events)
    }
}
