//! Declares every app command in the ACL manifest: only commands listed here (and
//! allowed in capabilities/default.json) can be called from the UI.

/// The commands of `src/commands.rs`, `src/evidence.rs`, `src/sync.rs`,
/// `src/protect.rs`, `src/search.rs` and `src/export.rs`.
pub const COMMANDS: &[&str] = &[
    "vault_status",
    "passphrase_strength",
    "create_vault",
    "unlock_vault",
    "lock_vault",
    "list_records",
    "get_record",
    "save_record",
    "delete_record",
    "record_history",
    "vocabulary",
    "get_settings",
    "set_settings",
    "quit_app",
    "key_backup",
    "evidence_list",
    "evidence_pick_file",
    "evidence_pick_destination",
    "evidence_attach",
    "evidence_delete_original",
    "evidence_view",
    "evidence_custody",
    "evidence_verify",
    "evidence_export",
    "sync_status",
    "sync_enroll",
    "sync_now",
    "sync_set",
    "merge_proposal",
    "resolve",
    "travel_remove",
    "travel_restore",
    "unlock_state",
    "wipe_vault",
    "take_draft",
    "duress_status",
    "set_duress",
    "clear_duress",
    "search",
    "export_formats",
    "export_check",
    "export_run",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("the Tauri configuration and capabilities are valid");
}
