//! The SQLite backend passes the storage conformance suite, and what it acknowledged survives
//! reopening.

use outpost_proto::{DeviceId, WorkspaceId};
use outpost_relay::storage::{
    DeviceRecord, DeviceStatus, NewEnvelope, SqliteStorage, Storage, conformance,
};

#[tokio::test]
async fn sqlite_passes_the_conformance_suite() {
    let dirs = std::sync::Mutex::new(Vec::new());
    conformance::run_all(async || {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).unwrap();
        dirs.lock().unwrap().push(dir);
        storage
    })
    .await;
}

#[tokio::test]
async fn acknowledged_appends_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let ws = WorkspaceId([1; 16]);
    let device = DeviceRecord {
        id: DeviceId([1; 16]),
        identity: [1; 64],
        admin: true,
        status: DeviceStatus::Member,
    };
    {
        let s = SqliteStorage::open(dir.path()).unwrap();
        s.create_workspace(ws, device, 0).await.unwrap();
        let envelopes = (1..=50)
            .map(|seq| NewEnvelope {
                seq,
                epoch: 1,
                bytes: vec![7; 100],
            })
            .collect();
        assert_eq!(
            s.append(ws, device.id, envelopes, u64::MAX, 0)
                .await
                .unwrap(),
            50
        );
    }
    let s = SqliteStorage::open(dir.path()).unwrap();
    assert_eq!(s.head(ws, device.id).await.unwrap(), 50);
    assert_eq!(
        s.pull(ws, vec![], usize::MAX, 100)
            .await
            .unwrap()
            .envelopes
            .len(),
        50
    );
}
