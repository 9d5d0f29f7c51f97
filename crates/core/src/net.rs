//! The network transport: to the relay, the sync engine's requests as HTTP/1.1 (TLS with
//! rustls and the system's roots, plus `OUTPOST_RELAY_CA` for a relay with its own
//! certificate) and the live and signaling WebSockets; and plain downloads of signed update
//! files ([`download`], with the same roots: a clinic's mirror may use the same private CA).
//!
//! Nothing here interprets what it carries: envelopes are sealed before they get here.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use http::{Method, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use outpost_proto::{
    canon::Canon,
    relay::{
        self, Batch, BlobStatus, Challenge, DirectBatch, ErrorBody, ErrorCode, Live, PushAck,
        Session, SignalFrame, TurnServers,
    },
};
use outpost_sync::{Failure, Outgoing, Request, Response};
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};

/// Longest a request may take (a pull of a few MiB over a 2G-class link fits).
const REQUEST_TIMEOUT: Duration = Duration::from_mins(5);
/// Largest response accepted.
const MAX_RESPONSE: usize = 32 * 1024 * 1024;

/// An HTTP client for one relay.
#[derive(Clone)]
pub struct RelayClient {
    base: String,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for RelayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// The TLS configuration: the system's roots, and the certificates in `OUTPOST_RELAY_CA`.
fn tls_config() -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = std::env::var_os("OUTPOST_RELAY_CA").filter(|p| !p.is_empty()) {
        let certs = CertificateDer::pem_file_iter(&path)
            .map_err(|e| format!("cannot read OUTPOST_RELAY_CA: {e}"))?;
        for cert in certs {
            roots
                .add(cert.map_err(|e| format!("bad certificate in OUTPOST_RELAY_CA: {e}"))?)
                .map_err(|e| format!("bad certificate in OUTPOST_RELAY_CA: {e}"))?;
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

fn unreachable(e: impl std::fmt::Display) -> Failure {
    Failure::Unreachable(e.to_string())
}

impl RelayClient {
    /// A client for the relay at `base` (`http://` or `https://`, no trailing path).
    pub fn new(base: &str) -> Result<Self, String> {
        let tls = Arc::new(tls_config()?);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*tls).clone())
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            client,
            tls,
        })
    }

    /// The relay's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends one request of the sync engine and reads its answer.
    pub async fn send(&self, out: &Outgoing) -> Result<Response, Failure> {
        let (method, body) = match &out.request {
            Request::BlobPut { data, .. } => (Method::PUT, data.clone()),
            Request::Challenge | Request::BlobGet { .. } => (Method::GET, Vec::new()),
            Request::CreateWorkspace(r) => (Method::POST, r.to_canonical()),
            Request::Join(r) => (Method::POST, r.to_canonical()),
            Request::OpenSession(r) => (Method::POST, r.to_canonical()),
            Request::CreateInvite(r) => (Method::POST, r.to_canonical()),
            Request::CreateVisit(r) => (Method::POST, r.to_canonical()),
            Request::OpenGuest(r) => (Method::POST, r.to_canonical()),
            Request::SetDevice(r) => (Method::POST, r.to_canonical()),
            Request::RemoveDevice(r) => (Method::POST, r.to_canonical()),
            Request::SendDirect(r) => (Method::POST, r.to_canonical()),
            Request::FetchDirect
            | Request::TurnServers
            | Request::BlobStatus(_)
            | Request::BlobComplete(_) => (Method::POST, Vec::new()),
            Request::AckDirect(r) => (Method::POST, r.to_canonical()),
            Request::Push(r) => (Method::POST, r.to_canonical()),
            Request::Pull(r) => (Method::POST, r.to_canonical()),
        };
        let bytes = self
            .call(method, &out.request.path(), body, out.token)
            .await?;
        let bad = |_| unreachable("the relay's answer does not decode");
        Ok(match &out.request {
            Request::Challenge => {
                Response::Challenge(Challenge::from_canonical(&bytes).map_err(bad)?)
            }
            Request::OpenSession(_) | Request::OpenGuest(_) => {
                Response::Session(Session::from_canonical(&bytes).map_err(bad)?)
            }
            Request::Push(_) => Response::PushAck(PushAck::from_canonical(&bytes).map_err(bad)?),
            Request::Pull(_) => Response::Batch(Batch::from_canonical(&bytes).map_err(bad)?),
            Request::FetchDirect => {
                Response::Direct(DirectBatch::from_canonical(&bytes).map_err(bad)?)
            }
            Request::BlobStatus(_) | Request::BlobPut { .. } | Request::BlobComplete(_) => {
                Response::Blob(BlobStatus::from_canonical(&bytes).map_err(bad)?)
            }
            Request::BlobGet { .. } => Response::Bytes(bytes),
            Request::TurnServers => {
                Response::Turn(TurnServers::from_canonical(&bytes).map_err(bad)?)
            }
            _ => Response::Empty,
        })
    }

    /// One HTTP exchange: the body of a `200`, or the relay's refusal.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        token: Option<[u8; 32]>,
    ) -> Result<Vec<u8>, Failure> {
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(header::CONTENT_TYPE, relay::CONTENT_TYPE);
        if let Some(token) = token {
            request = request.header(
                header::AUTHORIZATION,
                format!("Bearer {}", hex::encode(token)),
            );
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(unreachable)?;
        let response = tokio::time::timeout(REQUEST_TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| unreachable("the relay did not answer in time"))?
            .map_err(|e| unreachable(describe(&e)))?;
        let status = response.status();
        let body = tokio::time::timeout(
            REQUEST_TIMEOUT,
            Limited::new(response.into_body(), MAX_RESPONSE).collect(),
        )
        .await
        .map_err(|_| unreachable("the relay's answer arrived too slowly"))?
        .map_err(|_| unreachable("the relay's answer was cut off"))?
        .to_bytes()
        .to_vec();
        if status.is_success() {
            return Ok(body);
        }
        let body = ErrorBody::from_canonical(&body).unwrap_or(ErrorBody {
            code: ErrorCode::INTERNAL,
            message: format!("HTTP {status}"),
            expected: None,
        });
        // Overload and rate limits are transient: like a dropped link, retry later.
        if body.code == ErrorCode::RATE_LIMITED || body.code == ErrorCode::UNAVAILABLE {
            return Err(Failure::Unreachable(body.message));
        }
        Err(Failure::Refused {
            status: status.as_u16(),
            body,
        })
    }

    /// Connects the live socket with a session token; yields each frame until it closes.
    pub async fn live(
        &self,
        token: [u8; 32],
        on_frame: impl FnMut(Live) -> bool,
    ) -> Result<(), String> {
        let ws = self.websocket("/v1/live", token, 1024 * 1024).await?;
        read_frames(ws, on_frame).await
    }

    /// Connects the signaling socket: frames to send go into the returned sender, frames that
    /// arrive come out of the receiver, which ends when the socket closes.
    pub async fn signal(
        &self,
        token: [u8; 32],
    ) -> Result<
        (
            tokio::sync::mpsc::UnboundedSender<SignalFrame>,
            tokio::sync::mpsc::UnboundedReceiver<SignalFrame>,
        ),
        String,
    > {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let ws = self.websocket("/v1/signal", token, 64 * 1024).await?;
        let (out_tx, mut out_rx) = tokio::sync::mpsc::unbounded_channel::<SignalFrame>();
        let (in_tx, in_rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let (mut sink, mut stream) = ws.split();
            loop {
                tokio::select! {
                    frame = out_rx.recv() => match frame {
                        Some(f) => {
                            if sink.send(Message::Binary(f.encode().into())).await.is_err() {
                                break;
                            }
                        }
                        None => break,
                    },
                    msg = stream.next() => match msg {
                        Some(Ok(Message::Binary(b))) => {
                            if let Ok(frame) = SignalFrame::decode(&b)
                                && in_tx.send(frame).is_err()
                            {
                                break;
                            }
                        }
                        Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                        Some(Ok(_)) => {}
                    },
                }
            }
            let _ = sink.close().await;
        });
        Ok((out_tx, in_rx))
    }

    /// Opens a WebSocket to `path` on the relay with a session token.
    async fn websocket(
        &self,
        path: &str,
        token: [u8; 32],
        max_message: usize,
    ) -> Result<tokio_tungstenite::WebSocketStream<RelayStream>, String> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let (tls, rest) = if let Some(rest) = self.base.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = self.base.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err("the relay URL must start with http:// or https://".into());
        };
        let host = rest.split('/').next().unwrap_or(rest);
        let ws_url = format!("{}://{host}{path}", if tls { "wss" } else { "ws" });
        let mut request = ws_url.into_client_request().map_err(|e| e.to_string())?;
        request.headers_mut().insert(
            header::AUTHORIZATION,
            format!("Bearer {}", hex::encode(token))
                .parse()
                .map_err(|_| "bad token".to_owned())?,
        );
        let addr = if host.contains(':') {
            host.to_owned()
        } else {
            format!("{host}:{}", if tls { 443 } else { 80 })
        };
        let tcp = tokio::time::timeout(
            Duration::from_secs(15),
            tokio::net::TcpStream::connect(&addr),
        )
        .await
        .map_err(|_| "the relay did not answer in time".to_owned())?
        .map_err(|e| e.to_string())?;
        let _ = tcp.set_nodelay(true);
        let max = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(max_message));
        let stream = if tls {
            let name = host.rsplit_once(':').map_or(host, |(h, _)| h).to_owned();
            let server = ServerName::try_from(name).map_err(|e| e.to_string())?;
            let stream = tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(server, tcp)
                .await
                .map_err(|e| e.to_string())?;
            tokio_util::either::Either::Left(stream)
        } else {
            tokio_util::either::Either::Right(tcp)
        };
        let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(max))
            .await
            .map_err(|e| e.to_string())?;
        Ok(ws)
    }
}

