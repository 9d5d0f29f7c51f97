//! Attachment content, after the records: uploads of what this device holds and the team
//! lacks, then downloads of what others uploaded, small before large, one sealed chunk per
//! request so a dropped link resumes at the chunk it was on (the relay says how much it
//! holds; the store says how much it has).

use outpost_proto::relay::ErrorCode;

use crate::{Failure, Replica, Request, Response, Transfer, engine::SyncError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Status,
    Put(u64),
    Complete,
    Get(u64),
}

/// The transfers of one exchange.
#[derive(Debug, Default)]
pub(crate) struct Blobs {
    skip: Vec<[u8; 16]>,
    current: Option<(Transfer, Phase)>,
    /// Attachments whose content reached the relay.
    pub(crate) uploaded: u64,
    /// Attachments whose content arrived here, checked.
    pub(crate) downloaded: u64,
    /// Transfers that could not be done now (retried at the next exchange).
    pub(crate) deferred: u64,
}

fn store_err(e: impl std::fmt::Display) -> SyncError {
    SyncError::Store(e.to_string())
}

impl Blobs {
    /// The next request, or `None` when nothing is left to transfer.
    pub(crate) fn next<R: Replica>(&mut self, r: &mut R) -> Result<Option<Request>, SyncError> {
        if self.current.is_none() {
            if let Some(t) = r.next_upload(&self.skip).map_err(store_err)? {
                self.current = Some((t, Phase::Status));
            } else if let Some(t) = r.next_download(&self.skip).map_err(store_err)? {
                let have = t.have;
                self.current = Some((t, Phase::Get(have)));
            }
        }
        let Some((t, phase)) = &self.current else {
            return Ok(None);
        };
        Ok(Some(match *phase {
            Phase::Status => Request::BlobStatus(t.blob),
            Phase::Put(i) => Request::BlobPut {
                blob: t.blob,
                offset: i * t.chunk_size,
                data: r.upload_chunk(t, i).map_err(store_err)?,
            },
            Phase::Complete => Request::BlobComplete(t.blob),
            Phase::Get(i) => Request::BlobGet {
                blob: t.blob,
                offset: i * t.chunk_size,
                len: t.chunk_size,
            },
        }))
    }

    /// Gives this attachment up for this exchange.
    fn defer(&mut self, t: &Transfer) {
        self.skip.push(t.attachment);
        self.deferred += 1;
        self.current = None;
    }

    /// Takes the relay's answer to the last request.
    pub(crate) fn on_response<R: Replica>(
        &mut self,
        r: &mut R,
        response: Result<Response, Failure>,
    ) -> Result<(), SyncError> {
        let Some((t, phase)) = self.current.clone() else {
            return Ok(());
        };
        match (phase, response) {
            (_, Err(Failure::Unreachable(why))) => return Err(SyncError::Unreachable(why)),
            (Phase::Status, Ok(Response::Blob(st))) => {
                if st.complete {
                    r.upload_done(&t).map_err(store_err)?;
                    self.uploaded += 1;
                    self.current = None;
                } else {
                    let i = st.received / t.chunk_size;
                    let next = if i >= t.chunks {
                        Phase::Complete
                    } else {
                        Phase::Put(i)
                    };
                    self.current = Some((t, next));
                }
            }
            (Phase::Put(i), Ok(Response::Blob(_))) => {
                let next = if i + 1 >= t.chunks {
                    Phase::Complete
                } else {
                    Phase::Put(i + 1)
                };
                self.current = Some((t, next));
            }
            (Phase::Put(_), Err(Failure::Refused { body, .. }))
                if body.code == ErrorCode::SEQUENCE && body.expected.is_some() =>
            {
                // The relay holds a different amount than assumed: continue where it is.
                let i = body.expected.unwrap_or(0) / t.chunk_size;
                self.current = Some((t, Phase::Put(i)));
            }
            (Phase::Complete, Ok(Response::Blob(st))) if st.complete => {
                r.upload_done(&t).map_err(store_err)?;
                self.uploaded += 1;
                self.current = None;
            }
            (Phase::Complete, Err(Failure::Refused { body, .. }))
                if body.code == ErrorCode::BLOB_MISMATCH =>
            {
                r.upload_failed(&t).map_err(store_err)?;
                self.defer(&t);
            }
            (Phase::Get(i), Ok(Response::Bytes(bytes))) => match r.download_chunk(&t, i, &bytes) {
                Ok(true) => {
                    self.downloaded += 1;
                    self.current = None;
                }
                Ok(false) => self.current = Some((t, Phase::Get(i + 1))),
                // Altered or truncated on the way: dropped, fetched again next time.
                Err(_) => self.defer(&t),
            },
            // Not (yet) at the relay, refused, or an answer that does not fit: later.
            _ => self.defer(&t),
        }
        Ok(())
    }
}
