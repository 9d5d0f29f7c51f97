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
    &[
        "app_info",
        "profile_users",
        "create_profile",
        "unlock",
        "unlock_with_recovery",
        "lock",
        "current_user",
        "capabilities",
        "add_attachment_raw",
        "members",
        "add_user",
        "remove_user",
        "change_passphrase",
        "rotate_recovery",
        "recovery_sheet",
        "search_patients",
        "add_patient",
        "chart",
        "add_encounter",
        "finish_encounter",
        "write_note",
        "update_draft",
        "note",
        "sign_note",
        "add_addendum",
        "add_vital",
        "audit_entries",
        "verify_audit",
        "create_backup",
        "verify_backup",
        "restore_backup",
        "attachment_preview",
        "workspace",
        "create_workspace",
        "create_invite",
        "join_workspace",
        "workspace_members",
        "mark_verified",
        "remove_member",
        "sync_now",
        "sync_status",
        "sync_centre",
        "resolve_conflict",
        "edit_patient",
        "call_view",
        "call_go_online",
        "call_frame_raw",
        "call_start",
        "call_accept",
        "call_decline",
        "call_hang_up",
        "call_mute",
        "call_camera_off",
        "call_audio_only",
        "call_chat",
        "call_share_file",
        "call_attach_file",
        "visit_invite",
        "visit_admit",
        "visit_join",
    ]
}
