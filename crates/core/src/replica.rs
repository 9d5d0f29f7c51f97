//! The encrypted store as the sync engine's [`Replica`].

use outpost_crypto::{DeviceIdentity, GroupKey, PublicIdentity};
use outpost_proto::{DeviceId, Operation, payload::Watermark, relay::Join};
use outpost_store::{
    AttachmentId, Store, StoreError,
    receive::Received,
    workspace::blobs::{BlobPlan, SEALED_CHUNK},
};
use outpost_sync::{Membership, Offered, Replica, Task, Transfer};

/// A store, borrowed for one step of the engine.
#[derive(Debug)]
pub struct StoreReplica<'a>(pub &'a mut Store);

impl Replica for StoreReplica<'_> {
    type Error = StoreError;

    fn membership(&mut self) -> Result<Option<Membership>, StoreError> {
        let Some(info) = self.0.workspace()? else {
            return Ok(None);
        };
        let join = if info.pending && self.0.sync_value("join_sent")?.as_deref() != Some("1") {
            match (
                self.0.sync_value("join_invite")?,
                self.0.sync_value("join_request")?,
            ) {
                (Some(invite), Some(sealed)) => Some((
                    invite.parse()?,
                    hex::decode(sealed).map_err(|_| StoreError::Corrupt("join request"))?,
                )),
                _ => None,
            }
        } else {
            None
        };
        Ok(Some(Membership {
            workspace: info.id,
            admitted: self.0.is_admitted()?,
            must_found: self.0.sync_value("must_found")?.as_deref() == Some("1"),
            join,
        }))
    }

    fn founded(&mut self) -> Result<(), StoreError> {
        self.0.set_sync_value("must_found", "0")
    }

    fn join_sent(&mut self) -> Result<(), StoreError> {
        self.0.set_sync_value("join_sent", "1")
    }

    fn device(&self) -> &DeviceIdentity {
        self.0.device_identity()
    }

    fn tasks(&mut self) -> Result<Vec<Task>, StoreError> {
        Ok(self
            .0
            .relay_tasks()?
            .into_iter()
            .map(|(id, kind, body)| Task { id, kind, body })
            .collect())
    }

    fn task_done(&mut self, id: i64) -> Result<(), StoreError> {
        self.0.relay_task_done(id)
    }

    fn admit(&mut self, join: &Join) -> Result<(), StoreError> {
        self.0.admit(join).map(|_| ())
    }

    fn accept_delivery(&mut self, body: &[u8]) -> Result<(), StoreError> {
        self.0.accept_delivery(body).map(|_| ())
    }

    fn relay_head(&mut self) -> Result<u64, StoreError> {
        self.0.relay_head()
    }

    fn set_relay_head(&mut self, head: u64) -> Result<(), StoreError> {
        self.0.set_relay_head(head)
    }

    fn own_head(&mut self) -> Result<u64, StoreError> {
        self.0.own_head()
    }

    fn outbox(&mut self, after: u64, limit: usize) -> Result<Vec<Operation>, StoreError> {
        self.0.outbox(after, limit)
    }

    fn sealing_key(&mut self) -> Result<Option<GroupKey>, StoreError> {
        self.0.sealing_key()
    }

    fn opening_keys(&mut self, epoch: u32) -> Result<Vec<GroupKey>, StoreError> {
        self.0.opening_keys(epoch)
    }

    fn epoch_expired(&mut self, epoch: u32) -> Result<bool, StoreError> {
        self.0.epoch_expired(epoch)
    }

    fn watermarks(&mut self) -> Result<Vec<Watermark>, StoreError> {
        self.0.watermarks()
    }

    fn device_identity(&mut self, device: DeviceId) -> Result<Option<PublicIdentity>, StoreError> {
        Ok(self.0.device_public(device)?.map(|(identity, _)| identity))
    }

    fn offer(&mut self, op: &[u8]) -> Result<Offered, StoreError> {
        Ok(match self.0.receive_operation(op)? {
            Received::Applied => Offered::Applied,
            Received::Duplicate => Offered::Duplicate,
            Received::Refused { .. } => Offered::Refused,
            Received::Gap { .. } => Offered::Gap,
            Received::Waiting => Offered::Waiting,
            _ => Offered::Quarantined,
        })
    }

    fn begin_batch(&mut self) -> Result<(), StoreError> {
        self.0.begin_receiving()
    }

    fn end_batch(&mut self) -> Result<(), StoreError> {
        self.0.end_receiving()
    }

    fn hole(&mut self, device: DeviceId, seq: u64, reason: &'static str) -> Result<(), StoreError> {
        self.0.record_hole(device, seq, reason)
    }

    fn next_upload(&mut self, skip: &[[u8; 16]]) -> Result<Option<Transfer>, StoreError> {
        let skip: Vec<AttachmentId> = skip.iter().map(|a| AttachmentId(*a)).collect();
        Ok(self.0.next_upload(&skip)?.as_ref().map(transfer))
    }

    fn upload_chunk(&mut self, t: &Transfer, i: u64) -> Result<Vec<u8>, StoreError> {
        self.0.upload_chunk(AttachmentId(t.attachment), i)
    }

    fn upload_done(&mut self, t: &Transfer) -> Result<(), StoreError> {
        self.0.upload_done(&plan(t))
    }

    fn upload_failed(&mut self, t: &Transfer) -> Result<(), StoreError> {
        self.0.upload_failed(AttachmentId(t.attachment))
    }

    fn next_download(&mut self, skip: &[[u8; 16]]) -> Result<Option<Transfer>, StoreError> {
        let skip: Vec<AttachmentId> = skip.iter().map(|a| AttachmentId(*a)).collect();
        Ok(self.0.next_download(&skip)?.as_ref().map(transfer))
    }

    fn download_chunk(&mut self, t: &Transfer, i: u64, sealed: &[u8]) -> Result<bool, StoreError> {
        self.0.download_chunk(&plan(t), i, sealed)
    }

    fn settle(&mut self) -> Result<bool, StoreError> {
        self.0.confirm_keys()?;
        self.0.refresh_user()?;
        let mut wrote = false;
        if self.0.is_admitted()? {
            wrote |= self.0.write_receipt_if_due()?;
            wrote |= self.0.rotate_if_due()?;
        }
        self.0.prune_keys()?;
        Ok(wrote || !self.0.relay_tasks()?.is_empty())
    }

    fn record_outcome(&mut self, now_ms: i64, error: Option<&str>) -> Result<(), StoreError> {
        match error {
            None => {
                self.0.set_sync_value("last_sync", &now_ms.to_string())?;
                self.0.set_sync_value("last_error", "")
            }
            Some(e) => self.0.set_sync_value("last_error", e),
        }
    }
}

fn transfer(p: &BlobPlan) -> Transfer {
    Transfer {
        attachment: p.attachment.0,
        blob: p.blob,
        chunks: p.chunks,
        chunk_size: SEALED_CHUNK,
        have: p.have,
    }
}

fn plan(t: &Transfer) -> BlobPlan {
    BlobPlan {
        attachment: AttachmentId(t.attachment),
        blob: t.blob,
        blob_size: 0,
        chunks: t.chunks,
        have: t.have,
    }
}
