//! Every command-line type: the global options, the commands and their arguments, as
//! clap parses them. No behaviour here beyond parsing (see `cmd` for what each does).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use custos_model::Kind;
use uuid::Uuid;

#[derive(Parser)]
#[command(
    name = "custos",
    version,
    about = "Encrypted, offline-first case documentation for human rights defenders"
)]
pub struct Cli {
    /// The vault folder [default: the user's data folder, custos/vault]
    #[arg(long, global = true, value_name = "DIR")]
    pub vault: Option<PathBuf>,
    /// Read the passphrase from the first line of this file (for scripts)
    #[arg(long, global = true, value_name = "PATH")]
    pub passphrase_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create a new vault
    Init,
    /// Add a record; prints its id
    Add(AddArgs),
    /// List records (newest change first); decrypts nothing but the index
    List(ListArgs),
    /// Full-text search over every field of every record (case and diacritics do not
    /// matter; "quoted words" are a phrase), with filters that select cases
    Search(SearchArgs),
    /// Figures of the cases a search selects (incidents over time, by place and act
    /// type; victims by sex and occupation; perpetrators; interventions), small counts
    /// withheld; as tables, --json, or charts (--svg DIR, --png DIR)
    Stats(Box<crate::cmd::stats::StatsArgs>),
    /// Show a record
    Show(ShowArgs),
    /// Write a new version of a record
    Edit(EditArgs),
    /// Delete a record (its history stays readable)
    Delete {
        /// Record id
        id: Uuid,
    },
    /// Every version of a record, oldest first
    History(HistoryArgs),
    /// Export: JSON (full history), CSV, a PDF case report, or a submission to a
    /// protection mechanism (the UN Special Rapporteur on human rights defenders, the
    /// Observatory, an EU mission, the African Commission, the Inter-American
    /// Commission). NOT encrypted unless --encrypt-to.
    Export(ExportArgs),
    /// Import a JSON export (all or nothing, histories merged), or a CSV file with a
    /// column mapping (all or nothing, one commit)
    Import(ImportArgs),
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
    Enroll(EnrollArgs),
    /// Sync with the hub (now, status, pause, resume, route, interval)
    #[command(subcommand)]
    Sync(SyncCommand),
    /// Offline sync: a bundle file for a USB stick
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// The organisation key and its signed roster: who reads, whose writes count
    #[command(subcommand)]
    Org(OrgCommand),
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
    Resolve(ResolveArgs),
    /// Show a controlled vocabulary (act-types, instruments, mechanisms)
    Vocab(VocabArgs),
    /// Follow up what was sent to protection mechanisms: mark a draft sent; list what is
    /// due for a follow-up and what awaits a response
    #[command(subcommand)]
    Intervention(InterventionCommand),
    /// Check a Custos package you were given (a download, a file on a USB stick) before
    /// installing it: its SHA-256 must be in the release's SHA256SUMS, signed by a release
    /// key built into this custos. Offline; needs no vault. Exit code 1 if it is refused,
    /// 3 if it is genuine but older than this custos
    CheckPackage(CheckPackageArgs),
}

