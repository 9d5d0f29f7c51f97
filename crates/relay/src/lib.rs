//! Outpost's relay: the meeting point of a care team's devices when they are online.
//!
//! It authenticates devices by a signature over its challenge (no passwords), keeps each
//! device's log of sealed envelopes, hands every member what it has not seen yet, holds direct
//! messages (key deliveries, join requests) and encrypted attachment blobs, pushes new
//! envelopes to connected devices over a WebSocket, and routes sealed call signals between
//! connected devices (a patient joins through a one-time visit, as a guest). It cannot read any of it: envelopes are
//! end-to-end encrypted and signed by their author devices, and the relay checks only those
//! signatures (so nobody can write into another device's log through it).
//!
//! - [`storage`]: the [`storage::Storage`] trait, its SQLite backend and conformance suite.
//! - [`api`]: the HTTP and WebSocket endpoints (protocol in `outpost_proto::relay`).
//! - [`limits`]: sizes, rates and quotas, so no client can exhaust the relay.
//! - `signal`: routing of call signals between connected devices (never stored).
//! - [`server`]: the accept loop (TLS, timeouts, graceful shutdown).
//! - [`turn`]: time-limited TURN credentials for calls (coturn's REST format).

pub mod api;
mod auth;
pub mod limits;
mod live;
pub mod server;
mod signal;
pub mod storage;
mod tls;
pub mod turn;

use std::{net::SocketAddr, path::PathBuf};

pub use limits::Limits;
pub use server::Relay;

/// How to run a relay.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Directory for the database.
    pub data: PathBuf,
    /// PEM certificate chain and private key, for HTTPS and WSS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Sizes, rates and quotas.
    pub limits: Limits,
    /// The TURN server calls may use, if any.
    pub turn: Option<turn::TurnConfig>,
}

/// Why the relay could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate or key could not be read.
    #[error("TLS: {0}")]
    Tls(String),
    /// The database could not be opened.
    #[error("storage: {0}")]
    Storage(#[from] storage::StorageError),
}

/// The current time, UTC milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
