//! Declares every app command in the ACL manifest and allows each in the window's one
//! capability, both from the command table (`src/command_table.rs`): only commands
//! listed there can be called from the UI, and there is no second list to forget.

use std::fs;
use std::path::Path;

include!("src/command_table.rs");

/// The names of the commands in the table.
macro_rules! names {
    ($($module:ident: $($name:ident),+;)+) => {
        &[$($(stringify!($name)),+),+]
    };
}

const COMMANDS: &[&str] = command_table!(names);

/// The capability file: the window may call the app's own commands and listen to the
/// app's own events. No plugin, no other permission.
fn capability() -> String {
    let mut permissions: Vec<String> = COMMANDS
        .iter()
        .map(|c| format!("\"allow-{}\"", c.replace('_', "-")))
        .collect();
    permissions.push("\"core:event:allow-listen\"".into());
    format!(
        r#"{{
  "$schema": "../gen/schemas/desktop-schema.json",
  "identifier": "default",
  "description": "The app's own commands, in its one window, and listening to the app's own events (sync-status, lock-request, search-index, export-progress). No plugin, no other permission. Written by build.rs from src/command_table.rs: edit the table, not this file.",
  "windows": ["main"],
  "permissions": [
    {}
  ]
}}
"#,
        permissions.join(",\n    ")
    )
}

fn main() {
    // Written only when it changed, so that a build does not touch the tree needlessly.
    let path = Path::new("capabilities/default.json");
    let want = capability();
    if fs::read_to_string(path).ok().as_deref() != Some(want.as_str()) {
        fs::write(path, want).expect("capabilities/default.json can be written");
    }
    println!("cargo:rerun-if-changed=src/command_table.rs");
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("the Tauri configuration and capabilities are valid");
}
