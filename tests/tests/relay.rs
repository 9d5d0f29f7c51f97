//! The relay under abuse, in process with small limits: an oversized envelope, a flooding
//! client and slow-loris connections each get a clear refusal (or are cut off) while another
//! device is still served promptly. TURN credentials go to sessions only, never name the
//! device, and expire.

use std::time::{Duration, Instant};

use outpost_core::net::RelayClient;
use outpost_crypto::{DeviceIdentity, GroupId, GroupKey, SealedEnvelope};
use outpost_proto::{
    WorkspaceId,
    canon::Bytes,
    relay::{ErrorCode, Push, SetDevice},
};
use outpost_relay::{Config, Limits, Relay};
use outpost_sync::{Failure, Outgoing, Request, Response};
use outpost_tests::scenario::relay_session;
use rand_core::OsRng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn limits() -> Limits {
    Limits {
        max_envelope: 64 * 1024,
        rate: 20.0,
        burst: 40.0,
        header_timeout: Duration::from_secs(1),
        ..Limits::default()
    }
}

struct Running {
    url: String,
    _dir: tempfile::TempDir,
    stop: tokio::sync::oneshot::Sender<()>,
}

async fn start() -> Running {
    start_with_turn(None).await
}

async fn start_with_turn(turn: Option<outpost_relay::turn::TurnConfig>) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::bind(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data: dir.path().join("relay"),
        tls: None,
        limits: limits(),
        turn,
    })
    .await
    .unwrap();
    let url = relay.url();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(relay.run(async move {
        let _ = stopped.await;
    }));
    Running {
        url,
        _dir: dir,
        stop,
    }
}

async fn send(
    client: &RelayClient,
    request: Request,
    token: Option<[u8; 32]>,
) -> Result<Response, Failure> {
    client.send(&Outgoing { request, token }).await
}

struct Pair {
    client: RelayClient,
    ws: WorkspaceId,
    admin: DeviceIdentity,
    admin_token: [u8; 32],
    other_token: [u8; 32],
    key: GroupKey,
}

async fn pair(url: &str) -> Pair {
    let client = RelayClient::new(url).unwrap();
    let ws = WorkspaceId([4; 16]);
    let admin = DeviceIdentity::generate(&mut OsRng);
    let other = DeviceIdentity::generate(&mut OsRng);
    let admin_token = relay_session(&client, ws, &admin, true).await;
    send(
        &client,
        Request::SetDevice(SetDevice {
            identity: other.public().to_bytes(),
            admin: false,
        }),
        Some(admin_token),
    )
    .await
    .unwrap();
    let other_token = relay_session(&client, ws, &other, false).await;
    Pair {
        client,
        ws,
        admin,
        admin_token,
        other_token,
        key: GroupKey::generate(GroupId(ws.0), 1, &mut OsRng),
    }
}

