//! The conformance suite every [`Storage`] backend must pass: call [`run_all`] from a test with
//! a function that makes a fresh, empty backend. Each check panics with what broke.

#![allow(clippy::missing_panics_doc, clippy::unwrap_used, clippy::panic)]

use outpost_proto::{
    DeviceId, InviteId, VisitId, WorkspaceId, payload::Watermark, relay::DIRECT_JOIN,
};
use sha2::{Digest, Sha256};

use super::{DeviceRecord, DeviceStatus, NewEnvelope, Storage, StorageError};

const QUOTA: u64 = 1 << 30;

fn device(n: u8, admin: bool, status: DeviceStatus) -> DeviceRecord {
    DeviceRecord {
        id: DeviceId([n; 16]),
        identity: [n; 64],
        admin,
        status,
    }
}

fn envelope(seq: u64, tag: u8) -> NewEnvelope {
    NewEnvelope {
        seq,
        epoch: 1,
        bytes: vec![tag; 10 + usize::try_from(seq).unwrap()],
    }
}

/// Runs every check, each on a fresh backend from `fresh`.
pub async fn run_all<S: Storage, F: AsyncFn() -> S>(fresh: F) {
    workspaces_and_devices(&fresh().await).await;
    invites_are_single_use_and_expire(&fresh().await).await;
    visits_bind_to_their_first_guest_and_expire(&fresh().await).await;
    appends_continue_the_log_and_retries_are_harmless(&fresh().await).await;
    pulls_follow_watermarks_and_limits(&fresh().await).await;
    quotas_are_enforced(&fresh().await).await;
    mailboxes_are_per_device(&fresh().await).await;
    blobs_resume_and_are_checked(&fresh().await).await;
    workspaces_are_isolated(&fresh().await).await;
}

/// Founding, looking up and updating devices; a removed device stays removed.
pub async fn workspaces_and_devices<S: Storage>(s: &S) {
    let ws = WorkspaceId([1; 16]);
    let founder = device(1, true, DeviceStatus::Member);
    s.create_workspace(ws, founder, 10).await.unwrap();
    assert_eq!(
        s.create_workspace(ws, device(2, true, DeviceStatus::Member), 11)
            .await,
        Err(StorageError::Exists),
        "a workspace cannot be founded twice"
    );
    assert_eq!(s.device(ws, founder.id).await.unwrap(), Some(founder));
    assert_eq!(s.device(ws, DeviceId([9; 16])).await.unwrap(), None);
    let other = device(2, false, DeviceStatus::Member);
    s.set_device(ws, other, 12).await.unwrap();
    assert_eq!(s.device(ws, other.id).await.unwrap(), Some(other));
    let removed = DeviceRecord {
        status: DeviceStatus::Removed,
        ..other
    };
    s.set_device(ws, removed, 13).await.unwrap();
    s.set_device(ws, other, 14).await.unwrap();
    assert_eq!(
        s.device(ws, other.id).await.unwrap(),
        Some(removed),
        "a removed device must not be re-admitted"
    );
    assert_eq!(
        s.set_device(WorkspaceId([7; 16]), other, 15).await,
        Err(StorageError::NotFound("workspace"))
    );
}

/// A visit binds to the first guest that claims it; that guest may come back, no other may;
/// an expired or unknown visit is refused.
pub async fn visits_bind_to_their_first_guest_and_expire<S: Storage>(s: &S) {
    let ws = WorkspaceId([1; 16]);
    let host = device(1, true, DeviceStatus::Member);
    s.create_workspace(ws, host, 0).await.unwrap();
    let visit = VisitId([3; 16]);
    s.create_visit(ws, visit, host.id, 1_000, 0).await.unwrap();
    assert_eq!(
        s.create_visit(ws, visit, host.id, 1_000, 0).await,
        Err(StorageError::Exists)
    );
    let patient = [7u8; 64];
    let stranger = [8u8; 64];
    assert_eq!(s.claim_visit(ws, visit, patient, 10).await, Ok(host.id));
    assert_eq!(
        s.claim_visit(ws, visit, patient, 20).await,
        Ok(host.id),
        "the same patient reconnecting"
    );
    assert_eq!(
        s.claim_visit(ws, visit, stranger, 30).await,
        Err(StorageError::VisitUsed),
        "a used visit code fails for anyone else"
    );
    assert_eq!(
        s.claim_visit(ws, VisitId([4; 16]), patient, 10).await,
        Err(StorageError::NotFound("visit"))
    );
    assert_eq!(
        s.claim_visit(WorkspaceId([2; 16]), visit, patient, 10)
            .await,
        Err(StorageError::NotFound("visit")),
        "visits are per workspace"
    );
    assert_eq!(
        s.claim_visit(ws, visit, patient, 1_000).await,
        Err(StorageError::VisitExpired)
    );
}

