//! What this build is and what state the runtime is in: the data behind the app's status area.

use serde::{Deserialize, Serialize};

/// The version of this build, from the workspace manifest.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Build and runtime facts shown in the app's status area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// Semantic version of this build.
    pub version: String,
    /// Absolute path of the directory holding this device's data.
    pub data_dir: String,
    /// Compile-time features of this build, e.g. `debug-build`.
    pub build_features: Vec<String>,
    /// The runtime's current state.
    pub status: CoreStatus,
}

/// The runtime's current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct CoreStatus {
    /// Whether a profile exists on this device, and whether it is unlocked.
    pub profile: ProfileState,
    /// Whether the data directory accepts writes right now.
    pub data_dir_writable: bool,
}

/// Whether a profile exists on this device, and whether it is unlocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub enum ProfileState {
    /// No profile yet: the app shows onboarding.
    NotCreated,
    /// A profile exists and its keys are not in memory.
    Locked,
    /// A profile is open.
    Unlocked,
}

/// The compile-time features of this build, as stable lowercase names.
pub(crate) fn build_features() -> Vec<String> {
    let mut features = Vec::new();
    if cfg!(debug_assertions) {
        features.push("debug-build".to_owned());
    } else {
        features.push("release-build".to_owned());
    }
    features.push(format!("target-{}", std::env::consts::OS));
    features
}
