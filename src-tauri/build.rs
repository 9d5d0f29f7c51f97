//! Build script: generates Tauri's context and the permission set for our own commands.

fn main() {
    // Declaring the app's commands makes Tauri deny any command that a capability does not
    // grant, instead of allowing every registered command by default.
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(outpost_commands()));
    tauri_build::try_build(attributes).expect("tauri build step failed");
}

/// Every command registered in `src/commands`; keep in step with `commands::specta_builder`.
fn outpost_commands() -> &'static [&'static str] {
    &["app_info"]
}
