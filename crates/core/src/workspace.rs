//! Workspaces and sync, as the shell and the command line call them: founding, invites,
//! joining, members, conflicts, and running the sync engine against the relay.

use outpost_proto::{PatientField, PatientId, Role, UserId};
use outpost_store::{
    records::conflicts::{Conflict, PossibleDuplicate},
    workspace::{
        InviteCode, WorkspaceInfo, WorkspaceMember,
        sync_state::{OwnChange, SetAside, SyncStatus},
    },
};
use outpost_sync::{Action, Engine, Summary};
use zeroize::Zeroizing;

use crate::{Core, CoreError, net::RelayClient, replica::StoreReplica};

impl Core {
    /// The workspace this profile is in or joining.
    pub async fn workspace(&self) -> Result<Option<WorkspaceInfo>, CoreError> {
        self.with_store(|s| s.workspace()).await
    }

    /// Founds a workspace on this profile (admins and physicians), synced through `relay`.
    pub async fn create_workspace(
        &self,
        name: String,
        relay: String,
    ) -> Result<WorkspaceInfo, CoreError> {
        self.with_store(move |s| s.create_workspace(&name, &relay))
            .await
    }

    /// Creates an invite for `role`, valid `ttl_ms`; returns the one-line code.
    pub async fn create_invite(&self, role: Role, ttl_ms: i64) -> Result<String, CoreError> {
        self.with_store(move |s| Ok(s.create_invite(role, ttl_ms)?.encode()))
            .await
    }

    /// Joins a workspace with an invite code, as `user` (name or id) with their passphrase:
    /// the profile must hold no records. The session stays unlocked, waiting for an admin
    /// device to admit this one; the first sync sends the request.
    pub async fn join_workspace(
        &self,
        code: String,
        user: String,
        passphrase: Zeroizing<String>,
        device_name: String,
    ) -> Result<WorkspaceInfo, CoreError> {
        let profile = self.profile()?;
        let clock = self.clock();
        let code = InviteCode::parse(&code)?;
        // Whoever is unlocked is locked first: the database is about to be set aside.
        self.lock().await?;
        let store = tokio::task::spawn_blocking(move || {
            profile
                .join_workspace(&user, passphrase.as_bytes(), &code, &device_name, clock)
                .map(|(store, _)| store)
        })
        .await
        .map_err(|_| CoreError::Task)??;
        let info = store.workspace()?.ok_or(CoreError::Task)?;
        self.install(store).await;
        Ok(info)
    }

    /// Everyone in the workspace, per person and device, with safety numbers.
    pub async fn workspace_members(&self) -> Result<Vec<WorkspaceMember>, CoreError> {
        self.with_store(|s| s.workspace_members()).await
    }

    /// Removes a member (user id) or a device (device id); starts a new key epoch. Returns
    /// the devices removed.
    pub async fn remove_member(&self, id: String) -> Result<Vec<String>, CoreError> {
        self.with_store(move |s| {
            Ok(s.remove_member(&id)?
                .into_iter()
                .map(|d| d.to_hex())
                .collect())
        })
        .await
    }

    /// Marks a member's safety number as compared and matching.
    pub async fn mark_verified(&self, user: UserId) -> Result<(), CoreError> {
        self.with_store(move |s| s.mark_verified(user)).await
    }

    /// What the sync indicator shows.
    pub async fn sync_status(&self) -> Result<SyncStatus, CoreError> {
        self.with_store(|s| s.sync_status()).await
    }

    /// This device's newest changes and how far each has travelled.
    pub async fn recent_changes(&self, limit: usize) -> Result<Vec<OwnChange>, CoreError> {
        self.with_store(move |s| s.recent_changes(limit)).await
    }

    /// What sync set aside, with why.
    pub async fn set_aside(&self) -> Result<Vec<SetAside>, CoreError> {
        self.with_store(|s| s.set_aside()).await
    }

    /// Open conflicts.
    pub async fn conflicts(&self) -> Result<Vec<Conflict>, CoreError> {
        self.with_store(|s| s.conflicts()).await
    }

    /// Resolves a conflict by choosing one of its values or giving a new one.
    pub async fn resolve_conflict(
        &self,
        id: String,
        choose: Option<String>,
        value: Option<String>,
    ) -> Result<(), CoreError> {
        self.with_store(move |s| s.resolve_conflict(&id, choose.as_deref(), value.as_deref()))
            .await
    }

