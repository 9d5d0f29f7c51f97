//! The call state machine, driven from both ends with the signals passed between them by
//! hand: the happy path, ringing and connecting timeouts, decline, glare, reconnection, a
//! security failure, and messages about other calls.

use outpost_call::{
    Action, Call, CallKind, EndReason, Event, Signal, State,
    machine::{CONNECT_TIMEOUT_MS, RECONNECT_TIMEOUT_MS, RING_TIMEOUT_MS},
    signal::Ring,
};
use outpost_crypto::CallRole;

const A_KEY: [u8; 32] = [0xaa; 32];
const B_KEY: [u8; 32] = [0xbb; 32];

fn sent(actions: &[Action]) -> Vec<Signal> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// Feeds each signal the one side sent to the other; returns what the other did.
fn deliver(to: &mut Call, signals: Vec<Signal>, now: i64) -> Vec<Action> {
    signals
        .into_iter()
        .flat_map(|s| to.handle(Event::Received(s), now))
        .collect()
}

fn connected_pair() -> (Call, Call) {
    let (mut a, out) = Call::outgoing([1; 16], CallKind::Video, A_KEY, 0);
    let Signal::Ring(ring) = sent(&out).remove(0) else {
        panic!("rings first")
    };
    let (mut b, _) = Call::incoming(&ring, 10);
    let accepted = b.handle(Event::Accept { key_share: B_KEY }, 1_000);
    assert!(accepted.contains(&Action::DeriveKeys {
        role: CallRole::Callee,
        peer_key_share: A_KEY
    }));
    let caller = deliver(&mut a, sent(&accepted), 1_010);
    assert!(caller.contains(&Action::DeriveKeys {
        role: CallRole::Caller,
        peer_key_share: B_KEY
    }));
    assert!(caller.contains(&Action::CreateOffer { ice_restart: false }));
    // Candidates may arrive before the offer: they wait for it.
    let early = a.handle(
        Event::LocalCandidate {
            candidate: "candidate:1".into(),
            mid: Some("0".into()),
        },
        1_020,
    );
    assert!(deliver(&mut b, sent(&early), 1_030).is_empty());
    let offer = a.handle(Event::OfferReady("v=0 offer".into()), 1_040);
    let applied = deliver(&mut b, sent(&offer), 1_050);
    assert_eq!(applied[0], Action::ApplyOffer("v=0 offer".into()));
    assert_eq!(
        applied[1],
        Action::AddCandidate {
            candidate: "candidate:1".into(),
            mid: Some("0".into())
        }
    );
    let answer = b.handle(Event::AnswerReady("v=0 answer".into()), 1_060);
    assert_eq!(
        deliver(&mut a, sent(&answer), 1_070),
        vec![Action::ApplyAnswer("v=0 answer".into())]
    );
    a.handle(Event::MediaConnected, 1_200);
    b.handle(Event::MediaConnected, 1_210);
    assert_eq!((a.state(), b.state()), (State::Connected, State::Connected));
    (a, b)
}

#[test]
fn a_call_connects_and_either_side_hangs_up() {
    let (mut a, mut b) = connected_pair();
    let bye = b.handle(Event::HangUp, 5_000);
    assert!(bye.contains(&Action::Ended(EndReason::HungUp)));
    let heard = deliver(&mut a, sent(&bye), 5_010);
    assert!(heard.contains(&Action::Ended(EndReason::HungUp)));
    // Nothing after the end.
    assert!(a.handle(Event::MediaConnected, 6_000).is_empty());
    assert!(a.handle(Event::HangUp, 6_000).is_empty());
}