/// An invite admits one pending device, once, before it expires, and tells the admins.
pub async fn invites_are_single_use_and_expire<S: Storage>(s: &S) {
    let ws = WorkspaceId([1; 16]);
    let admin = device(1, true, DeviceStatus::Member);
    let member = device(2, false, DeviceStatus::Member);
    s.create_workspace(ws, admin, 0).await.unwrap();
    s.set_device(ws, member, 0).await.unwrap();
    let invite = InviteId([5; 16]);
    s.create_invite(ws, invite, 1_000, 0).await.unwrap();
    assert_eq!(
        s.create_invite(ws, invite, 1_000, 0).await,
        Err(StorageError::Exists)
    );
    let joiner = device(3, false, DeviceStatus::Pending);
    assert_eq!(
        s.consume_invite(ws, InviteId([6; 16]), joiner, vec![1], 10)
            .await,
        Err(StorageError::NotFound("invite"))
    );
    s.consume_invite(ws, invite, joiner, b"request".to_vec(), 10)
        .await
        .unwrap();
    assert_eq!(s.device(ws, joiner.id).await.unwrap(), Some(joiner));
    let second = device(4, false, DeviceStatus::Pending);
    assert_eq!(
        s.consume_invite(ws, invite, second, vec![2], 11).await,
        Err(StorageError::InviteUsed),
        "an invite used twice fails the second time"
    );
    assert_eq!(s.device(ws, second.id).await.unwrap(), None);
    // The request reached the admin device's mailbox, not the other member's.
    let inbox = s.fetch_direct(ws, admin.id, 10).await.unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].kind, DIRECT_JOIN);
    assert_eq!(inbox[0].from, joiner.id);
    assert_eq!(inbox[0].body.0, b"request");
    assert!(s.fetch_direct(ws, member.id, 10).await.unwrap().is_empty());

    let late = InviteId([8; 16]);
    s.create_invite(ws, late, 100, 0).await.unwrap();
    assert_eq!(
        s.consume_invite(
            ws,
            late,
            device(5, false, DeviceStatus::Pending),
            vec![],
            100
        )
        .await,
        Err(StorageError::InviteExpired)
    );
}

/// Appends must continue the author's log; a retried push is accepted, a fork is not.
pub async fn appends_continue_the_log_and_retries_are_harmless<S: Storage>(s: &S) {
    let ws = WorkspaceId([1; 16]);
    let a = device(1, true, DeviceStatus::Member);
    s.create_workspace(ws, a, 0).await.unwrap();
    assert_eq!(s.head(ws, a.id).await.unwrap(), 0);
    assert_eq!(
        s.append(ws, a.id, vec![envelope(2, 1)], QUOTA, 0).await,
        Err(StorageError::Sequence { expected: 1 })
    );
    let head = s
        .append(ws, a.id, vec![envelope(1, 1), envelope(2, 1)], QUOTA, 0)
        .await
        .unwrap();
    assert_eq!(head, 2);
    // The same two again, then the third: a retry after a lost acknowledgement.
    let head = s
        .append(
            ws,
            a.id,
            vec![envelope(1, 1), envelope(2, 1), envelope(3, 1)],
            QUOTA,
            0,
        )
        .await
        .unwrap();
    assert_eq!(head, 3);
    assert_eq!(
        s.append(ws, a.id, vec![envelope(2, 9)], QUOTA, 0).await,
        Err(StorageError::SequenceReused { seq: 2 }),
        "a different envelope at a place already held is refused"
    );
    assert_eq!(
        s.append(ws, a.id, vec![envelope(4, 1), envelope(6, 1)], QUOTA, 0)
            .await,
        Err(StorageError::Sequence { expected: 5 })
    );
    assert_eq!(
        s.head(ws, a.id).await.unwrap(),
        3,
        "a refused batch stores nothing of itself"
    );
}

