//! Outpost's offline-first replication, sans IO.
//!
//! Every device keeps its own hash-linked log of signed operations (`outpost_proto`). Sync
//! carries each device's log, sealed in envelopes under the workspace's current group key,
//! through a relay that cannot read them; every device takes in everyone's logs, verifies
//! them and applies them through the store's one apply path. Merging is the store's: per
//! field with conflicts kept for people, notes and vitals as sets, drafts as revision graphs.
//!
//! - [`Engine`]: one exchange with the relay as a state machine: told the time and handed the
//!   relay's answers, it says what to send next ([`Action`]).
//! - [`Replica`]: what it needs from the device's store.
//! - [`Request`], [`Response`], [`Failure`]: what crosses the transport.
//!
//! Nothing here reads a clock, draws randomness, touches a socket or a file.

mod blobs;
mod engine;
mod ingest;
mod replica;
mod wire;

pub use engine::{Action, Engine, Summary, SyncError, is_receipt};
pub use replica::{Membership, Offered, Replica, Task, Transfer};
pub use wire::{Failure, Outgoing, Request, Response};