/// A connection to the relay, with or without TLS.
type RelayStream = tokio_util::either::Either<
    tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    tokio::net::TcpStream,
>;

/// Hands each live frame to `on_frame` until it says stop or the socket closes.
async fn read_frames<S>(
    mut ws: tokio_tungstenite::WebSocketStream<S>,
    mut on_frame: impl FnMut(Live) -> bool,
) -> Result<(), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    while let Some(msg) = ws.next().await {
        if let Message::Binary(b) = msg.map_err(|e| e.to_string())?
            && let Ok(frame) = Live::from_canonical(&b)
            && !on_frame(frame)
        {
            return Ok(());
        }
    }
    Ok(())
}

/// A connection error in words (hyper's outer error hides the cause).
fn describe(e: &hyper_util::client::legacy::Error) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// Longest an update download may stall between two pieces (a 2G link is slow, not silent).
const STALL_TIMEOUT: Duration = Duration::from_mins(1);
/// Redirects followed (release hosting often sends the file from a storage host).
const MAX_REDIRECTS: usize = 5;

/// Why a download failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadFailure {
    /// The server answered that there is no such file (404).
    NotFound,
    /// Anything else, in words: no link, a timeout, another status, a file too large.
    Other(String),
}

impl From<String> for DownloadFailure {
    fn from(text: String) -> Self {
        Self::Other(text)
    }
}