/// Pulls return what is above the watermarks, in order, within the limits, with heads.
pub async fn pulls_follow_watermarks_and_limits<S: Storage>(s: &S) {
    let ws = WorkspaceId([1; 16]);
    let (a, b) = (
        device(1, true, DeviceStatus::Member),
        device(2, false, DeviceStatus::Member),
    );
    s.create_workspace(ws, a, 0).await.unwrap();
    s.set_device(ws, b, 0).await.unwrap();
    s.append(
        ws,
        a.id,
        (1..=5).map(|i| envelope(i, 0xa)).collect(),
        QUOTA,
        0,
    )
    .await
    .unwrap();
    s.append(
        ws,
        b.id,
        (1..=3).map(|i| envelope(i, 0xb)).collect(),
        QUOTA,
        0,
    )
    .await
    .unwrap();
    let all = s.pull(ws, vec![], usize::MAX, 1000).await.unwrap();
    assert_eq!(all.envelopes.len(), 8);
    assert!(!all.more);
    let mut heads = all.heads.clone();
    heads.sort_by_key(|w| w.device);
    assert_eq!(
        heads,
        vec![
            Watermark {
                device: a.id,
                seq: 5
            },
            Watermark {
                device: b.id,
                seq: 3
            }
        ]
    );
    // Per author in sequence order.
    let a_part: Vec<_> = all.envelopes.iter().filter(|e| e[0] == 0xa).collect();
    assert_eq!(
        a_part.iter().map(|e| e.len()).collect::<Vec<_>>(),
        vec![11, 12, 13, 14, 15]
    );
    let some = s
        .pull(
            ws,
            vec![
                Watermark {
                    device: a.id,
                    seq: 4,
                },
                Watermark {
                    device: b.id,
                    seq: 3,
                },
            ],
            usize::MAX,
            1000,
        )
        .await
        .unwrap();
    assert_eq!(some.envelopes, vec![envelope(5, 0xa).bytes]);
    let limited = s.pull(ws, vec![], usize::MAX, 3).await.unwrap();
    assert_eq!(limited.envelopes.len(), 3);
    assert!(limited.more, "a truncated pull says more remain");
    let by_bytes = s.pull(ws, vec![], 20, 1000).await.unwrap();
    assert!(!by_bytes.envelopes.is_empty() && by_bytes.envelopes.len() < 8);
    assert!(by_bytes.more);
    let none = s
        .pull(
            ws,
            vec![
                Watermark {
                    device: a.id,
                    seq: 5,
                },
                Watermark {
                    device: b.id,
                    seq: 3,
                },
            ],
            usize::MAX,
            1000,
        )
        .await
        .unwrap();
    assert!(none.envelopes.is_empty() && !none.more);
}

/// A device cannot store more than its quota.
pub async fn quotas_are_enforced<S: Storage>(s: &S) {
    let ws = WorkspaceId([1; 16]);
    let a = device(1, true, DeviceStatus::Member);
    s.create_workspace(ws, a, 0).await.unwrap();
    s.append(ws, a.id, vec![envelope(1, 1)], 20, 0)
        .await
        .unwrap();
    assert_eq!(s.usage(ws, a.id).await.unwrap(), 11);
    assert_eq!(
        s.append(ws, a.id, vec![envelope(2, 1)], 20, 0).await,
        Err(StorageError::Quota)
    );
    assert_eq!(s.head(ws, a.id).await.unwrap(), 1);
    assert_eq!(
        s.blob_put(ws, a.id, [3; 32], 0, vec![0; 100], 20, 0).await,
        Err(StorageError::Quota)
    );
}

/// Mailboxes: a device reads and deletes only its own messages.
pub async fn mailboxes_are_per_device<S: Storage>(s: &S) {
    let ws = WorkspaceId([1; 16]);
    let (a, b) = (
        device(1, true, DeviceStatus::Member),
        device(2, false, DeviceStatus::Member),
    );
    s.create_workspace(ws, a, 0).await.unwrap();
    s.set_device(ws, b, 0).await.unwrap();
    let first = s
        .send_direct(ws, a.id, b.id, 1, b"one".to_vec(), QUOTA, 0)
        .await
        .unwrap();
    let second = s
        .send_direct(ws, a.id, b.id, 1, b"two".to_vec(), QUOTA, 0)
        .await
        .unwrap();
    assert_eq!(
        s.send_direct(ws, a.id, DeviceId([9; 16]), 1, vec![], QUOTA, 0)
            .await,
        Err(StorageError::NotFound("device"))
    );
    let inbox = s.fetch_direct(ws, b.id, 10).await.unwrap();
    assert_eq!(
        inbox.iter().map(|m| m.body.0.clone()).collect::<Vec<_>>(),
        vec![b"one".to_vec(), b"two".to_vec()]
    );
    assert_eq!(inbox[0].id, first);
    // Another device's ack of b's messages does nothing.
    s.ack_direct(ws, a.id, vec![first, second]).await.unwrap();
    assert_eq!(s.fetch_direct(ws, b.id, 10).await.unwrap().len(), 2);
    s.ack_direct(ws, b.id, vec![first]).await.unwrap();
    let inbox = s.fetch_direct(ws, b.id, 10).await.unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].id, second);
    assert_eq!(s.fetch_direct(ws, b.id, 0).await.unwrap().len(), 0);
}

