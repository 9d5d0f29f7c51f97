//! Live delivery: each workspace has one bounded broadcast channel; a connected device gets
//! every small new envelope at once, and a nudge to pull for anything else (a large envelope,
//! a direct message, or frames it was too slow to take). Memory stays bounded whatever the
//! clients do: a slow reader loses frames, not the relay.

use std::{collections::HashMap, sync::Arc, sync::Mutex};

use outpost_proto::{WorkspaceId, canon::Bytes, relay::Live};
use tokio::sync::broadcast;

/// Frames buffered per workspace.
const CAPACITY: usize = 512;
/// Envelopes larger than this are announced with a nudge instead of sent.
const MAX_LIVE_ENVELOPE: usize = 16 * 1024;

/// An encoded [`Live`] frame.
pub(crate) type Frame = Arc<Vec<u8>>;

#[derive(Debug, Default)]
pub(crate) struct Hub {
    channels: Mutex<HashMap<WorkspaceId, broadcast::Sender<Frame>>>,
}

impl Hub {
    pub(crate) fn subscribe(&self, workspace: WorkspaceId) -> Option<broadcast::Receiver<Frame>> {
        let mut channels = self.channels.lock().ok()?;
        // Channels nobody listens to any more are dropped as new ones are made.
        channels.retain(|_, tx| tx.receiver_count() > 0);
        Some(
            channels
                .entry(workspace)
                .or_insert_with(|| broadcast::channel(CAPACITY).0)
                .subscribe(),
        )
    }

    fn send(&self, workspace: WorkspaceId, frame: &Live) {
        let Ok(channels) = self.channels.lock() else {
            return;
        };
        if let Some(tx) = channels.get(&workspace) {
            // No receiver is not an error: nobody is connected.
            let _ = tx.send(Arc::new(outpost_proto::relay::encode(frame)));
        }
    }

    /// Announces a new envelope.
    pub(crate) fn envelope(&self, workspace: WorkspaceId, bytes: &[u8]) {
        let envelope = (bytes.len() <= MAX_LIVE_ENVELOPE).then(|| Bytes(bytes.to_vec()));
        self.send(workspace, &Live { envelope });
    }

    /// Tells connected devices to pull (and read their mailboxes).
    pub(crate) fn nudge(&self, workspace: WorkspaceId) {
        self.send(workspace, &Live { envelope: None });
    }
}