#[derive(Args)]
pub struct CheckPackageArgs {
    /// The package file (.deb, .exe, .dmg …)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The release's list of hashes [default: SHA256SUMS beside the package]
    #[arg(long, value_name = "PATH")]
    pub sums: Option<PathBuf>,
    /// Its signature [default: SHA256SUMS.minisig beside the package]
    #[arg(long, value_name = "PATH")]
    pub signature: Option<PathBuf>,
    /// Check against this release key (a minisign .pub you got from a trusted person,
    /// e.g. when the project changes its key) instead of the keys built into custos
    #[arg(long, value_name = "PATH")]
    pub key: Option<PathBuf>,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum InterventionCommand {
    /// Mark a draft intervention sent (the draft an export of a submission left on the
    /// case), with the day, how it went, the mechanism's reference and when to follow up
    Sent {
        /// The intervention's record id
        id: Uuid,
        /// The day it was sent (YYYY-MM-DD; default: today)
        #[arg(long, value_name = "DATE")]
        date: Option<chrono::NaiveDate>,
        /// How it was sent: e-mail, the mechanism's web form, post, in person, a partner
        #[arg(long, value_name = "TEXT")]
        channel: Option<String>,
        /// The reference the mechanism gave
        #[arg(long, value_name = "TEXT")]
        reference: Option<String>,
        /// When to follow it up next (YYYY-MM-DD)
        #[arg(long = "follow-up", value_name = "DATE")]
        follow_up: Option<chrono::NaiveDate>,
    },
    /// What is due for a follow-up (on or before today) and what awaits a response
    Due {
        /// The day to count from (YYYY-MM-DD; default: today)
        #[arg(long, value_name = "DATE")]
        today: Option<chrono::NaiveDate>,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
}

// The argument structs below carry no doc comment of their own: the variant's doc
// comment is the subcommand's help, and a struct's would replace it.

#[derive(Args)]
pub struct AddArgs {
    /// case, incident, person, intervention or note (or give --json)
    pub kind: Option<Kind>,
    #[command(flatten)]
    pub fields: Fields,
}

#[derive(Args)]
pub struct ListArgs {
    /// Only this kind
    #[arg(long)]
    pub kind: Option<Kind>,
    /// Only this case and its records
    #[arg(long, value_name = "ID")]
    pub case: Option<Uuid>,
    #[arg(long, help = format!("Only cases with this status ({})", values("case_status")))]
    pub status: Option<String>,
    /// Only cases with this tag
    #[arg(long)]
    pub tag: Option<String>,
    /// Include deleted records
    #[arg(long)]
    pub deleted: bool,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct SearchArgs {
    /// Words to look for
    #[arg(value_name = "WORDS")]
    pub words: Vec<String>,
    #[arg(long, help = format!("Only records of cases with this status ({})", values("case_status")))]
    pub status: Option<String>,
    /// Only records of cases with this tag (repeatable: every tag)
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Only records of cases with an incident of this act type (a vocabulary code)
    #[arg(long = "act", value_name = "CODE")]
    pub act_type: Option<String>,
    /// Only records of cases with an incident or intervention on or after this day
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub from: Option<chrono::NaiveDate>,
    /// … on or before this day
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub to: Option<chrono::NaiveDate>,
    /// Only records of cases with an incident at this place (words of its place,
    /// region or country)
    #[arg(long, value_name = "WORDS")]
    pub location: Option<String>,
    #[arg(long, help = format!("Only records of cases with a person in this role ({})", values("role")))]
    pub role: Option<String>,
    /// Only records of cases with an intervention sent or acknowledged and not yet
    /// answered
    #[arg(long)]
    pub awaiting_response: bool,
    /// Only records of cases with an intervention not closed whose follow-up date is on
    /// or before this day (default: today)
    #[arg(long, value_name = "YYYY-MM-DD", num_args = 0..=1, default_missing_value = "today",
          value_parser = day_or_today)]
    pub follow_up_due: Option<chrono::NaiveDate>,
    /// Only this kind (repeatable)
    #[arg(long = "kind", value_name = "KIND")]
    pub kinds: Vec<Kind>,
    /// At most this many results
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

/// A day, `YYYY-MM-DD`, or `today`.
fn day_or_today(s: &str) -> Result<chrono::NaiveDate, String> {
    match s.trim() {
        "today" => Ok(chrono::Local::now().date_naive()),
        d => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| format!("'{d}' is not a day (YYYY-MM-DD, or today)")),
    }
}

#[derive(Args)]
pub struct ShowArgs {
    /// Record id
    pub id: Uuid,
    /// A past version instead of the current one
    #[arg(long, value_name = "VERSION")]
    pub version: Option<Uuid>,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct EditArgs {
    /// Record id
    pub id: Uuid,
    #[command(flatten)]
    pub fields: Fields,
}

#[derive(Args)]
pub struct HistoryArgs {
    /// Record id
    pub id: Uuid,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ExportArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Where to write: a new file (csv: a new folder); "-" for standard output
    /// (json, and the submissions as text)
    #[arg(long, value_name = "PATH", required_unless_present_any = ["check", "questions"])]
    pub output: Option<PathBuf>,
    /// Only this case and all its records (repeat for several)
    #[arg(long = "case", value_name = "ID")]
    pub cases: Vec<Uuid>,
    /// Only these records (repeat for several; default: all)
    #[arg(long = "record", value_name = "ID")]
    pub records: Vec<Uuid>,
    /// Encrypt the output with age to this recipient (an age1… public key)
    #[arg(long, value_name = "RECIPIENT")]
    pub encrypt_to: Option<String>,
    /// PDF (the case report, the submissions' PDF formats): add the charts of the
    /// cases' patterns, drawn from published figures (counts below --threshold read
    /// "fewer than N"; persons are counted, never named)
    #[arg(long)]
    pub patterns: bool,
    /// With --patterns: counts below this are withheld (1 shows every count)
    #[arg(long, value_name = "N", default_value_t = 3, requires = "patterns",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub threshold: u32,
    #[command(flatten)]
    pub unsr: UnSrArgs,
}

#[derive(Args)]
pub struct ImportArgs {
    /// The JSON export file ("-" for standard input); with --from, the other tool's
    /// export (a file, a folder or a zip)
    #[arg(required_unless_present = "csv", conflicts_with = "csv")]
    pub file: Option<PathBuf>,
    /// Import what another tool exported: a Martus XML bulletin export, an ODK
    /// Briefcase or Central CSV export with its media, an Uwazi CSV export, Tella's
    /// exported files with their metadata. Checked whole first: a bad export is refused
    /// with every problem and nothing is imported; importing it again adds only what is
    /// new.
    #[arg(long, value_name = "TOOL", value_parser = ["martus", "odk", "uwazi", "tella"], conflicts_with = "csv")]
    pub from: Option<String>,
    /// With --from: show what the import would make, and which source fields have no
    /// place in Custos (they are kept in a note of each record); write nothing
    #[arg(long, requires = "from")]
    pub preview: bool,
    /// A CSV file to import (with --kind and --mapping)
    #[arg(long, value_name = "FILE", requires_all = ["kind", "mapping"])]
    pub csv: Option<PathBuf>,
    /// The kind of record each CSV row becomes: case, incident, person, intervention,
    /// note
    #[arg(long)]
    pub kind: Option<Kind>,
    /// The column mapping (JSON: {"columns": {"CSV column": "field"}})
    #[arg(long, value_name = "MAPPING.json")]
    pub mapping: Option<PathBuf>,
    /// The case the rows belong to (unless a column maps to case_id)
    #[arg(long = "case", value_name = "ID")]
    pub case: Option<Uuid>,
}

#[derive(Args)]
pub struct EnrollArgs {
    /// The invite text (custos-invite:…), or a file holding it, or "-" for standard input
    pub invite: String,
    /// A name for this device in the hub's device list
    #[arg(long, default_value = "custos device")]
    pub label: String,
    /// How to reach the hub: direct, or socks5:HOST:PORT (e.g. Tor at socks5:127.0.0.1:9050)
    #[arg(long, default_value = "direct")]
    pub route: String,
}

#[derive(Args)]
pub struct ResolveArgs {
    /// Record id
    pub id: Uuid,
    /// For a field changed differently on several devices, take this version's value
    #[arg(long = "take", value_name = "FIELD=VERSION")]
    pub take: Vec<String>,
    /// Show the proposed merge without writing it
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args)]
pub struct VocabArgs {
    /// act-types, instruments or mechanisms
    pub name: String,
    /// Label language (en, fr, es, ar, fa, ru, uk, tr, my, zh-Hans, pt) [default: the
    /// language of the messages]
    #[arg(long)]
    pub lang: Option<String>,
}

#[derive(Subcommand)]
pub enum SyncCommand {
    /// Sync now
    Now,
    /// Ask the hub whether it still holds everything this vault sent or received, send
    /// again what it lost (a hub restored from a backup), then sync
    Check,
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
    /// Confirm or refuse a coordinator the hub announced (see `sync status`)
    Coordinator {
        #[command(subcommand)]
        action: CoordinatorAction,
    },
}

#[derive(Subcommand)]
pub enum CoordinatorAction {
    /// Encrypt to it from now on (after checking with your organisation that it is theirs)
    Confirm {
        /// The coordinator's age recipient (age1…)
        recipient: String,
    },
    /// Never use it
    Refuse {
        /// The coordinator's age recipient (age1…)
        recipient: String,
    },
}

#[derive(Subcommand)]
pub enum OrgCommand {
    /// Create the organisation key in this coordinator's vault and sign the hub's
    /// current coordinators and devices into the roster (shown first; once)
    Create {
        /// The organisation's name
        #[arg(long)]
        name: String,
        /// Sign without asking (after comparing the list with the organisation's own)
        #[arg(long)]
        yes: bool,
    },
    /// Follow the organisation key the hub offers (or a changed one), after comparing
    /// its words with the ones a coordinator reads to you in person
    Confirm {
        /// The key's words, as the coordinator reads them
        #[arg(required = true, num_args = 1..)]
        words: Vec<String>,
    },
    /// Sign a device the hub enrolled into the roster, after its user read you its words
    Approve {
        /// The device's id or label
        device: String,
        /// The device's words (its `custos sync status` shows them)
        #[arg(long, required = true)]
        words: String,
    },
    /// Revoke a device in the signed roster: nothing new from it is accepted
    Revoke {
        /// The device's id or label
        device: String,
    },
    /// Add a coordinator recipient to the signed roster: devices encrypt to it
    AddCoordinator {
        /// The coordinator's age recipient (age1…)
        recipient: String,
    },
    /// Remove a coordinator recipient from the signed roster
    RemoveCoordinator {
        /// The coordinator's age recipient (age1…)
        recipient: String,
    },
    /// Give the organisation key to another coordinator: a file only their vault opens
    Give {
        /// Their vault's age recipient (a coordinator of the signed roster)
        #[arg(long)]
        to: String,
        /// The file to write (not overwritten)
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Take the organisation key another coordinator gave this vault
    Take {
        /// The file they gave
        file: std::path::PathBuf,
    },
    /// The organisation key's words, the roster's size, devices awaiting approval
    Show {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum TravelCommand {
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
pub enum BundleCommand {
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
pub enum EvidenceCommand {
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
pub enum KeyCommand {
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
pub enum Format {
    /// Every version of every record (re-importable)
    Json,
    /// One CSV file per entity in a new folder, HURIDOCS column names
    Csv,
    /// A case report for the documenter
    Pdf,
    /// A new folder of CSV files Uwazi's CSV import reads, one per template, with
    /// templates.md saying what to make in Uwazi first (the way out to Uwazi)
    Uwazi,
    /// A communication to the UN Special Rapporteur on human rights defenders (text)
    UnSr,
    /// The same communication as PDF
    UnSrPdf,
    /// An urgent intervention request to the Observatory for the Protection of Human
    /// Rights Defenders (OMCT and FIDH) (text)
    Observatory,
    /// The same request as PDF
    ObservatoryPdf,
    /// A request to an EU mission or delegation (text)
    Eu,
    /// The same request as PDF
    EuPdf,
    /// A communication to the African Commission's Special Rapporteur on human rights
    /// defenders (text)
    Achpr,
    /// The same communication as PDF
    AchprPdf,
    /// A request for precautionary measures to the Inter-American Commission on Human
    /// Rights (text)
    Iachr,
    /// The same request as PDF
    IachrPdf,
}

impl Format {
    /// For a submission: its mechanism, and whether it is the PDF.
    pub fn submission(self) -> Option<(custos_report::submission::Mechanism, bool)> {
        use custos_report::submission::Mechanism as M;
        Some(match self {
            Format::UnSr => (M::UnSr, false),
            Format::UnSrPdf => (M::UnSr, true),
            Format::Observatory => (M::Observatory, false),
            Format::ObservatoryPdf => (M::Observatory, true),
            Format::Eu => (M::Eu, false),
            Format::EuPdf => (M::Eu, true),
            Format::Achpr => (M::Achpr, false),
            Format::AchprPdf => (M::Achpr, true),
            Format::Iachr => (M::Iachr, false),
            Format::IachrPdf => (M::Iachr, true),
            Format::Json | Format::Csv | Format::Pdf | Format::Uwazi => return None,
        })
    }
}

/// Options of the submissions (`export --format un-sr|observatory|eu|achpr|iachr`).
#[derive(Args, Default)]
pub struct UnSrArgs {
    /// un-sr: urgent-appeal (ongoing or imminent) or allegation-letter (past)
    #[arg(long = "type", value_name = "TYPE")]
    pub communication_type: Option<String>,
    /// Submissions: who submits it (name, organisation, safe contact); kept confidential
    #[arg(long, value_name = "TEXT")]
    pub submitter: Option<String>,
    /// Submissions: how the events are linked to the victims' human rights work
    #[arg(long = "link-to-work", value_name = "TEXT")]
    pub link_to_work: Option<String>,
    /// Submissions: the risk the victims face now
    #[arg(long = "current-risk", value_name = "TEXT")]
    pub current_risk: Option<String>,
    /// Submissions: context and patterns
    #[arg(long, value_name = "TEXT")]
    pub context: Option<String>,
    /// Submissions: an answer to the mechanism's form, KEY=TEXT (repeat; --questions
    /// lists the keys)
    #[arg(long = "answer", value_name = "KEY=TEXT")]
    pub answers: Vec<String>,
    /// The language of the fixed text. The case report (pdf): en, fr, es, ar, fa, ru,
    /// uk, tr, my, zh-Hans, pt (default: the language of the messages). Submissions: each mechanism accepts its
    /// own (default: the first it accepts, or the one kept with the case)
    #[arg(long = "lang", value_name = "LANG")]
    pub language: Option<String>,
    /// Submissions: start from the answers kept with the case (the draft the last export
    /// of this submission left); the options given replace them one by one
    #[arg(long)]
    pub saved: bool,
    /// Submissions: an alleged perpetrator's type, PERSON_ID=state or
    /// PERSON_ID=non-state (repeat)
    #[arg(long = "perpetrator-type", value_name = "ID=TYPE")]
    pub perpetrator_types: Vec<String>,
    /// Submissions: write even though elements are missing (after reading the list)
    #[arg(long)]
    pub allow_missing: bool,
    /// Submissions: only list the missing elements; write nothing
    #[arg(long)]
    pub check: bool,
    /// Submissions: list the mechanism's questions and languages; write nothing
    #[arg(long)]
    pub questions: bool,
}

/// Field flags shared by `add` and `edit`.
#[derive(Args, Default)]
pub struct Fields {
    /// The whole record as JSON, from a file ("-" for standard input)
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Title (case, incident, intervention)
    #[arg(long)]
    pub title: Option<String>,
    /// Summary (case)
    #[arg(long)]
    pub summary: Option<String>,
    #[arg(long, help = format!(
        "Case status: {}; intervention status: {}",
        values("case_status"),
        values("intervention_status")
    ))]
    pub status: Option<String>,
    /// Tag (case); repeat for several
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Owner (case)
    #[arg(long)]
    pub owner: Option<String>,
    #[arg(long, help = format!("Confidentiality: {}", values("confidentiality")))]
    pub confidentiality: Option<String>,
    /// The case the record belongs to
    #[arg(long, value_name = "ID")]
    pub case: Option<Uuid>,
    /// Name (person)
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long = "role", help = format!("Role (person): {}", values("role")))]
    pub roles: Vec<String>,
    /// Description (incident)
    #[arg(long)]
    pub description: Option<String>,
    /// Start date YYYY-MM-DD (incident); with --precision
    #[arg(long)]
    pub date: Option<String>,
    /// Date precision: day, month, year, approximate
    #[arg(long)]
    pub precision: Option<String>,
    /// Place (incident location)
    #[arg(long)]
    pub place: Option<String>,
    /// Country code (incident location)
    #[arg(long)]
    pub country: Option<String>,
    /// Act type code (incident); repeat for several; see `custos vocab act-types`
    #[arg(long = "act-type")]
    pub act_types: Vec<String>,
    /// Mechanism code (intervention); see `custos vocab mechanisms`
    #[arg(long)]
    pub mechanism: Option<String>,
    #[arg(long = "type", help = format!("Intervention type: {}", values("intervention_type")))]
    pub intervention_type: Option<String>,
    /// Text (note)
    #[arg(long)]
    pub text: Option<String>,
    /// Any field: NAME=VALUE (VALUE is JSON if it parses, else text); dots for nesting
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
}

/// A choice's values as the model's schema lists them (help texts keep no copy).
fn values(choice: &str) -> String {
    custos_model::schema::schema()
        .choices
        .get(choice)
        .map(|v| v.join(", "))
        .unwrap_or_default()
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
        // Every level of subcommand (`key restore` is two deep).
        fn names(cmd: &clap::Command, all: &mut Vec<String>) {
            all.extend(cmd.get_arguments().map(|a| a.get_id().to_string()));
            for sub in cmd.get_subcommands() {
                names(sub, all);
            }
        }
        let mut all = Vec::new();
        names(&Cli::command(), &mut all);
        assert!(all.iter().any(|n| n == "new_passphrase_file"), "{all:?}");
        for name in &all {
            assert!(
                !name.contains("passphrase") || name.ends_with("_file"),
                "argument {name} would put a passphrase on the command line"
            );
        }
    }
}
