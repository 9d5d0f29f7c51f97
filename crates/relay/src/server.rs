//! The accept loop: a bounded number of connections, a TLS handshake (when configured) and the
//! request headers each within a deadline, HTTP/1.1 with WebSocket upgrades, and a graceful
//! shutdown that lets requests in flight finish (their writes are durable before they are
//! acknowledged, so even a kill loses nothing acknowledged).

use std::{net::SocketAddr, sync::Arc};

use axum::extract::ConnectInfo;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{Semaphore, watch},
};
use tower::ServiceExt;

use crate::{
    Config, RelayError,
    api::{self, AppState},
    storage::SqliteStorage,
    tls,
};

/// A bound relay, ready to [`Relay::run`].
pub struct Relay {
    listener: TcpListener,
    config: Config,
    storage: SqliteStorage,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("addr", &self.local_addr())
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// Opens the database and binds the address.
    pub async fn bind(config: Config) -> Result<Self, RelayError> {
        let storage = SqliteStorage::open(&config.data)?;
        let tls = match &config.tls {
            Some((cert, key)) => Some(tls::acceptor(cert, key)?),
            None => None,
        };
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| RelayError::Bind {
                    addr: config.listen,
                    source,
                })?;
        Ok(Self {
            listener,
            config,
            storage,
            tls,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.config.listen)
    }

    /// The URL clients use.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.local_addr())
    }

    /// Whether it serves plain HTTP on an address other machines can reach.
    pub fn plain_on_network(&self) -> bool {
        self.tls.is_none() && !self.local_addr().ip().is_loopback()
    }

    /// Serves until `shutdown` resolves, then waits for requests in flight (up to 10 s).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let (stop_tx, stop_rx) = watch::channel(false);
        let state = Arc::new(
            AppState::new(self.storage.clone(), self.config.limits.clone(), stop_rx)
                .with_turn(self.config.turn.clone()),
        );
        let router = api::router(state);
        let limits = self.config.limits.clone();
        let slots = Arc::new(Semaphore::new(limits.max_connections));
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                permit = slots.clone().acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => break,
                },
                () = &mut shutdown => break,
            };
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                () = &mut shutdown => break,
            };
            // Out of file descriptors and the like: wait a little, keep serving.
            let Ok((stream, peer)) = accepted else {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            let service = router.clone().map_request(
                move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    req
                },
            );
            let stop = stop_tx.subscribe();
            let tls = self.tls.clone();
            let limits = limits.clone();
            tokio::spawn(async move {
                let _permit = permit;
                serve_connection(stream, tls, limits, service, stop).await;
            });
        }
        // Stop live sockets and idle connections, then let requests in flight finish: every
        // connection's slot comes back when it ends.
        let _ = stop_tx.send(true);
        let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(10), slots.acquire_many(all)).await;
    }
}

async fn serve_connection<S>(
    stream: TcpStream,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: crate::Limits,
    service: S,
    stop: watch::Receiver<bool>,
) where
    S: tower::Service<
            axum::http::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    match tls {
        Some(acceptor) => {
            let Ok(Ok(stream)) =
                tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream)).await
            else {
                return;
            };
            drive(TokioIo::new(stream), &limits, service, stop).await;
        }
        None => drive(TokioIo::new(stream), &limits, service, stop).await,
    }
}

/// Serves one connection until it ends; on shutdown, finishes the request in flight and
/// closes.
async fn drive<I, S>(io: I, limits: &crate::Limits, service: S, mut stop: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: tower::Service<
            axum::http::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(64 * 1024);
    let conn = builder
        .serve_connection(io, TowerToHyperService::new(service))
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = async { let _ = stop.wait_for(|stopped| *stopped).await; } => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