fn refusal(r: Result<Response, Failure>) -> (u16, u16) {
    match r {
        Err(Failure::Refused { status, body }) => (status, body.code),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn an_oversized_envelope_is_refused_clearly_and_nothing_is_stored() {
    let relay = start().await;
    let p = pair(&relay.url).await;
    let big = SealedEnvelope::seal_group(
        &p.admin,
        &p.key,
        1,
        outpost_crypto::ContentType::RECORD,
        &vec![7u8; 100 * 1024],
        &mut OsRng,
    )
    .unwrap();
    let (status, code) = refusal(
        send(
            &p.client,
            Request::Push(Push {
                envelopes: vec![Bytes(big.encode())],
            }),
            Some(p.admin_token),
        )
        .await,
    );
    assert_eq!((status, code), (413, ErrorCode::TOO_LARGE));
    // A normal one still goes in at sequence 1: the refused one took nothing.
    let ok = SealedEnvelope::seal_group(
        &p.admin,
        &p.key,
        1,
        outpost_crypto::ContentType::RECORD,
        b"small",
        &mut OsRng,
    )
    .unwrap();
    match send(
        &p.client,
        Request::Push(Push {
            envelopes: vec![Bytes(ok.encode())],
        }),
        Some(p.admin_token),
    )
    .await
    {
        Ok(Response::PushAck(a)) => assert_eq!(a.head, 1),
        other => panic!("{other:?}"),
    }
    // And a body over the request limit is cut off with the same clear error.
    let huge = vec![0u8; 9 * 1024 * 1024];
    let (status, _) = refusal(
        send(
            &p.client,
            Request::BlobPut {
                blob: [1; 32],
                offset: 0,
                data: huge,
            },
            Some(p.admin_token),
        )
        .await,
    );
    assert_eq!(status, 413);
    let _ = relay.stop.send(());
}

#[tokio::test]
async fn a_flooding_client_is_slowed_while_another_is_served() {
    let relay = start().await;
    let p = pair(&relay.url).await;
    let mut limited = 0;
    for _ in 0..200 {
        match send(&p.client, Request::FetchDirect, Some(p.admin_token)).await {
            Ok(_) => {}
            // The client sees a transient failure: slow down and retry later.
            Err(Failure::Unreachable(m)) if m.contains("slow down") => limited += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(
        limited > 100,
        "the flood was not slowed: {limited} of 200 refused"
    );
    let start = Instant::now();
    let served = send(&p.client, Request::FetchDirect, Some(p.other_token)).await;
    assert!(matches!(served, Ok(Response::Direct(_))), "{served:?}");
    assert!(start.elapsed() < Duration::from_millis(500));
    let _ = p.ws;
    let _ = relay.stop.send(());
}

#[tokio::test]
async fn slow_loris_connections_are_cut_off_and_do_not_block_others() {
    let relay = start().await;
    let p = pair(&relay.url).await;
    let addr = relay.url.trim_start_matches("http://").to_owned();
    let mut slow = Vec::new();
    for _ in 0..100 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"POST /v1/pull HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    // Others are served meanwhile.
    let start = Instant::now();
    assert!(matches!(
        send(&p.client, Request::FetchDirect, Some(p.other_token)).await,
        Ok(Response::Direct(_))
    ));
    assert!(start.elapsed() < Duration::from_millis(500));
    // The header deadline (1 s here) closes every slow connection.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut closed = 0;
    for s in &mut slow {
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => closed += 1,
            // A 408 answer before closing counts too.
            Ok(Ok(n)) if String::from_utf8_lossy(&buf[..n]).contains("408") => closed += 1,
            _ => {}
        }
    }
    assert_eq!(closed, slow.len(), "slow connections were left open");
    let _ = relay.stop.send(());
}

#[tokio::test]
async fn turn_credentials_go_to_sessions_only_name_no_device_and_expire() {
    let turn = outpost_relay::turn::TurnConfig {
        urls: vec!["turn:turn.clinic.test:3478?transport=udp".into()],
        secret: zeroize::Zeroizing::new(b"a-secret-shared-with-coturn".to_vec()),
        ttl: Duration::from_hours(12),
    };
    let relay = start_with_turn(Some(turn)).await;
    let p = pair(&relay.url).await;
    assert_eq!(
        refusal(send(&p.client, Request::TurnServers, None).await),
        (401, ErrorCode::UNAUTHENTICATED),
        "no session, no credentials"
    );
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut tags = Vec::new();
    for token in [p.admin_token, p.other_token] {
        let Ok(Response::Turn(t)) = send(&p.client, Request::TurnServers, Some(token)).await else {
            panic!("credentials for a member");
        };
        assert_eq!(t.urls, ["turn:turn.clinic.test:3478?transport=udp"]);
        let (expiry, tag) = t.username.split_once(':').expect("expiry:tag");
        let expiry: u64 = expiry.parse().unwrap();
        assert!(
            (now_s + 12 * 3600 - 5..=now_s + 12 * 3600 + 5).contains(&expiry),
            "expires after the configured 12 h: {expiry} vs now {now_s}"
        );
        assert_eq!(t.expires_at, i64::try_from(expiry * 1000).unwrap());
        // HMAC-SHA1 in base64; the tag is random, not the device id.
        assert_eq!(t.credential.len(), 28, "{}", t.credential);
        let admin = p.admin.public().device_id().to_string();
        assert!(!tag.contains(&admin[..8]), "{tag}");
        tags.push(tag.to_owned());
    }
    assert_ne!(tags[0], tags[1], "a fresh tag per request");

    // A relay with no TURN server says so with an empty list.
    let plain = start().await;
    let q = pair(&plain.url).await;
    let Ok(Response::Turn(t)) = send(&q.client, Request::TurnServers, Some(q.admin_token)).await
    else {
        panic!("an answer");
    };
    assert!(t.urls.is_empty() && t.credential.is_empty());
}