/// Blobs upload in order, resume where they end, complete only when their hash matches.
pub async fn blobs_resume_and_are_checked<S: Storage>(s: &S) {
    let ws = WorkspaceId([1; 16]);
    let a = device(1, true, DeviceStatus::Member);
    s.create_workspace(ws, a, 0).await.unwrap();
    let content: Vec<u8> = (0..1000u32)
        .map(|i| u8::try_from(i % 251).unwrap())
        .collect();
    let id: [u8; 32] = Sha256::digest(&content).into();
    assert_eq!(s.blob_status(ws, id).await.unwrap(), None);
    let st = s
        .blob_put(ws, a.id, id, 0, content[..400].to_vec(), QUOTA, 0)
        .await
        .unwrap();
    assert_eq!((st.received, st.complete), (400, false));
    // A broken link: the client resumes from what the relay says it holds.
    assert_eq!(
        s.blob_put(ws, a.id, id, 600, content[600..].to_vec(), QUOTA, 0)
            .await,
        Err(StorageError::BlobOffset { received: 400 })
    );
    assert_eq!(
        s.blob_read(ws, id, 0, 10).await,
        Err(StorageError::NotFound("blob")),
        "an incomplete blob is not served"
    );
    s.blob_put(ws, a.id, id, 400, content[400..].to_vec(), QUOTA, 0)
        .await
        .unwrap();
    let done = s.blob_complete(ws, id).await.unwrap();
    assert_eq!((done.received, done.complete), (1000, true));
    assert_eq!(s.blob_read(ws, id, 0, 5000).await.unwrap(), content);
    assert_eq!(
        s.blob_read(ws, id, 390, 20).await.unwrap(),
        content[390..410].to_vec()
    );
    assert_eq!(
        s.blob_read(ws, id, 1000, 20).await.unwrap(),
        Vec::<u8>::new()
    );

    let liar = [0x11; 32];
    s.blob_put(
        ws,
        a.id,
        liar,
        0,
        b"not what the name says".to_vec(),
        QUOTA,
        0,
    )
    .await
    .unwrap();
    assert_eq!(
        s.blob_complete(ws, liar).await,
        Err(StorageError::BlobMismatch)
    );
    assert_eq!(s.blob_status(ws, liar).await.unwrap(), None);
}

/// Nothing of one workspace is visible through another.
pub async fn workspaces_are_isolated<S: Storage>(s: &S) {
    let (w1, w2) = (WorkspaceId([1; 16]), WorkspaceId([2; 16]));
    let a = device(1, true, DeviceStatus::Member);
    let b = device(2, true, DeviceStatus::Member);
    s.create_workspace(w1, a, 0).await.unwrap();
    s.create_workspace(w2, b, 0).await.unwrap();
    s.append(w1, a.id, vec![envelope(1, 1)], QUOTA, 0)
        .await
        .unwrap();
    assert!(
        s.pull(w2, vec![], usize::MAX, 100)
            .await
            .unwrap()
            .envelopes
            .is_empty()
    );
    assert_eq!(s.device(w2, a.id).await.unwrap(), None);
    assert_eq!(s.head(w2, a.id).await.unwrap(), 0);
    let invite = InviteId([3; 16]);
    s.create_invite(w1, invite, 1_000, 0).await.unwrap();
    assert_eq!(
        s.consume_invite(
            w2,
            invite,
            device(4, false, DeviceStatus::Pending),
            vec![],
            1
        )
        .await,
        Err(StorageError::NotFound("invite"))
    );
}