    /// Edits one demographic field of a patient.
    pub async fn edit_patient(
        &self,
        patient: PatientId,
        field: PatientField,
        value: Option<String>,
    ) -> Result<(), CoreError> {
        self.with_store(move |s| s.edit_patient(patient, field, value))
            .await
    }

    /// Charts that may be the same person.
    pub async fn possible_duplicates(&self) -> Result<Vec<PossibleDuplicate>, CoreError> {
        self.with_store(|s| s.possible_duplicates()).await
    }

    /// Links two charts of one person.
    pub async fn link_patients(&self, a: PatientId, b: PatientId) -> Result<(), CoreError> {
        self.with_store(move |s| s.link_patients(a, b)).await
    }

    /// One full exchange with the relay. The store is held only between network calls, so
    /// the app stays usable while a slow link carries the data.
    pub async fn sync_now(&self) -> Result<Summary, CoreError> {
        self.exchange().await.map(|(summary, _)| summary)
    }

    /// Syncs until `stop` resolves: an exchange now, then again whenever the relay's live
    /// socket says something arrived, every `interval` (for what was written here), and after
    /// a dropped link with a growing back-off. `report` hears every exchange's outcome.
    /// Returns early only when this device was removed.
    pub async fn watch(
        &self,
        interval: std::time::Duration,
        stop: impl Future<Output = ()>,
        mut report: impl FnMut(&Result<Summary, CoreError>),
    ) -> Result<(), CoreError> {
        tokio::pin!(stop);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(8);
        let mut live: Option<tokio::task::JoinHandle<()>> = None;
        let mut backoff = std::time::Duration::from_secs(1);
        loop {
            let outcome = self.exchange().await;
            // What arrived while it ran is covered by it: one exchange per burst, not per frame.
            while rx.try_recv().is_ok() {}
            let wait = if let Ok((_, token)) = &outcome {
                backoff = std::time::Duration::from_secs(1);
                if live
                    .as_ref()
                    .is_none_or(tokio::task::JoinHandle::is_finished)
                    && let Some(token) = token
                    && let Some(relay) = self.workspace().await?.map(|w| w.relay)
                    && let Ok(client) = RelayClient::new(&relay)
                {
                    let tx = tx.clone();
                    let token = *token;
                    let me = self.with_store(|s| Ok(s.device_id())).await?;
                    live = Some(tokio::spawn(async move {
                        let _ = client
                            .live(token, |frame| {
                                // This device's own envelopes coming back are no news.
                                let own = frame.envelope.as_ref().is_some_and(|e| {
                                    outpost_crypto::SealedEnvelope::decode(&e.0)
                                        .is_ok_and(|e| e.header().author == me)
                                });
                                own || tx.try_send(()).is_ok() || !tx.is_closed()
                            })
                            .await;
                    }));
                }
                interval
            } else {
                backoff = (backoff * 2).min(std::time::Duration::from_mins(1));
                backoff
            };
            let outcome = outcome.map(|(summary, _)| summary);
            report(&outcome);
            if let Err(CoreError::Sync(outpost_sync::SyncError::Removed)) = outcome {
                if let Some(l) = live {
                    l.abort();
                }
                return outcome.map(|_| ());
            }
            tokio::select! {
                () = &mut stop => break,
                _ = rx.recv() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        if let Some(l) = live {
            l.abort();
        }
        Ok(())
    }

    pub(crate) async fn exchange(&self) -> Result<(Summary, Option<[u8; 32]>), CoreError> {
        let _one_at_a_time = self.inner.sync_lock.lock().await;
        let relay = self
            .with_store(|s| Ok(s.workspace()?.map(|w| w.relay)))
            .await?
            .ok_or(CoreError::NoWorkspace)?;
        let client = RelayClient::new(&relay).map_err(CoreError::Relay)?;
        let now = self.clock().now_ms();
        let (mut engine, mut action) = self
            .with_store(move |s| {
                let mut engine = Engine::new(now);
                let action = engine.start(&mut StoreReplica(s));
                Ok((engine, action))
            })
            .await?;
        loop {
            match action {
                Action::Done(outcome) => {
                    return outcome
                        .map(|summary| (summary, engine.token()))
                        .map_err(CoreError::Sync);
                }
                Action::Send(out) => {
                    let response = client.send(&out).await;
                    (engine, action) = self
                        .with_store(move |s| {
                            let action = engine.on_response(&mut StoreReplica(s), response);
                            Ok((engine, action))
                        })
                        .await?;
                }
            }
        }
    }
}