#[test]
fn ringing_times_out_on_both_sides_and_only_the_caller_says_so() {
    let (mut a, out) = Call::outgoing([1; 16], CallKind::Audio, A_KEY, 0);
    let Signal::Ring(ring) = sent(&out).remove(0) else {
        panic!()
    };
    let (mut b, _) = Call::incoming(&ring, 0);
    assert!(a.handle(Event::Tick, RING_TIMEOUT_MS - 1).is_empty());
    let timed_out = a.handle(Event::Tick, RING_TIMEOUT_MS);
    assert_eq!(
        sent(&timed_out),
        vec![Signal::Hangup(outpost_call::signal::Hangup {
            call: [1; 16],
            reason: EndReason::NoAnswer
        })]
    );
    assert_eq!(a.state(), State::Ended(EndReason::NoAnswer));
    let stopped = b.handle(Event::Tick, RING_TIMEOUT_MS);
    assert!(sent(&stopped).is_empty());
    assert_eq!(b.state(), State::Ended(EndReason::NoAnswer));
}

#[test]
fn declining_ends_the_call_for_the_caller() {
    let (mut a, out) = Call::outgoing([1; 16], CallKind::Video, A_KEY, 0);
    let Signal::Ring(ring) = sent(&out).remove(0) else {
        panic!()
    };
    let (mut b, _) = Call::incoming(&ring, 0);
    let no = b.handle(Event::Decline, 100);
    deliver(&mut a, sent(&no), 110);
    assert_eq!(a.state(), State::Ended(EndReason::Declined));
}

#[test]
fn media_that_never_connects_ends_the_call() {
    let (mut a, out) = Call::outgoing([1; 16], CallKind::Video, A_KEY, 0);
    let Signal::Ring(ring) = sent(&out).remove(0) else {
        panic!()
    };
    let (mut b, _) = Call::incoming(&ring, 0);
    let accepted = b.handle(Event::Accept { key_share: B_KEY }, 1_000);
    deliver(&mut a, sent(&accepted), 1_000);
    let failed = a.handle(Event::Tick, 1_000 + CONNECT_TIMEOUT_MS);
    assert!(failed.contains(&Action::Ended(EndReason::ConnectionFailed)));
    deliver(&mut b, sent(&failed), 1_000 + CONNECT_TIMEOUT_MS);
    assert_eq!(b.state(), State::Ended(EndReason::ConnectionFailed));
}

#[test]
fn a_dropped_link_restarts_ice_and_recovers_or_ends() {
    let (mut a, mut b) = connected_pair();
    let dropped = a.handle(Event::MediaDisconnected, 10_000);
    assert!(dropped.contains(&Action::CreateOffer { ice_restart: true }));
    assert_eq!(a.state(), State::Reconnecting);
    b.handle(Event::MediaDisconnected, 10_000);
    // The restart offer reaches the callee, who answers it.
    let offer = a.handle(Event::OfferReady("v=0 restart".into()), 10_100);
    assert_eq!(
        deliver(&mut b, sent(&offer), 10_110),
        vec![Action::ApplyOffer("v=0 restart".into())]
    );
    a.handle(Event::MediaConnected, 12_000);
    assert_eq!(a.state(), State::Connected);
    // A second drop that never recovers ends the call after the reconnect window.
    a.handle(Event::MediaDisconnected, 20_000);
    assert!(
        a.handle(Event::Tick, 20_000 + RECONNECT_TIMEOUT_MS - 1)
            .is_empty()
    );
    let ended = a.handle(Event::Tick, 20_000 + RECONNECT_TIMEOUT_MS);
    assert!(ended.contains(&Action::Ended(EndReason::ConnectionFailed)));
}

