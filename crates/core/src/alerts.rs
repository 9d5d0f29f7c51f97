//! Unusual-access alerts for the clinic's managers: the store's alerts over the audit trail,
//! their acknowledgements, and the rules' settings.

use outpost_store::alerts::{AlertView, Rules};

use crate::{Core, CoreError};

impl Core {
    /// The alerts of the last 90 days, newest first, with their acknowledgements.
    pub async fn alerts(&self) -> Result<Vec<AlertView>, CoreError> {
        self.with_store(|s| s.alerts()).await
    }

    /// How many alerts nobody acknowledged. Polled for a badge, so it does not count as
    /// activity: a laptop left open still locks when idle.
    pub async fn open_alert_count(&self) -> Result<u32, CoreError> {
        self.in_background(self.with_store(|s| s.open_alert_count()))
            .await
    }

    /// Records that the signed-in manager looked into alert `id`, and what they found.
    pub async fn acknowledge_alert(&self, id: String, note: String) -> Result<(), CoreError> {
        self.with_store(move |s| s.acknowledge_alert(&id, &note))
            .await
    }

    /// The rules' settings on this device.
    pub async fn alert_rules(&self) -> Result<Rules, CoreError> {
        self.with_store(|s| s.alert_rules()).await
    }

    /// Changes the rules' settings on this device (managers only).
    pub async fn set_alert_rules(&self, rules: Rules) -> Result<(), CoreError> {
        self.with_store(move |s| s.set_alert_rules(&rules)).await
    }
}
