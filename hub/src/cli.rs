//! The `custos-hub` command: `serve`, and the admin commands. `src/main.rs` calls
//! [`main`]; so do the end-to-end tests' and benchmarks' copies of the binary.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::admin::{self, AdminRequest};
use crate::keys::DataDir;
use crate::server::ServeOptions;
use crate::storage::Storage;
use clap::{Parser, Subcommand};

/// The sync hub of a Custos organisation: it stores and relays encrypted records it
/// cannot read.
#[derive(Debug, Parser)]
#[command(name = "custos-hub", version)]
struct Cli {
    /// The hub's data folder [default: $XDG_DATA_HOME/custos-hub or
    /// ~/.local/share/custos-hub].
    #[arg(long, global = true, value_name = "DIR")]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the hub (prints `listening on ADDR` and `pin sha256:…`).
    Serve {
        /// The address to listen on (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:8443", value_name = "ADDR")]
        listen: String,
        /// Keeps the data in this PostgreSQL database instead of the data folder, so that
        /// several instances can serve the organisation (postgres://USER@HOST/DB, or a
        /// Unix socket folder: postgres://USER@%2Frun%2Fpostgresql/DB). Recorded in the
        /// data folder for the admin commands and later starts.
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
        /// With --postgres: keeps evidence files in this folder (shared by every instance)
        /// instead of in PostgreSQL.
        #[arg(long, value_name = "DIR", requires = "postgres")]
        blob_dir: Option<PathBuf>,
        /// With PostgreSQL: makes this folder's keys (its pin) the ones every instance
        /// must have; devices enrolled with the old pin must enroll again.
        #[arg(long)]
        adopt_keys: bool,
        /// Most objects (versions) one device may keep on the hub.
        #[arg(long, value_name = "N", default_value_t = crate::hub::DEFAULT_QUOTA_OBJECTS)]
        quota_objects: u64,
        /// Most bytes of evidence files one device may keep on the hub.
        #[arg(long, value_name = "BYTES", default_value_t = crate::hub::DEFAULT_QUOTA_EVIDENCE)]
        quota_evidence: u64,
        /// Enrollment requests one address may make per minute.
        #[arg(long, value_name = "N", default_value_t = crate::hub::DEFAULT_ENROLL_RATE)]
        enroll_rate: u32,
    },
    /// The organisation's coordinators (their age recipients read every record).
    Coordinators {
        #[command(subcommand)]
        command: CoordinatorsCommand,
    },
    /// Prints a one-time invite for a device to enroll.
    Invite {
        /// What the device may read.
        #[arg(long, default_value = "field", value_parser = ["field", "coordinator"])]
        role: String,
        /// How long the invite works (30m, 24h, 7d…).
        #[arg(long, default_value = "24h")]
        expires: String,
        /// The address devices reach the hub at [default: the address it last listened
        /// on].
        #[arg(long, value_name = "HOST:PORT")]
        address: Option<String>,
    },
    /// The enrolled devices.
    Devices {
        #[command(subcommand)]
        command: DevicesCommand,
    },
    /// Imports an offline bundle written by an enrolled device.
    Import {
        /// The bundle file.
        file: PathBuf,
    },
    /// Rotates the hub's TLS key without re-enrolling devices.
    Pin {
        #[command(subcommand)]
        command: PinCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PinCommand {
    /// Makes the next key and announces its pin to devices at their next sync
    /// (prints it). Wait until every device has synced before `switch`.
    Next,
    /// Makes the next key the hub's key; takes effect when the hub starts again (copy
    /// the key files to every instance). Devices that synced since `next` follow.
    Switch,
}

#[derive(Debug, Subcommand)]
enum CoordinatorsCommand {
    /// Adds a coordinator's age recipient (age1…), until the organisation signs its
    /// roster (then a coordinator's device adds coordinators).
    Add {
        /// The recipient.
        recipient: String,
    },
    /// Lists the coordinator recipients.
    List,
}

#[derive(Debug, Subcommand)]
enum DevicesCommand {
    /// Lists the devices.
    List,
    /// Revokes a device: its next request is refused.
    Revoke {
        /// The device id (from `devices list`).
        device_id: String,
    },
}

/// Parses the command line and runs the command; the process's exit code.
pub fn main() -> ExitCode {
    // First: no core dumps (a crash would write TLS keys and request bodies to disk).
    // The hub holds no vault key, so its memory is not locked.
    custos_process::harden(false);
    let cli = Cli::parse();
    let dir = DataDir::new(cli.data.unwrap_or_else(DataDir::default_root));
    let req = match cli.command {
        Command::Serve {
            listen,
            postgres,
            blob_dir,
            adopt_keys,
            quota_objects,
            quota_evidence,
            enroll_rate,
        } => {
            let storage = postgres.map(|url| Storage {
                postgres: Some(url),
                blob_dir: blob_dir.map(|d| std::path::absolute(&d).unwrap_or(d)),
            });
            return serve(
                dir,
                &listen,
                ServeOptions {
                    storage,
                    adopt_keys,
                    limits: crate::hub::Limits {
                        objects: quota_objects,
                        evidence_bytes: quota_evidence,
                        enrollments_per_minute: enroll_rate,
                    },
                },
            );
        }
        Command::Coordinators { command } => match command {
            CoordinatorsCommand::Add { recipient } => AdminRequest::AddCoordinator { recipient },
            CoordinatorsCommand::List => AdminRequest::ListCoordinators,
        },
        Command::Invite {
            role,
            expires,
            address,
        } => match admin::parse_duration(&expires) {
            Ok(expires_secs) => AdminRequest::Invite {
                role,
                expires_secs,
                address,
            },
            Err(e) => return fail(&e.to_string()),
        },
        Command::Devices { command } => match command {
            DevicesCommand::List => AdminRequest::ListDevices,
            DevicesCommand::Revoke { device_id } => AdminRequest::Revoke { device: device_id },
        },
        Command::Pin { command } => {
            let result = match command {
                PinCommand::Next => crate::keys::prepare_next(&dir)
                    .map(|p| format!("next pin {p}\nannounced to devices at their next sync")),
                PinCommand::Switch => crate::keys::switch_to_next(&dir).map(|p| {
                    format!(
                        "pin {p}\nrestart the hub (every instance, with these key files) to use it"
                    )
                }),
            };
            return match result {
                Ok(text) => {
                    println!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string()),
            };
        }
        Command::Import { file } => match std::path::absolute(&file) {
            Ok(path) => AdminRequest::Import { path },
            Err(e) => return fail(&format!("{}: {e}", file.display())),
        },
    };
    let reply = admin::send(&dir, req);
    let _ = std::io::stdout().write_all(reply.stdout.as_bytes());
    if !reply.stderr.is_empty() {
        let _ = writeln!(std::io::stderr(), "{}", reply.stderr.trim_end());
    }
    if reply.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn serve(dir: DataDir, listen: &str, options: ServeOptions) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start: {e}")),
    };
    match runtime.block_on(crate::server::serve(dir, listen, options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e.to_string()),
    }
}

fn fail(msg: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "custos-hub: {msg}");
    ExitCode::FAILURE
}