impl std::fmt::Display for DownloadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound => f.write_str("the server has no such file"),
            Self::Other(text) => f.write_str(text),
        }
    }
}

/// Fetches `url` (`http://` or `https://`, following a few redirects) and hands its body to
/// `sink` piece by piece, refusing more than `max` bytes. For update files, which are verified
/// by their signature afterwards: nothing here is trusted for what it says.
pub async fn download(
    url: &str,
    max: u64,
    mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<u64, DownloadFailure> {
    use hyper::body::Body as _;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config()?)
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, http_body_util::Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build(https);
    let mut url = url.to_owned();
    for _ in 0..=MAX_REDIRECTS {
        let request = http::Request::get(&url)
            .body(http_body_util::Empty::new())
            .map_err(|_| "the update address is not a URL".to_owned())?;
        let response = tokio::time::timeout(STALL_TIMEOUT, client.request(request))
            .await
            .map_err(|_| "the update server did not answer in time".to_owned())?
            .map_err(|e| describe(&e))?;
        let status = response.status();
        if status.is_redirection() {
            url = response
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
                .ok_or_else(|| format!("HTTP {status} without a usable address"))?
                .to_owned();
            continue;
        }
        if status == http::StatusCode::NOT_FOUND {
            return Err(DownloadFailure::NotFound);
        }
        if !status.is_success() {
            return Err(format!("HTTP {status}").into());
        }
        let mut body = response.into_body();
        if body.size_hint().lower() > max {
            return Err(DownloadFailure::Other(
                "the file is larger than an update can be".into(),
            ));
        }
        let mut total = 0_u64;
        while let Some(frame) = tokio::time::timeout(STALL_TIMEOUT, body.frame())
            .await
            .map_err(|_| "the download stalled".to_owned())?
        {
            let frame = frame.map_err(|_| "the download was cut off".to_owned())?;
            if let Some(data) = frame.data_ref() {
                total += data.len() as u64;
                if total > max {
                    return Err(DownloadFailure::Other(
                        "the file is larger than an update can be".into(),
                    ));
                }
                sink(data).map_err(|e| format!("cannot write the download: {}", e.kind()))?;
            }
        }
        return Ok(total);
    }
    Err(DownloadFailure::Other(
        "the update server redirected too many times".into(),
    ))
}
