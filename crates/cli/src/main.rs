//! `custos`: the vault from the command line, for headless and scripted use.
//!
//! The passphrase is never an argument (it would show in the process list and the shell
//! history): it is asked for at a prompt, or read from `--passphrase-file`.

#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use custos_report::json as export;
use custos_model::{Kind, Record};
use custos_report as report;
use custos_search::VaultSearch;
use custos_vault::{Filter, RecordView};
use custos_vault::{Error, Options, SecretString, Vault};
use serde_json::{json, Map, Value};
use uuid::Uuid;

#[derive(Parser)]
#[command(
    name = "custos",
    version,
    about = "Encrypted, offline-first case documentation for human rights defenders"
)]
struct Cli {
    /// The vault folder [default: the user's data folder, custos/vault]
    #[arg(long, global = true, value_name = "DIR")]
    vault: Option<PathBuf>,
    /// Read the passphrase from the first line of this file (for scripts)
    #[arg(long, global = true, value_name = "PATH")]
    passphrase_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new vault
    Init,
    /// Add a record; prints its id
    Add {
        /// case, incident, person, intervention or note (or give --json)
        kind: Option<Kind>,
        #[command(flatten)]
        fields: Fields,
    },
    /// List records (newest change first); decrypts nothing but the index
    List {
        /// Only this kind
        #[arg(long)]
        kind: Option<Kind>,
        /// Only this case and its records
        #[arg(long, value_name = "ID")]
        case: Option<Uuid>,
        /// Only cases with this status (open, monitoring, closed)
        #[arg(long)]
        status: Option<String>,
        /// Only cases with this tag
        #[arg(long)]
        tag: Option<String>,
        /// Include deleted records
        #[arg(long)]
        deleted: bool,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Full-text search over every field of every record (case and diacritics do not
    /// matter; "quoted words" are a phrase), with filters that select cases
    Search {
        /// Words to look for
        #[arg(value_name = "WORDS")]
        words: Vec<String>,
        /// Only records of cases with this status (open, monitoring, closed)
        #[arg(long)]
        status: Option<String>,
        /// Only records of cases with this tag (repeatable: every tag)
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Only records of cases with an incident of this act type (a vocabulary code)
        #[arg(long = "act", value_name = "CODE")]
        act_type: Option<String>,
        /// Only records of cases with an incident or intervention on or after this day
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: Option<chrono::NaiveDate>,
        /// … on or before this day
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: Option<chrono::NaiveDate>,
        /// Only records of cases with an incident at this place (words of its place,
        /// region or country)
        #[arg(long, value_name = "WORDS")]
        location: Option<String>,
        /// Only records of cases with a person in this role (victim, perpetrator,
        /// witness, source, intervening_party)
        #[arg(long)]
        role: Option<String>,
        /// Only this kind (repeatable)
        #[arg(long = "kind", value_name = "KIND")]
        kinds: Vec<Kind>,
        /// At most this many results
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Show a record
    Show {
        /// Record id
        id: Uuid,
        /// A past version instead of the current one
        #[arg(long, value_name = "VERSION")]
        version: Option<Uuid>,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Write a new version of a record
    Edit {
        /// Record id
        id: Uuid,
        #[command(flatten)]
        fields: Fields,
    },
    /// Delete a record (its history stays readable)
    Delete {
        /// Record id
        id: Uuid,
    },
    /// Every version of a record, oldest first
    History {
        /// Record id
        id: Uuid,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Export: JSON (full history), CSV, a PDF case report, or a communication to the UN
    /// Special Rapporteur on human rights defenders. NOT encrypted unless --encrypt-to.
    Export {
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Where to write: a new file (csv: a new folder); "-" for standard output
        /// (json, un-sr)
        #[arg(long, value_name = "PATH")]
        output: PathBuf,
        /// Only this case and all its records (repeat for several)
        #[arg(long = "case", value_name = "ID")]
        cases: Vec<Uuid>,
        /// Only these records (repeat for several; default: all)
        #[arg(long = "record", value_name = "ID")]
        records: Vec<Uuid>,
        /// Encrypt the output with age to this recipient (an age1… public key)
        #[arg(long, value_name = "RECIPIENT")]
        encrypt_to: Option<String>,
        #[command(flatten)]
        unsr: UnSrArgs,
    },
    /// Import a JSON export (all or nothing, histories merged), or a CSV file with a
    /// column mapping (all or nothing, one commit)
    Import {
        /// The JSON export file ("-" for standard input)
        #[arg(required_unless_present = "csv", conflicts_with = "csv")]
        file: Option<PathBuf>,
        /// A CSV file to import (with --kind and --mapping)
        #[arg(long, value_name = "FILE", requires_all = ["kind", "mapping"])]
        csv: Option<PathBuf>,
        /// The kind of record each CSV row becomes: case, incident, person, intervention,
        /// note
        #[arg(long)]
        kind: Option<Kind>,
        /// The column mapping (JSON: {"columns": {"CSV column": "field"}})
        #[arg(long, value_name = "MAPPING.json")]
        mapping: Option<PathBuf>,
        /// The case the rows belong to (unless a column maps to case_id)
        #[arg(long = "case", value_name = "ID")]
        case: Option<Uuid>,
    },
    /// Change the vault passphrase
    Passwd {
        /// Read the new passphrase from this file (for scripts)
        #[arg(long, value_name = "PATH")]
        new_passphrase_file: Option<PathBuf>,
    },
    /// Evidence files: add, list, show, verify, export
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Key backup: split the vault key into shares; restore it from them
    #[command(subcommand)]
    Key(KeyCommand),
    /// Panic wipe: destroy the vault's keys, then its data (no passphrase needed)
    Wipe {
        /// Do not ask for confirmation (for a script bound to a panic key)
        #[arg(long)]
        yes: bool,
    },
    /// Join your organisation's hub with an invite (once)
    Enroll {
        /// The invite text (custos-invite:…), or a file holding it, or "-" for standard input
        invite: String,
        /// A name for this device in the hub's device list
        #[arg(long, default_value = "custos device")]
        label: String,
        /// How to reach the hub: direct, or socks5:HOST:PORT (e.g. Tor at socks5:127.0.0.1:9050)
        #[arg(long, default_value = "direct")]
        route: String,
    },
    /// Sync with the hub (now, status, pause, resume, route, interval)
    #[command(subcommand)]
    Sync(SyncCommand),
    /// Offline sync: a bundle file for a USB stick
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Travel mode: remove cases the hub holds before a border; bring them back after
    #[command(subcommand)]
    Travel(TravelCommand),
    /// Records edited on two devices at once, waiting to be merged
    Conflicts {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Merge the concurrent versions of a record into one
    Resolve {
        /// Record id
        id: Uuid,
        /// For a field changed differently on several devices, take this version's value
        #[arg(long = "take", value_name = "FIELD=VERSION")]
        take: Vec<String>,
        /// Show the proposed merge without writing it
        #[arg(long)]
        dry_run: bool,
    },
    /// Show a controlled vocabulary (act-types, instruments, mechanisms)
    Vocab {
        /// act-types, instruments or mechanisms
        name: String,
        /// Label language (en, fr, es, ar …)
        #[arg(long, default_value = "en")]
        lang: String,
    },
}

#[derive(Subcommand)]
enum SyncCommand {
    /// Sync now
    Now,
    /// Last success, pending changes, last error
    Status {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Stop syncing until resumed (travel, untrusted network)
    Pause,
    /// Sync again
    Resume,
    /// How to reach the hub: direct, or socks5:HOST:PORT
    Route {
        /// direct or socks5:HOST:PORT
        route: String,
    },
    /// Minutes between two syncs in the app (1–1440)
    Interval {
        /// Minutes
        minutes: u32,
    },
}

#[derive(Subcommand)]
enum TravelCommand {
    /// Remove cases from this device (the hub must hold all of them); pauses sync
    Remove {
        /// A case to remove (repeat); or --all
        #[arg(long = "case", value_name = "ID")]
        cases: Vec<Uuid>,
        /// Every case
        #[arg(long)]
        all: bool,
    },
    /// After travel: resume sync and bring every removed case back from the hub
    Restore,
}

#[derive(Subcommand)]
enum BundleCommand {
    /// Write what the hub does not hold yet to an encrypted bundle file
    Export {
        /// The bundle file to write
        file: PathBuf,
    },
    /// Take in a bundle written by another device
    Import {
        /// The bundle file
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum EvidenceCommand {
    /// Import a file as evidence (encrypted into the vault, hashed, custody started);
    /// prints its id
    Add {
        /// The file
        file: PathBuf,
        /// The case it belongs to
        #[arg(long, value_name = "ID")]
        case: Uuid,
        /// A record of the case it documents (incident, person …); repeat for several
        #[arg(long = "to", value_name = "ID")]
        to: Vec<Uuid>,
        /// What it shows
        #[arg(long)]
        description: Option<String>,
        /// For a working copy (redacted, transcript, clip): the original evidence item
        #[arg(long, value_name = "ID")]
        derived_from: Option<Uuid>,
        /// Delete the original file once it is safely in the vault (see the warning)
        #[arg(long)]
        delete_original: bool,
    },
    /// List evidence items
    List {
        /// Only this case's
        #[arg(long, value_name = "ID")]
        case: Option<Uuid>,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// An evidence item's details and chain of custody
    Show {
        /// Evidence id
        id: Uuid,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Re-hash the content and check the chain of custody (exit code 1 if anything is
    /// wrong)
    Verify {
        /// Evidence id
        id: Uuid,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Write a decrypted copy and a verification report. The copy is NOT encrypted.
    Export {
        /// Evidence id
        id: Uuid,
        /// Where to write the copy (must not exist); the reports go beside it
        #[arg(long, value_name = "PATH")]
        output: PathBuf,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Split the vault key into N shares, any K of which restore it; prints one per line
    Backup {
        /// How many shares (one per trusted person)
        #[arg(long, value_name = "N")]
        shares: usize,
        /// How many shares restore the key (at least 2)
        #[arg(long, value_name = "K")]
        threshold: usize,
    },
    /// Restore the vault key from K shares and protect it with a new passphrase
    Restore {
        /// A file with the shares, one per line ("-" or absent: standard input)
        file: Option<PathBuf>,
        /// Read the new passphrase from this file (for scripts)
        #[arg(long, value_name = "PATH")]
        new_passphrase_file: Option<PathBuf>,
        /// The device was lost: create a new, empty vault with the rebuilt key (then
        /// enroll it with the hub to bring its synced cases back)
        #[arg(long)]
        new_vault: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Every version of every record (re-importable)
    Json,
    /// One CSV file per entity in a new folder, HURIDOCS column names
    Csv,
    /// A case report for the documenter
    Pdf,
    /// A communication to the UN Special Rapporteur on human rights defenders (text)
    UnSr,
    /// The same communication as PDF
    UnSrPdf,
}

/// Options of `export --format un-sr`; nothing of them is stored.
#[derive(Args, Default)]
struct UnSrArgs {
    /// un-sr: urgent-appeal (ongoing or imminent) or allegation-letter (past)
    #[arg(long = "type", value_name = "TYPE")]
    communication_type: Option<String>,
    /// un-sr: who submits it (name, organisation, safe contact); kept confidential
    #[arg(long, value_name = "TEXT")]
    submitter: Option<String>,
    /// un-sr: how the events are linked to the victims' human rights work
    #[arg(long = "link-to-work", value_name = "TEXT")]
    link_to_work: Option<String>,
    /// un-sr: the risk the victims face now
    #[arg(long = "current-risk", value_name = "TEXT")]
    current_risk: Option<String>,
    /// un-sr: context and patterns
    #[arg(long, value_name = "TEXT")]
    context: Option<String>,
    /// un-sr: an alleged perpetrator's type, PERSON_ID=state or PERSON_ID=non-state (repeat)
    #[arg(long = "perpetrator-type", value_name = "ID=TYPE")]
    perpetrator_types: Vec<String>,
    /// un-sr: write even though elements are missing (after reading the list)
    #[arg(long)]
    allow_missing: bool,
    /// un-sr: only list the missing elements; write nothing
    #[arg(long)]
    check: bool,
}

/// Field flags shared by `add` and `edit`.
#[derive(Args, Default)]
struct Fields {
    /// The whole record as JSON, from a file ("-" for standard input)
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Title (case, incident, intervention)
    #[arg(long)]
    title: Option<String>,
    /// Summary (case)
    #[arg(long)]
    summary: Option<String>,
    /// Case status: open, monitoring, closed; intervention status
    #[arg(long)]
    status: Option<String>,
    /// Tag (case); repeat for several
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Owner (case)
    #[arg(long)]
    owner: Option<String>,
    /// Confidentiality: public, restricted, confidential
    #[arg(long)]
    confidentiality: Option<String>,
    /// The case the record belongs to
    #[arg(long, value_name = "ID")]
    case: Option<Uuid>,
    /// Name (person)
    #[arg(long)]
    name: Option<String>,
    /// Role (person): victim, perpetrator, witness, source, intervening_party
    #[arg(long = "role")]
    roles: Vec<String>,
    /// Description (incident)
    #[arg(long)]
    description: Option<String>,
    /// Start date YYYY-MM-DD (incident); with --precision
    #[arg(long)]
    date: Option<String>,
    /// Date precision: day, month, year, approximate
    #[arg(long)]
    precision: Option<String>,
    /// Place (incident location)
    #[arg(long)]
    place: Option<String>,
    /// Country code (incident location)
    #[arg(long)]
    country: Option<String>,
    /// Act type code (incident); repeat for several; see `custos vocab act-types`
    #[arg(long = "act-type")]
    act_types: Vec<String>,
    /// Mechanism code (intervention); see `custos vocab mechanisms`
    #[arg(long)]
    mechanism: Option<String>,
    /// Intervention type: urgent_appeal, allegation_letter, other
    #[arg(long = "type")]
    intervention_type: Option<String>,
    /// Text (note)
    #[arg(long)]
    text: Option<String>,
    /// Any field: NAME=VALUE (VALUE is JSON if it parses, else text); dots for nesting
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    set: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("custos: {e}");
            ExitCode::FAILURE
        }
    }
}

type CliResult<T = ()> = Result<T, Error>;

fn run(cli: Cli) -> CliResult {
    let dir = match cli.vault.clone() {
        Some(d) => d,
        None => default_vault()?,
    };
    let pass_file = cli.passphrase_file.as_deref();
    match cli.command {
        Command::Init => {
            if pass_file.is_none() {
                eprintln!(
                    "A lost passphrase cannot be recovered: without it (or a key backup) \
                     nothing in this vault can be read."
                );
            }
            let pass = new_passphrase(pass_file)?;
            let vault = Vault::create(&dir, &pass, Options::default())?;
            println!("{}", dir.display());
            vault.lock()
        }
        Command::Add { kind, fields } => {
            let mut vault = open(&dir, pass_file)?;
            let mut value = match &fields.json {
                Some(f) => read_json(f)?,
                None => {
                    let kind = kind.ok_or_else(|| {
                        Error::Invalid("say which kind of record to add, or give --json".into())
                    })?;
                    json!({ "kind": kind.as_str() })
                }
            };
            if let (Some(k), Some(obj)) = (kind, value.as_object_mut()) {
                obj.insert("kind".into(), json!(k.as_str()));
            }
            fields.apply(&mut value)?;
            let record = to_record(value)?;
            let id = vault.add(record)?;
            println!("{id}");
            vault.lock()
        }
        Command::List {
            kind,
            case,
            status,
            tag,
            deleted,
            json,
        } => {
            let vault = open(&dir, pass_file)?;
            let filter = Filter {
                kind,
                case_id: case,
                status: status.map(|s| parse_enum(&s, "status")).transpose()?,
                tag,
                include_deleted: deleted,
            };
            let items = vault.list(&filter);
            if json {
                print_json(&serde_json::to_value(&items).map_err(invalid)?)?;
            } else {
                for i in &items {
                    println!(
                        "{}  {:<12} {}  {}{}{}",
                        i.record_id,
                        i.kind.as_str(),
                        i.updated.to_rfc3339(),
                        i.summary.title,
                        if i.deleted { "  [deleted]" } else { "" },
                        if i.conflict { "  [conflict]" } else { "" },
                    );
                }
            }
            for e in vault.damaged() {
                eprintln!("custos: warning: {e}");
            }
            vault.lock()
        }
        Command::Search {
            words,
            status,
            tags,
            act_type,
            from,
            to,
            location,
            role,
            kinds,
            limit,
            json,
        } => {
            let vault = open(&dir, pass_file)?;
            let query = custos_search::SearchQuery {
                text: words.join(" "),
                prefix: false,
                status: status.map(|s| parse_enum(&s, "status")).transpose()?,
                tags,
                act_type,
                from,
                to,
                location,
                role: role.map(|r| parse_enum(&r, "role")).transpose()?,
                kinds,
                limit,
            };
            build_search_index(&vault)?;
            let found = vault.search(&query)?;
            if json {
                print_json(&serde_json::to_value(&found).map_err(invalid)?)?;
            } else {
                for h in &found.hits {
                    println!(
                        "{}  {:<12} {}{}",
                        h.record_id,
                        h.kind.as_str(),
                        h.title,
                        h.case_id
                            .map(|c| format!("  (case {c})"))
                            .unwrap_or_default(),
                    );
                }
                eprintln!(
                    "{} record(s) found{}",
                    found.total,
                    if found.total > found.hits.len() {
                        format!(", the best {} shown (--limit)", found.hits.len())
                    } else {
                        String::new()
                    }
                );
            }
            vault.lock()
        }
        Command::Show { id, version, json } => {
            let vault = open(&dir, pass_file)?;
            let view = match version {
                Some(v) => vault.get_version(id, v)?,
                None => vault.get(id)?,
            };
            if json {
                print_json(&serde_json::to_value(&view).map_err(invalid)?)?;
            } else {
                print_view(&view)?;
            }
            vault.lock()
        }
        Command::Edit { id, fields } => {
            let mut vault = open(&dir, pass_file)?;
            let current = vault.get(id)?;
            let mut value = match (&fields.json, &current.record) {
                (Some(f), _) => read_json(f)?,
                (None, Some(r)) => serde_json::to_value(r).map_err(invalid)?,
                (None, None) => {
                    return Err(Error::Invalid(format!(
                        "record {id} is deleted; give --json to restore it with new content"
                    )))
                }
            };
            if let Some(obj) = value.as_object_mut() {
                obj.entry("kind").or_insert(json!(current.kind.as_str()));
            }
            fields.apply(&mut value)?;
            let record = to_record(value)?;
            let version = vault.update(id, record)?;
            println!("{version}");
            vault.lock()
        }
        Command::Delete { id } => {
            let mut vault = open(&dir, pass_file)?;
            let version = vault.delete(id)?;
            println!("{version}");
            vault.lock()
        }
        Command::History { id, json } => {
            let vault = open(&dir, pass_file)?;
            let history = vault.history(id)?;
            if json {
                let out: Vec<Value> = history
                    .iter()
                    .map(|h| match h {
                        Ok(v) => serde_json::to_value(v).unwrap_or(Value::Null),
                        Err(e) => {
                            json!({ "error": { "kind": e.kind(), "message": e.to_string() } })
                        }
                    })
                    .collect();
                print_json(&Value::Array(out))?;
            } else {
                for h in &history {
                    match h {
                        Ok(v) => println!(
                            "{}  {}  {}{}",
                            v.version_id,
                            v.hlc.to_rfc3339(),
                            match &v.record {
                                Some(r) => r.title().to_owned(),
                                None => "(deleted)".to_owned(),
                            },
                            if v.parents.len() > 1 { "  (merge)" } else { "" }
                        ),
                        Err(e) => println!("{e}"),
                    }
                }
            }
            vault.lock()
        }
        Command::Export {
            format,
            output,
            cases,
            records,
            encrypt_to,
            unsr,
        } => {
            // A bad recipient fails before the vault is opened or anything is written.
            let protection = report::Protection::from_option(encrypt_to.as_deref())?;
            let vault = open(&dir, pass_file)?;
            let result = run_export(&vault, format, &output, cases, records, &protection, unsr);
            let locked = vault.lock();
            result.and(locked)
        }
        Command::Import {
            file,
            csv,
            kind,
            mapping,
            case,
        } => {
            if let Some(csv) = csv {
                let (Some(kind), Some(mapping)) = (kind, mapping) else {
                    return Err(Error::Invalid("--csv needs --kind and --mapping".into()));
                };
                let mapping = report::import_csv::Mapping::from_json(&read_input(&mapping)?)?;
                let text = read_input(&csv)?;
                let mut vault = open(&dir, pass_file)?;
                let result =
                    report::import_csv::import_csv(&mut vault, kind, &text, &mapping, case);
                let locked = vault.lock();
                let stats = result?;
                locked?;
                println!("imported {} new {} records", stats.ids.len(), kind.as_str());
                if !stats.ignored_columns.is_empty() {
                    eprintln!(
                        "columns not in the mapping, not imported: {}",
                        stats.ignored_columns.join(", ")
                    );
                }
                return Ok(());
            }
            let Some(file) = file else {
                return Err(Error::Invalid("give the export file, or --csv".into()));
            };
            let mut vault = open(&dir, pass_file)?;
            let text = read_input(&file)?;
            let stats = export::import_json(&mut vault, &text)?;
            println!(
                "imported {} new versions of {} records ({} already in the vault)",
                stats.added, stats.records, stats.skipped
            );
            vault.lock()
        }
        Command::Passwd {
            new_passphrase_file,
        } => {
            let old = match pass_file {
                Some(f) => read_passphrase_file(f)?,
                None => prompt("Current passphrase: ")?,
            };
            let mut vault = Vault::unlock(&dir, &old, Options::default())?;
            let new = new_passphrase(new_passphrase_file.as_deref())?;
            vault.change_passphrase(&old, &new)?;
            eprintln!("passphrase changed");
            vault.lock()
        }
        Command::Key(KeyCommand::Backup { shares, threshold }) => {
            let vault = open(&dir, pass_file)?;
            let lines = vault.key_shares(threshold, shares);
            let locked = vault.lock();
            let lines = lines?;
            locked?;
            eprintln!(
                "{shares} shares; any {threshold} of them restore this vault's key (and so, with \
                 a copy of the vault, everything in it). Give each to a different person you \
                 trust; never keep {threshold} together. Fewer than {threshold} reveal nothing."
            );
            for l in &lines {
                println!("{}", l.as_str());
            }
            Ok(())
        }
        Command::Key(KeyCommand::Restore {
            file,
            new_passphrase_file,
            new_vault,
        }) => {
            let input =
                zeroize::Zeroizing::new(read_input(file.as_deref().unwrap_or(Path::new("-")))?);
            let text = std::str::from_utf8(&input)
                .map_err(|_| Error::Invalid("the shares are not text".into()))?;
            let lines: Vec<&str> = text.lines().collect();
            let new = new_passphrase(new_passphrase_file.as_deref())?;
            if new_vault {
                Vault::restore_into_new(&dir, &lines, &new, Options::default())?.lock()?;
                eprintln!(
                    "key restored into a new vault at {}; enroll it with your hub \
                     (custos enroll) to bring back its synced cases",
                    dir.display()
                );
                return Ok(());
            }
            Vault::restore_key(&dir, &lines, &new, Options::default())?;
            eprintln!("key restored; the vault opens with the new passphrase");
            Ok(())
        }
        Command::Evidence(cmd) => {
            let mut vault = open(&dir, pass_file)?;
            let result = evidence_command(&mut vault, cmd);
            let locked = vault.lock();
            result.and(locked)
        }
        Command::Wipe { yes } => {
            if !yes {
                eprintln!(
                    "This destroys the vault at {} for good: its keys first, then its data. \
                     Only its key backup shares and the hub's copy can bring its cases back.",
                    dir.display()
                );
                eprint!("Type WIPE to go on: ");
                let mut answer = String::new();
                std::io::stdin()
                    .read_line(&mut answer)
                    .map_err(|e| Error::io("reading the answer", e))?;
                if answer.trim() != "WIPE" {
                    return Err(Error::Invalid("not wiped".into()));
                }
            }
            let w = Vault::wipe_folder(&dir)?;
            println!(
                "wiped: keys destroyed in {:.1} ms, {} files removed in {:.1} ms",
                w.keys_destroyed.as_secs_f64() * 1e3,
                w.files,
                w.total.as_secs_f64() * 1e3
            );
            Ok(())
        }
        Command::Enroll {
            invite,
            label,
            route,
        } => {
            let route = custos_sync::Route::parse(&route).map_err(Error::Invalid)?;
            let text = if invite.trim_start().starts_with("custos-invite:") {
                invite
            } else {
                String::from_utf8(read_input(Path::new(&invite))?)
                    .map_err(|_| Error::Invalid("the invite file is not text".into()))?
            };
            let mut vault = open(&dir, pass_file)?;
            let result = custos_sync::enroll(&mut vault, &text, &label, route)
                .map_err(sync_error)
                .map(|e| {
                    println!("enrolled as device {} ({})", e.device_id, e.role);
                });
            let locked = vault.lock();
            result.and(locked)
        }
        Command::Sync(cmd) => {
            let mut vault = open(&dir, pass_file)?;
            let result = sync_command(&mut vault, cmd);
            let locked = vault.lock();
            result.and(locked)
        }
        Command::Bundle(cmd) => {
            let mut vault = open(&dir, pass_file)?;
            let result = match cmd {
                BundleCommand::Export { file } => {
                    custos_sync::bundle::export(&vault, &file).map(|s| {
                        println!(
                            "{} versions and {} evidence files written to {} ({} bytes, encrypted)",
                            s.objects,
                            s.blobs,
                            file.display(),
                            s.bytes
                        );
                    })
                }
                BundleCommand::Import { file } => custos_sync::bundle::import(&mut vault, &file)
                    .map(|(took, blobs)| {
                        println!(
                            "{} new versions, {} already here, {} refused, {} evidence files",
                            took.stored,
                            took.existing,
                            took.rejected.len(),
                            blobs
                        );
                        for (id, why) in &took.rejected {
                            eprintln!("refused {id}: {why}");
                        }
                    }),
            };
            let locked = vault.lock();
            result.and(locked)
        }
        Command::Travel(cmd) => {
            let mut vault = open(&dir, pass_file)?;
            let result = match cmd {
                TravelCommand::Remove { cases, all } => {
                    if cases.is_empty() && !all {
                        Err(Error::Invalid(
                            "name cases with --case ID, or give --all".into(),
                        ))
                    } else {
                        vault
                            .travel_remove(if all { None } else { Some(&cases) })
                            .map(|r| {
                                println!(
                                    "removed {} case(s): {} records, {} versions, {} evidence files; sync is paused",
                                    r.cases, r.records, r.versions, r.files
                                );
                            })
                    }
                }
                TravelCommand::Restore => {
                    custos_sync::restore(&custos_sync::Held::new(&mut vault))
                        .map_err(sync_error)
                        .map(|r| {
                            println!(
                                "brought back {} versions and {} evidence files; sync resumed",
                                r.pulled, r.blobs_down
                            );
                        })
                }
            };
            let locked = vault.lock();
            result.and(locked)
        }
        Command::Conflicts { json } => {
            let vault = open(&dir, pass_file)?;
            let items: Vec<_> = vault
                .list(&Filter {
                    include_deleted: true,
                    ..Filter::default()
                })
                .into_iter()
                .filter(|i| i.conflict)
                .collect();
            let result = if json {
                print_json(&serde_json::to_value(&items).map_err(invalid)?)
            } else {
                if items.is_empty() {
                    println!("no conflicts");
                }
                for i in &items {
                    println!(
                        "{}  {:<12} {}",
                        i.record_id,
                        i.kind.as_str(),
                        i.summary.title
                    );
                }
                Ok(())
            };
            let locked = vault.lock();
            result.and(locked)
        }
        Command::Resolve { id, take, dry_run } => {
            let mut vault = open(&dir, pass_file)?;
            let result = resolve_command(&mut vault, id, &take, dry_run);
            let locked = vault.lock();
            result.and(locked)
        }
        Command::Vocab { name, lang } => {
            let v = custos_model::vocab::builtin().by_name(&name).ok_or_else(|| {
                Error::Invalid(format!(
                    "no vocabulary '{name}' (act-types, instruments, mechanisms)"
                ))
            })?;
            for t in &v.terms {
                let depth = ancestors(v, t);
                println!("{}{:<32} {}", "  ".repeat(depth), t.code, t.label(&lang));
            }
            Ok(())
        }
    }
}

fn sync_error(e: custos_sync::SyncError) -> Error {
    match e {
        custos_sync::SyncError::Vault(e) => e,
        other => Error::Invalid(other.to_string()),
    }
}

fn sync_command(vault: &mut Vault, cmd: SyncCommand) -> CliResult {
    match cmd {
        SyncCommand::Now => {
            let report = custos_sync::run(&custos_sync::Held::new(vault)).map_err(sync_error)?;
            println!(
                "sent {} new versions ({} already there), received {}, evidence files {} up / {} down",
                report.pushed, report.existing, report.pulled, report.blobs_up, report.blobs_down
            );
            println!(
                "{} requests, {} bytes sent, {} bytes received",
                report.requests, report.bytes_sent, report.bytes_received
            );
            if let Some(w) = report.warning() {
                eprintln!("{w}");
            }
            let conflicts = vault.conflict_count();
            if conflicts > 0 {
                println!("{conflicts} record(s) have concurrent edits: see `custos conflicts`");
            }
            Ok(())
        }
        SyncCommand::Status { json } => {
            let info = vault.sync_info();
            if json {
                return print_json(&serde_json::to_value(&info).map_err(invalid)?);
            }
            if !info.enrolled {
                println!("not enrolled with a hub (see `custos enroll`)");
                return Ok(());
            }
            let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_else(|| "never".into())
            };
            println!("hub           {} ({})", info.hub, info.pin);
            println!("role          {}", info.role);
            println!("route         {}", info.route);
            println!(
                "state         {}",
                if info.paused { "paused" } else { "active" }
            );
            println!("every         {} minutes", info.interval_minutes);
            println!("last success  {}", when(info.last_success));
            println!("last attempt  {}", when(info.last_attempt));
            println!(
                "last error    {}",
                info.last_error.as_deref().unwrap_or("none")
            );
            println!(
                "pending       {} versions, {} evidence files",
                info.pending_versions, info.pending_blobs
            );
            println!("conflicts     {}", info.conflicts);
            Ok(())
        }
        SyncCommand::Pause => vault.set_sync_paused(true),
        SyncCommand::Resume => vault.set_sync_paused(false),
        SyncCommand::Route { route } => {
            vault.set_sync_route(custos_sync::Route::parse(&route).map_err(Error::Invalid)?)
        }
        SyncCommand::Interval { minutes } => vault.set_sync_interval(minutes),
    }
}

fn resolve_command(vault: &mut Vault, id: Uuid, take: &[String], dry_run: bool) -> CliResult {
    let proposal = vault.merge_proposal(id)?;
    let Some(merged) = proposal.merged.clone() else {
        println!("every version deletes the record; writing the deletion");
        if !dry_run {
            vault.delete(id)?;
        }
        return Ok(());
    };
    let mut value = serde_json::to_value(&merged).map_err(invalid)?;
    for t in take {
        let (field, version) = t
            .split_once('=')
            .ok_or_else(|| Error::Invalid(format!("'{t}': use --take FIELD=VERSION")))?;
        let version: Uuid = version
            .parse()
            .map_err(|_| Error::Invalid(format!("'{version}' is not a version id")))?;
        let head = proposal
            .heads
            .iter()
            .find(|h| h.version_id == version)
            .ok_or_else(|| {
                Error::Invalid(format!("{version} is not one of the versions to merge"))
            })?;
        let chosen = head
            .record
            .as_ref()
            .map(serde_json::to_value)
            .transpose()
            .map_err(invalid)?
            .and_then(|v| v.get(field).cloned());
        let obj = value
            .as_object_mut()
            .ok_or_else(|| Error::Invalid("the merge is not a record".into()))?;
        match chosen {
            Some(v) => obj.insert(field.to_owned(), v),
            None => obj.remove(field),
        };
    }
    for h in &proposal.heads {
        println!(
            "version {}  {}{}",
            h.version_id,
            h.hlc.to_rfc3339(),
            if h.record.is_none() {
                "  (deleted)"
            } else {
                ""
            }
        );
    }
    for c in &proposal.conflicts {
        println!("field '{}' differs:", c.field);
        for (v, val) in &c.values {
            let mark = if *v == c.chosen
                && !take.iter().any(|t| t.starts_with(&format!("{}=", c.field)))
            {
                " (taken)"
            } else {
                ""
            };
            println!("  {v}: {val}{mark}");
        }
    }
    let record = to_record(value)?;
    if dry_run {
        let mut shown = serde_json::to_value(&record).map_err(invalid)?;
        if let Some(o) = shown.as_object_mut() {
            o.remove("kind");
        }
        println!("{}", serde_json::to_string_pretty(&shown).map_err(invalid)?);
        return Ok(());
    }
    let version = vault.resolve(id, record)?;
    println!("merged as version {version}");
    Ok(())
}

/// What deleting an imported original can and cannot do.
const DELETION_WARNING: &str = "Deleting a file removes its name; on SSDs, journaling file \
systems, backups and synced folders, copies of its content may survive and be recovered.";

fn evidence_command(vault: &mut Vault, cmd: EvidenceCommand) -> CliResult {
    use custos_vault::Attach;
    match cmd {
        EvidenceCommand::Add {
            file,
            case,
            to,
            description,
            derived_from,
            delete_original,
        } => {
            let id = vault.attach(
                &file,
                Attach {
                    case_id: case,
                    attached_to: to,
                    description: description.unwrap_or_default(),
                    derived_from,
                },
            )?;
            let e = vault.evidence(id)?;
            println!("{id}");
            eprintln!("sha256 {}  {} bytes  {}", e.sha256, e.size, e.media_type);
            if delete_original {
                std::fs::remove_file(&file).map_err(|err| {
                    Error::io(
                        format!(
                            "the evidence is saved, but {} could not be deleted",
                            file.display()
                        ),
                        err,
                    )
                })?;
                eprintln!("Deleted {}. {DELETION_WARNING}", file.display());
            } else {
                eprintln!(
                    "The original is still at {}. Delete it with --delete-original next time, \
                     or yourself. {DELETION_WARNING}",
                    file.display()
                );
            }
            Ok(())
        }
        EvidenceCommand::List { case, json } => {
            let mut items = Vec::new();
            for id in vault.evidence_ids(case) {
                items.push((id, vault.evidence(id)?));
            }
            items.sort_by_key(|(_, e)| std::cmp::Reverse(e.imported_at));
            if json {
                let list: Vec<Value> = items
                    .iter()
                    .map(|(id, e)| json!({ "evidence_id": id, "evidence": e }))
                    .collect();
                print_json(&Value::Array(list))
            } else {
                for (id, e) in &items {
                    println!(
                        "{id}  {}  {:>12}  {:<24} {}",
                        &e.sha256[..16],
                        e.size,
                        e.media_type,
                        e.file_name
                    );
                }
                Ok(())
            }
        }
        EvidenceCommand::Show { id, json } => {
            let e = vault.evidence(id)?;
            let custody = vault.custody(id)?;
            if json {
                return print_json(
                    &json!({ "evidence_id": id, "evidence": e, "custody": custody }),
                );
            }
            println!("evidence      {id}");
            println!("case          {}", e.case_id);
            println!("file name     {}", e.file_name);
            println!("media type    {}", e.media_type);
            println!("size          {} bytes", e.size);
            println!("sha256        {}", e.sha256);
            println!(
                "imported      {} on device {}",
                e.imported_at.to_rfc3339(),
                e.imported_by
            );
            if let Some(o) = e.derived_from {
                println!("working copy of {o}");
            }
            if !e.description.is_empty() {
                println!("description   {}", e.description);
            }
            println!("custody:");
            for c in custody {
                println!(
                    "  {:>3}  {}  {:<9}  {}",
                    c.seq,
                    c.at.to_rfc3339(),
                    serde_json::to_value(c.action)
                        .map_err(invalid)?
                        .as_str()
                        .unwrap_or(""),
                    c.detail
                );
            }
            Ok(())
        }
        EvidenceCommand::Verify { id, json } => {
            let v = vault.verify_evidence(id)?;
            if json {
                print_json(&serde_json::to_value(&v).map_err(invalid)?)?;
            } else if v.ok {
                println!(
                    "ok: content sha256 {} and {} custody entries check",
                    v.sha256, v.custody_entries
                );
            } else {
                for p in &v.problems {
                    println!("problem: {p}");
                }
            }
            if v.ok {
                Ok(())
            } else {
                Err(Error::Evidence(format!(
                    "evidence {id} did not verify: {} problem(s)",
                    v.problems.len()
                )))
            }
        }
        EvidenceCommand::Export { id, output } => {
            let out = vault.export_evidence(id, &output)?;
            eprintln!(
                "Wrote {} (NOT encrypted) and its reports {} and {}; sha256 {}",
                out.file.display(),
                out.report_json.display(),
                out.report_text.display(),
                out.sha256
            );
            Ok(())
        }
    }
}

fn ancestors(v: &custos_model::vocab::Vocabulary, t: &custos_model::vocab::Term) -> usize {
    let mut depth = 0;
    let mut parent = t.parent.as_deref();
    while let Some(p) = parent {
        depth += 1;
        parent = v.get(p).and_then(|t| t.parent.as_deref());
        if depth > 16 {
            break;
        }
    }
    depth
}

impl Fields {
    /// Applies the flags to a record's JSON.
    fn apply(&self, value: &mut Value) -> CliResult {
        let obj = value
            .as_object_mut()
            .ok_or_else(|| Error::Invalid("a record must be a JSON object".into()))?;
        let mut put = |k: &str, v: Value| {
            obj.insert(k.to_owned(), v);
        };
        if let Some(v) = &self.title {
            put("title", json!(v));
        }
        if let Some(v) = &self.summary {
            put("summary", json!(v));
        }
        if let Some(v) = &self.status {
            put("status", json!(v));
        }
        if !self.tags.is_empty() {
            put("tags", json!(self.tags));
        }
        if let Some(v) = &self.owner {
            put("owner", json!(v));
        }
        if let Some(v) = &self.confidentiality {
            put("confidentiality", json!(v));
        }
        if let Some(v) = &self.case {
            put("case_id", json!(v));
        }
        if let Some(v) = &self.name {
            put("name", json!(v));
        }
        if !self.roles.is_empty() {
            put("roles", json!(self.roles));
        }
        if let Some(v) = &self.description {
            put("description", json!(v));
        }
        if let Some(v) = &self.date {
            put(
                "start",
                json!({ "date": v, "precision": self.precision.as_deref().unwrap_or("day") }),
            );
        }
        if !self.act_types.is_empty() {
            put("act_types", json!(self.act_types));
        }
        if let Some(v) = &self.mechanism {
            put("mechanism", json!(v));
        }
        if let Some(v) = &self.intervention_type {
            put("type", json!(v));
        }
        if let Some(v) = &self.text {
            put("text", json!(v));
        }
        if self.place.is_some() || self.country.is_some() {
            let loc = obj.entry("location").or_insert_with(|| json!({}));
            if loc.is_null() {
                *loc = json!({});
            }
            if let Some(l) = loc.as_object_mut() {
                if let Some(v) = &self.place {
                    l.insert("place".into(), json!(v));
                }
                if let Some(v) = &self.country {
                    l.insert("country".into(), json!(v));
                }
            }
        }
        for s in &self.set {
            let (path, raw) = s
                .split_once('=')
                .ok_or_else(|| Error::Invalid(format!("--set needs FIELD=VALUE, got '{s}'")))?;
            let v = serde_json::from_str(raw).unwrap_or_else(|_| json!(raw));
            set_path(obj, path, v)?;
        }
        Ok(())
    }
}

fn set_path(obj: &mut Map<String, Value>, path: &str, v: Value) -> CliResult {
    let mut parts = path.split('.').peekable();
    let mut cur = obj;
    while let Some(p) = parts.next() {
        if p.is_empty() {
            return Err(Error::Invalid(format!("--set: bad field name '{path}'")));
        }
        if parts.peek().is_none() {
            cur.insert(p.to_owned(), v);
            return Ok(());
        }
        let next = cur.entry(p).or_insert_with(|| json!({}));
        if next.is_null() {
            *next = json!({});
        }
        cur = next
            .as_object_mut()
            .ok_or_else(|| Error::Invalid(format!("--set: '{p}' in '{path}' is not an object")))?;
    }
    Ok(())
}

fn to_record(value: Value) -> CliResult<Record> {
    Record::from_json(value).map_err(|e| Error::Invalid(e.to_string()))
}

fn parse_enum<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> CliResult<T> {
    serde_json::from_value(json!(s)).map_err(|_| Error::Invalid(format!("unknown {what} '{s}'")))
}

fn invalid(e: impl std::fmt::Display) -> Error {
    Error::Invalid(e.to_string())
}

fn print_view(v: &RecordView) -> CliResult {
    println!("record   {}", v.record_id);
    println!("kind     {}", v.kind.as_str());
    println!("version  {}", v.version_id);
    println!("updated  {}", v.hlc.to_rfc3339());
    if v.heads.len() > 1 {
        println!(
            "conflict {} concurrent versions; edit the record to merge them",
            v.heads.len()
        );
    }
    match &v.record {
        None => println!("(deleted; see `custos history {}`)", v.record_id),
        Some(r) => {
            let mut value = serde_json::to_value(r).map_err(invalid)?;
            if let Some(o) = value.as_object_mut() {
                o.remove("kind");
            }
            println!("{}", serde_json::to_string_pretty(&value).map_err(invalid)?);
        }
    }
    Ok(())
}

fn print_json(v: &Value) -> CliResult {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    serde_json::to_writer_pretty(&mut out, v).map_err(invalid)?;
    writeln!(out).map_err(|e| Error::io("writing output", e))
}

/// Runs one export; prints what was written and the plaintext warning on stderr.
fn run_export(
    vault: &Vault,
    format: Format,
    output: &Path,
    cases: Vec<Uuid>,
    records: Vec<Uuid>,
    protection: &report::Protection,
    unsr: UnSrArgs,
) -> CliResult {
    let stdout = output.as_os_str() == "-";
    if stdout && !matches!(format, Format::Json | Format::UnSr) {
        return Err(Error::Invalid(
            "only json and un-sr can go to standard output; give --output PATH".into(),
        ));
    }
    if format != Format::UnSr && format != Format::UnSrPdf && unsr.is_used() {
        return Err(Error::Invalid(
            "--type, --submitter, --link-to-work, --current-risk, --context, \
             --perpetrator-type, --allow-missing and --check are for --format un-sr"
                .into(),
        ));
    }
    let selection = report::Selection {
        cases: cases.clone(),
        records: records.clone(),
    };
    let wrote = match format {
        Format::Json => {
            let only = if selection.is_all() {
                None
            } else {
                Some(selection.resolve_with(vault, true)?)
            };
            let stats = if stdout {
                let out = std::io::stdout();
                let mut lock = out.lock();
                report::output::write_stream(&mut lock, protection, |w| {
                    export::export_json(vault, only.as_deref(), w)
                })?
            } else {
                with_progress("JSON", |p| {
                    write_export(vault, only.as_deref(), output, protection, p)
                })?
            };
            format!(
                "exported {} records ({} versions)",
                stats.records, stats.versions
            )
        }
        Format::Csv => {
            let stats = with_progress("CSV", |p| {
                report::csv::export_csv(vault, &selection, output, protection, p)
            })?;
            format!(
                "wrote {} files ({} rows) in {}",
                stats.files.len(),
                stats.rows,
                output.display()
            )
        }
        Format::Pdf => {
            let stats = with_progress("PDF", |p| {
                report::pdf::export_case_report(vault, &selection, output, protection, p)
            })?;
            format!(
                "wrote the report of {} case(s), {} pages, to {}",
                stats.cases,
                stats.pages,
                output.display()
            )
        }
        Format::UnSr | Format::UnSrPdf => {
            if cases.len() != 1 || !records.is_empty() {
                return Err(Error::Invalid(
                    "a communication is about one case: give exactly one --case ID".into(),
                ));
            }
            let request = unsr.request(cases[0])?;
            if unsr.check {
                let missing = report::unsr::missing_elements(vault, &request)?;
                if missing.is_empty() {
                    println!("nothing is missing");
                    return Ok(());
                }
                for m in &missing {
                    println!("{m}");
                }
                return Err(Error::Invalid(format!(
                    "{} element(s) missing",
                    missing.len()
                )));
            }
            let fmt = if format == Format::UnSrPdf {
                report::unsr::UnSrFormat::Pdf
            } else {
                report::unsr::UnSrFormat::Text
            };
            let stats = if stdout {
                let (bytes, stats) = report::unsr::communication(
                    vault,
                    &request,
                    fmt,
                    unsr.allow_missing,
                    &mut report::no_progress,
                )?;
                let out = std::io::stdout();
                let mut lock = out.lock();
                report::output::write_stream(&mut lock, protection, |w| {
                    w.write_all(&bytes)
                        .map_err(|e| Error::io("writing the communication", e))
                })?;
                stats
            } else {
                with_progress("Communication", |p| {
                    report::unsr::export_unsr(
                        vault,
                        &request,
                        fmt,
                        unsr.allow_missing,
                        output,
                        protection,
                        p,
                    )
                })?
            };
            for m in &stats.missing {
                eprintln!("custos: missing: {m}");
            }
            format!(
                "wrote the communication ({} victim(s), {} name(s) withheld for lack of consent)",
                stats.victims, stats.withheld
            )
        }
    };
    match protection {
        report::Protection::Plaintext => {
            eprintln!("{wrote}. {}", report::PLAINTEXT_WARNING)
        }
        report::Protection::AgeRecipient(r) => {
            eprintln!("{wrote}, encrypted with age to {r} (decrypt with: age -d -i KEYFILE FILE).")
        }
    }
    Ok(())
}

impl UnSrArgs {
    fn is_used(&self) -> bool {
        self.communication_type.is_some()
            || self.submitter.is_some()
            || self.link_to_work.is_some()
            || self.current_risk.is_some()
            || self.context.is_some()
            || !self.perpetrator_types.is_empty()
            || self.allow_missing
            || self.check
    }

    fn request(&self, case_id: Uuid) -> CliResult<report::unsr::UnSrRequest> {
        let kind = self
            .communication_type
            .as_deref()
            .ok_or_else(|| {
                Error::Invalid(
                    "say which communication: --type urgent-appeal or --type allegation-letter"
                        .into(),
                )
            })?
            .parse()?;
        let mut perpetrator_types = Vec::new();
        for p in &self.perpetrator_types {
            let (id, t) = p.split_once('=').ok_or_else(|| {
                Error::Invalid(format!(
                    "--perpetrator-type needs ID=state or ID=non-state, got '{p}'"
                ))
            })?;
            let id = Uuid::parse_str(id.trim()).map_err(|_| {
                Error::Invalid(format!("--perpetrator-type: '{id}' is not a record id"))
            })?;
            perpetrator_types.push((id, t.trim().parse()?));
        }
        Ok(report::unsr::UnSrRequest {
            case_id,
            kind,
            submitter: self.submitter.clone().unwrap_or_default(),
            link_to_work: self.link_to_work.clone().unwrap_or_default(),
            current_risk: self.current_risk.clone().unwrap_or_default(),
            context: self.context.clone().unwrap_or_default(),
            perpetrator_types,
        })
    }
}

/// Runs `f` with a progress callback that draws a bar on stderr when it is a terminal.
fn with_progress<T>(what: &str, f: impl FnOnce(&mut dyn FnMut(usize, usize)) -> T) -> T {
    use std::io::IsTerminal;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{msg:>14} [{bar:30}] {pos}/{len}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        bar
    });
    let mut tick = |done: usize, total: usize| {
        if let Some(b) = &bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    };
    let result = f(&mut tick);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    result
}

/// The JSON export to a new file, through the shared output helper (create_new, fsync,
/// removed on error, optionally encrypted).
fn write_export(
    vault: &Vault,
    only: Option<&[Uuid]>,
    path: &Path,
    protection: &report::Protection,
    progress: &mut dyn FnMut(usize, usize),
) -> CliResult<export::ExportStats> {
    report::output::write_file(path, protection, |w| {
        export::export_json_with_progress(vault, only, w, progress)
    })
}

/// Builds the search index (from its snapshot when it has one), showing progress on a
/// terminal when it takes long.
fn build_search_index(vault: &Vault) -> CliResult {
    use std::io::IsTerminal as _;
    let terminal = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let mut shown = false;
    loop {
        let (done, total) = vault.prepare_search(5_000)?;
        if done >= total {
            break;
        }
        if terminal && started.elapsed() > std::time::Duration::from_millis(300) {
            eprint!("\rbuilding the search index: {done} of {total} records");
            shown = true;
        }
    }
    if shown {
        eprintln!("\rbuilding the search index: done{:30}", "");
    }
    Ok(())
}

fn default_vault() -> CliResult<PathBuf> {
    dirs::data_dir()
        .map(|d| d.join("custos").join("vault"))
        .ok_or_else(|| Error::Invalid("no data folder for this user; give --vault DIR".into()))
}

fn open(dir: &Path, pass_file: Option<&Path>) -> CliResult<Vault> {
    let pass = match pass_file {
        Some(f) => read_passphrase_file(f)?,
        None => {
            if !dir.join("vault.json").exists() {
                return Err(Error::NoVault(dir.to_owned()));
            }
            prompt("Passphrase: ")?
        }
    };
    Vault::unlock(dir, &pass, Options::default())
}

/// A passphrase read from a file or a prompt.
struct Pass(SecretString);

impl Pass {
    fn expose(&self) -> &str {
        use custos_vault::ExposeSecret;
        self.0.expose_secret()
    }
}

impl std::ops::Deref for Pass {
    type Target = SecretString;
    fn deref(&self) -> &SecretString {
        &self.0
    }
}

fn read_passphrase_file(path: &Path) -> CliResult<Pass> {
    let bytes = zeroize::Zeroizing::new(
        std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?,
    );
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::Invalid(format!("{} is not UTF-8 text", path.display())))?;
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(Error::Invalid(format!(
            "{} holds no passphrase",
            path.display()
        )));
    }
    Ok(Pass(SecretString::from(line.to_owned())))
}

/// A new passphrase: from a file, or typed twice at the prompt.
fn new_passphrase(file: Option<&Path>) -> CliResult<Pass> {
    if let Some(f) = file {
        return read_passphrase_file(f);
    }
    let a = prompt("New passphrase: ")?;
    let b = prompt("Repeat it: ")?;
    if a.expose() != b.expose() {
        return Err(Error::PassphraseMismatch);
    }
    Ok(a)
}

fn prompt(label: &str) -> CliResult<Pass> {
    rpassword::prompt_password(label)
        .map(|p| Pass(SecretString::from(p)))
        .map_err(|e| {
            Error::io(
                "reading the passphrase (no terminal? use --passphrase-file)",
                e,
            )
        })
}

fn read_input(path: &Path) -> CliResult<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Error::io("reading standard input", e))?;
        Ok(buf)
    } else {
        std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))
    }
}

fn read_json(path: &Path) -> CliResult<Value> {
    let text = read_input(path)?;
    serde_json::from_slice(&text).map_err(|e| {
        Error::Invalid(format!(
            "{}: line {}: not valid JSON: {e}",
            path.display(),
            e.line()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn there_is_no_way_to_pass_a_passphrase_as_an_argument() {
        let cmd = Cli::command();
        let mut all: Vec<String> = cmd
            .get_arguments()
            .map(|a| a.get_id().to_string())
            .collect();
        for sub in cmd.get_subcommands() {
            all.extend(sub.get_arguments().map(|a| a.get_id().to_string()));
        }
        for name in &all {
            assert!(
                !name.contains("passphrase") || name.ends_with("_file"),
                "argument {name} would put a passphrase on the command line"
            );
        }
    }

    #[test]
    fn set_builds_nested_fields() {
        let mut v = json!({ "kind": "person" });
        let f = Fields {
            set: vec!["consent.publish=\"given\"".into(), "group_size=12".into()],
            name: Some("Union".into()),
            ..Fields::default()
        };
        f.apply(&mut v).unwrap();
        assert_eq!(v["consent"]["publish"], "given");
        assert_eq!(v["group_size"], 12);
        assert_eq!(v["name"], "Union");
        let bad = Fields {
            set: vec!["novalue".into()],
            ..Fields::default()
        };
        assert!(bad.apply(&mut v).is_err());
    }
}
