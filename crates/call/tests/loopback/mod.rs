//! Two real call sessions in one process, WebRTC over loopback UDP, with in-memory signaling
//! that a test may rewrite on its way (to tamper with it, or to point the peers at a proxy).
//! Shared by the call tests, the impairment tests and the call benchmarks.

use std::sync::Arc;
use std::time::Duration;

use outpost_call::media::peer::PeerOptions;
use outpost_call::session::{
    self, CallConfig, CallHandle, Command, Inbound, Parties, SignalError, SignalSender,
};
use outpost_call::signal::{CallKind, Signal};
use outpost_crypto::DeviceIdentity;
use tokio::sync::mpsc;

/// What happens to a signal on its way to the other side.
pub type Rewrite = Arc<dyn Fn(Signal) -> Inbound + Send + Sync>;

/// One direction of signaling: straight into the other side's inbound queue.
pub struct Wire {
    to: mpsc::UnboundedSender<Inbound>,
    rewrite: Option<Rewrite>,
}

#[async_trait::async_trait]
impl SignalSender for Wire {
    async fn send(&self, signal: Signal) -> Result<(), SignalError> {
        let inbound = match &self.rewrite {
            Some(r) => r(signal),
            None => Inbound::Signal(signal),
        };
        self.to
            .send(inbound)
            .map_err(|_| SignalError("peer gone".into()))
    }
}

/// Loopback only, quick ICE checks.
pub fn config() -> CallConfig {
    CallConfig {
        peer: PeerOptions {
            udp_addrs: vec!["127.0.0.1:0".into()],
            ice_check_interval: Some(Duration::from_millis(20)),
            ..PeerOptions::default()
        },
        ..CallConfig::default()
    }
}

/// Places a video call from Alice to Bob and has Bob accept; each rewrite applies to what
/// that side sends.
pub async fn call_pair(
    rewrite_alice: Option<Rewrite>,
    rewrite_bob: Option<Rewrite>,
) -> (CallHandle, CallHandle) {
    let alice = DeviceIdentity::generate(&mut rand_core::OsRng).public();
    let bob = DeviceIdentity::generate(&mut rand_core::OsRng).public();
    let (to_alice, alice_in) = mpsc::unbounded_channel();
    let (to_bob, mut bob_in) = mpsc::unbounded_channel();
    let a = session::place(
        config(),
        Parties {
            me: alice,
            peer: bob,
        },
        CallKind::Video,
        Arc::new(Wire {
            to: to_bob,
            rewrite: rewrite_alice,
        }),
        alice_in,
    );
    let Some(Inbound::Signal(Signal::Ring(ring))) = bob_in.recv().await else {
        panic!("Bob's first signal is a ring");
    };
    let b = session::answer(
        config(),
        Parties {
            me: bob,
            peer: alice,
        },
        &ring,
        Arc::new(Wire {
            to: to_alice,
            rewrite: rewrite_bob,
        }),
        bob_in,
    );
    b.commands.send(Command::Accept).expect("accept");
    (a, b)
}