#[test]
fn a_restart_made_while_the_link_is_down_is_tried_again_until_the_window_closes() {
    let (mut a, mut b) = connected_pair();
    a.handle(Event::MediaDisconnected, 10_000);
    let offer = a.handle(Event::OfferReady("v=0 restart 1".into()), 10_100);
    deliver(&mut b, sent(&offer), 10_110);
    // The answer comes back, but ICE finds no path (the link is still down).
    a.handle(
        Event::Received(Signal::Answer(answer_for(&a, "v=0 answer 1"))),
        10_200,
    );
    assert!(a.handle(Event::Tick, 14_999).is_empty());
    let again = a.handle(Event::Tick, 15_000);
    assert_eq!(again, vec![Action::CreateOffer { ice_restart: true }]);
    // Not again until this one is answered.
    assert!(a.handle(Event::Tick, 21_000).is_empty());
    a.handle(
        Event::Received(Signal::Answer(answer_for(&a, "v=0 answer 2"))),
        21_100,
    );
    assert_eq!(
        a.handle(Event::Tick, 26_100),
        vec![Action::CreateOffer { ice_restart: true }]
    );
    // The link returns: connected, no more restarts.
    a.handle(Event::MediaConnected, 27_000);
    assert_eq!(a.state(), State::Connected);
    assert!(a.handle(Event::Tick, 40_000).is_empty());
}

fn answer_for(call: &Call, sdp: &str) -> outpost_call::signal::Sdp {
    outpost_call::signal::Sdp {
        call: call.id(),
        sdp: sdp.into(),
    }
}

#[test]
fn a_fingerprint_mismatch_ends_the_call_as_a_security_failure() {
    let (mut a, mut b) = connected_pair();
    let failed = b.handle(Event::FingerprintMismatch, 2_000);
    assert!(failed.contains(&Action::Ended(EndReason::Security)));
    deliver(&mut a, sent(&failed), 2_010);
    assert_eq!(a.state(), State::Ended(EndReason::Security));
}

#[test]
fn glare_resolves_to_the_same_call_on_both_sides() {
    let (mut a, out_a) = Call::outgoing([2; 16], CallKind::Video, A_KEY, 0);
    let (mut b, out_b) = Call::outgoing([7; 16], CallKind::Video, B_KEY, 0);
    let Signal::Ring(ring_a) = sent(&out_a).remove(0) else {
        panic!()
    };
    let Signal::Ring(ring_b) = sent(&out_b).remove(0) else {
        panic!()
    };
    // A's call has the smaller id: A ignores B's ring; B gives way and accepts A's.
    assert!(a.glare(&ring_b, A_KEY, 5).is_none());
    let gave_way = b
        .glare(&ring_a, B_KEY, 5)
        .expect("the larger call id gives way");
    assert_eq!(b.id(), [2; 16]);
    assert_eq!(b.role(), CallRole::Callee);
    assert!(gave_way.contains(&Action::DeriveKeys {
        role: CallRole::Callee,
        peer_key_share: A_KEY
    }));
    deliver(&mut a, sent(&gave_way), 10);
    assert_eq!(a.state(), State::Connecting);
    assert_eq!(b.state(), State::Connecting);
}

#[test]
fn signals_about_another_call_or_out_of_turn_change_nothing() {
    let (mut a, _) = connected_pair();
    let stray = Signal::Hangup(outpost_call::signal::Hangup {
        call: [9; 16],
        reason: EndReason::HungUp,
    });
    assert!(a.handle(Event::Received(stray), 3_000).is_empty());
    assert_eq!(a.state(), State::Connected);
    // A callee's "answer" sent to the callee, or an accept after connecting: ignored.
    let late = Signal::Ring(Ring {
        call: [1; 16],
        kind: CallKind::Video,
        key_share: [0; 32],
    });
    assert!(a.handle(Event::Received(late), 3_000).is_empty());
}

#[test]
fn signals_round_trip_their_encoding_and_unknown_tags_are_errors() {
    let all = [
        Signal::Ring(Ring {
            call: [1; 16],
            kind: CallKind::Audio,
            key_share: [2; 32],
        }),
        Signal::Offer(outpost_call::signal::Sdp {
            call: [1; 16],
            sdp: "v=0".into(),
        }),
        Signal::Candidate(outpost_call::signal::Candidate {
            call: [1; 16],
            candidate: "c".into(),
            mid: None,
        }),
    ];
    for s in all {
        assert_eq!(Signal::decode(&s.encode()).unwrap(), s);
    }
    assert!(Signal::decode(&[99, 0]).is_err());
    assert!(Signal::decode(&[]).is_err());
}
