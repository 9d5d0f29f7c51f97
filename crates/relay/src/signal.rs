//! Call signaling: who is connected on `/v1/signal`, and who may signal whom.
//!
//! Signals are routed, never stored: a device that is not connected cannot be rung, and the
//! caller hears so at once. A member device may signal the other member devices of its
//! workspace and the patient devices whose visits it hosts; a patient's (guest) device may
//! signal only its visit's host. Each connection's queue is bounded, so a device that stops
//! reading loses signals rather than growing the relay's memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use outpost_proto::{DeviceId, WorkspaceId};
use tokio::sync::mpsc;

/// Frames queued per connection.
const QUEUE: usize = 256;

type Key = (WorkspaceId, DeviceId);
/// Each connection of a device: its registration id and its queue.
type Connections = Vec<(u64, mpsc::Sender<Vec<u8>>)>;

#[derive(Debug, Default)]
pub(crate) struct SignalHub {
    connections: Mutex<HashMap<Key, Connections>>,
    /// Connected guest devices and the device hosting each one's visit.
    guests: Mutex<HashMap<Key, DeviceId>>,
    next: AtomicU64,
}

/// One registered connection; it unregisters when dropped.
pub(crate) struct Registration<'a> {
    hub: &'a SignalHub,
    key: Key,
    id: u64,
    guest: bool,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        if let Ok(mut c) = self.hub.connections.lock()
            && let Some(list) = c.get_mut(&self.key)
        {
            list.retain(|(id, _)| *id != self.id);
            if list.is_empty() {
                c.remove(&self.key);
                if self.guest
                    && let Ok(mut g) = self.hub.guests.lock()
                {
                    g.remove(&self.key);
                }
            }
        }
    }
}

impl SignalHub {
    /// Registers a connection of `device`; `host` is set for a guest (its visit's host).
    pub(crate) fn register(
        &self,
        workspace: WorkspaceId,
        device: DeviceId,
        host: Option<DeviceId>,
    ) -> (Registration<'_>, mpsc::Receiver<Vec<u8>>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let key = (workspace, device);
        if let Ok(mut c) = self.connections.lock() {
            c.entry(key).or_default().push((id, tx));
        }
        if let Some(host) = host
            && let Ok(mut g) = self.guests.lock()
        {
            g.insert(key, host);
        }
        (
            Registration {
                hub: self,
                key,
                id,
                guest: host.is_some(),
            },
            rx,
        )
    }

    /// The host of a connected guest device.
    pub(crate) fn guest_host(&self, workspace: WorkspaceId, device: DeviceId) -> Option<DeviceId> {
        self.guests.lock().ok()?.get(&(workspace, device)).copied()
    }

    /// Hands `frame` to every connection of `to`; false when none is connected (or all are
    /// too far behind to take it).
    pub(crate) fn deliver(&self, workspace: WorkspaceId, to: DeviceId, frame: &[u8]) -> bool {
        let Ok(c) = self.connections.lock() else {
            return false;
        };
        let mut delivered = false;
        for (_, tx) in c.get(&(workspace, to)).into_iter().flatten() {
            delivered |= tx.try_send(frame.to_vec()).is_ok();
        }
        delivered
    }
}
