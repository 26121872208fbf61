// Every command the window may call, once, by module. This one table feeds:
// - `tauri::generate_handler!` in main.rs (what the app answers),
// - the ACL manifest in build.rs (only listed commands are callable at all),
// - capabilities/default.json, which build.rs writes from it (what the window may call).
// How-to: write the `#[tauri::command]` in its module, add its name here. Nothing else.
//
// This file is `include!`d by build.rs as well as compiled into the app, so it holds
// only this macro: `command_table!(m)` calls the macro `m` with the table.

macro_rules! command_table {
    ($callback:ident) => {
        $callback! {
            commands: schema, vault_status, passphrase_strength, create_vault, unlock_vault,
                lock_vault, list_records, get_record, save_record, delete_record,
                record_history, vocabulary, get_settings, set_settings, quit_app, key_backup;
            evidence: evidence_list, evidence_pick_file, evidence_pick_destination,
                evidence_attach, evidence_delete_original, evidence_view, evidence_custody,
                evidence_verify, evidence_export;
            sync: sync_status, sync_enroll, sync_now, sync_set, merge_proposal, resolve,
                travel_remove, travel_restore, coordinator_decide, org_confirm, org_preview,
                org_create;
            protect: unlock_state, wipe_vault, take_draft, duress_status, set_duress,
                clear_duress;
            search: search;
            idle: user_active;
            export: export_formats, export_check, export_run, submission_form;
            followup: follow_ups, mark_intervention_sent;
            import: import_sources, import_preview, import_run;
            patterns: patterns_figures, patterns_export;
            package: check_package;
        }
    };
}
