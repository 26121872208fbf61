//! `custos stats`: the published figures of the cases a search selects, as tables or
//! JSON, or their charts written to a folder.

use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::Datelike;
use clap::{Args, ValueEnum};
use custos_app::patterns::{self, ExportRequest, ImageFormat};
use custos_patterns::figures::{Period, Shown};
use custos_patterns::{Count, Figures, Labels, Options};
use custos_report as report;
use custos_search::SearchQuery;

use super::{parse_enum, print_json};
use crate::error::{CliError, Result};
use crate::session::Session;
use crate::{lang, tr};

/// The width of a timeline bin.
#[derive(Clone, Copy, ValueEnum)]
pub enum By {
    /// Calendar months
    Month,
    /// ISO weeks (Monday to Sunday)
    Week,
}

/// `custos stats`.
#[derive(Args)]
pub struct StatsArgs {
    /// Words the cases' records must hold (none: every case the filters select; no
    /// words and no filter: every case)
    #[arg(value_name = "WORDS")]
    pub words: Vec<String>,
    /// Timeline bins
    #[arg(long, value_enum, default_value = "month")]
    pub by: By,
    /// Counts below this are shown as "fewer than N" and rare free text folded into
    /// "other" (1 shows every count)
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub threshold: u32,
    /// The language of the tables' and charts' words (en, fr, es, ar, fa, ru, uk, tr, my,
    /// zh-Hans, pt) [default: the language of the messages]
    #[arg(long, value_name = "LANG")]
    pub lang: Option<String>,
    /// The figures as JSON
    #[arg(long)]
    pub json: bool,
    /// Write every chart as SVG into this folder (it must exist)
    #[arg(long, value_name = "DIR", conflicts_with_all = ["png", "json"])]
    pub svg: Option<PathBuf>,
    /// Write every chart as PNG into this folder (it must exist)
    #[arg(long, value_name = "DIR", conflicts_with = "json")]
    pub png: Option<PathBuf>,
    /// With --svg or --png: only this chart (map, timeline, act_types, victims_by_sex,
    /// victims_by_occupation, perpetrators_by_type, interventions)
    #[arg(long, value_name = "KEY")]
    pub chart: Option<String>,
    /// With --svg or --png: encrypt each file with age to this recipient
    #[arg(long, value_name = "RECIPIENT")]
    pub encrypt_to: Option<String>,
    /// Only cases with this status (open, monitoring, closed)
    #[arg(long)]
    pub status: Option<String>,
    /// Only cases with this tag (repeatable: every tag)
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Only cases with an incident of this act type (a vocabulary code)
    #[arg(long = "act", visible_alias = "act-type", value_name = "CODE")]
    pub act_type: Option<String>,
    /// Only cases with an incident or intervention on or after this day
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub from: Option<chrono::NaiveDate>,
    /// … on or before this day
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub to: Option<chrono::NaiveDate>,
    /// Only cases with an incident at this place (words of its place, region or country)
    #[arg(long, value_name = "WORDS")]
    pub location: Option<String>,
    /// Only cases with a person in this role (victim, perpetrator, witness, source,
    /// intervening_party)
    #[arg(long)]
    pub role: Option<String>,
    /// Only cases with an intervention awaiting a response
    #[arg(long)]
    pub awaiting_response: bool,
}

pub fn stats(session: &Session, args: StatsArgs) -> Result {
    // Bad options fail before the vault is opened.
    let query = SearchQuery {
        text: args.words.join(" "),
        status: args
            .status
            .as_deref()
            .map(|s| parse_enum(s, "status"))
            .transpose()?,
        tags: args.tags.clone(),
        act_type: args.act_type.clone(),
        from: args.from,
        to: args.to,
        location: args.location.clone(),
        role: args
            .role
            .as_deref()
            .map(|r| parse_enum(r, "role"))
            .transpose()?,
        awaiting_response: args.awaiting_response,
        ..SearchQuery::default()
    };
    let options = Options {
        period: match args.by {
            By::Month => Period::Month,
            By::Week => Period::Week,
        },
        threshold: args.threshold,
    };
    let image = match (&args.svg, &args.png) {
        (Some(dir), None) => Some((ImageFormat::Svg, dir.clone())),
        (None, Some(dir)) => Some((ImageFormat::Png, dir.clone())),
        (None, None) => None,
        (Some(_), Some(_)) => return Err(CliError::usage(tr!("stats.svg_or_png"))),
    };
    if image.is_none() && (args.chart.is_some() || args.encrypt_to.is_some()) {
        return Err(CliError::usage(tr!("stats.chart_needs_image")));
    }
    let protection = custos_app::export::protection(args.encrypt_to.as_deref())?;
    let lang = args.lang.clone().unwrap_or_else(|| lang::code().to_owned());
    session.with_vault(|vault| {
        if let Some((format, dir)) = image {
            if !dir.is_dir() {
                return Err(CliError::usage(tr!(
                    "stats.not_a_folder",
                    path = dir.display()
                )));
            }
            let written = patterns::export(
                vault,
                &ExportRequest {
                    query: &query,
                    options: &options,
                    lang: &lang,
                    which: args.chart.as_deref(),
                    format,
                    dest: &dir,
                    protection: &protection,
                },
            )?;
            for f in &written.files {
                println!("{}", f.display());
            }
            let n = lang::n(written.files.len());
            match protection {
                report::Protection::Plaintext => eprintln!(
                    "{}",
                    tr!(
                        "stats.written_plaintext",
                        count = n,
                        warning = tr!("export.plaintext_warning")
                    )
                ),
                report::Protection::AgeRecipient(r) => eprintln!(
                    "{}",
                    tr!("stats.written_encrypted", count = n, recipient = r)
                ),
            }
            return Ok(());
        }
        let figures = patterns::figures(vault, &query, &options)?.published(options.threshold);
        if args.json {
            return print_json(&serde_json::to_value(&figures)?);
        }
        print!("{}", tables(&figures, &Labels::of(&lang)));
        Ok(())
    })
}

/// The figures as aligned text tables, one per figure, in the labels' language.
pub fn tables(f: &Figures, labels: &Labels) -> String {
    let mut out = String::new();
    let count = |s: Shown| labels.count(s);
    let none = labels.text("no_data");
    table(
        &mut out,
        "",
        &[
            (labels.text("cases"), count(f.cases)),
            (labels.text("incidents"), count(f.incidents)),
            (labels.text("victims"), count(f.victims)),
            (
                labels.text("without_publish_consent"),
                count(f.without_publish_consent),
            ),
        ],
        &none,
    );

    let months = labels.months();
    let mut rows: Vec<(String, String)> = f
        .timeline
        .bins
        .iter()
        .map(|b| {
            let period = match f.timeline.period {
                Period::Month => format!(
                    "{} {}",
                    months
                        .get(b.start.month0() as usize)
                        .cloned()
                        .unwrap_or_default(),
                    b.start.year()
                ),
                Period::Week => {
                    let w = b.start.iso_week();
                    labels
                        .text("week")
                        .replace("{n}", &w.week().to_string())
                        .replace("{year}", &w.year().to_string())
                }
            };
            (period, count(b.total))
        })
        .collect();
    for c in &f.timeline.coarse {
        let when = if c.precision == "month" {
            format!(
                "{} {}",
                months
                    .get(c.start.month0() as usize)
                    .cloned()
                    .unwrap_or_default(),
                c.start.year()
            )
        } else {
            c.start.year().to_string()
        };
        let key = format!("coarse.{}", c.precision);
        rows.push((format!("{when} ({})", labels.text(&key)), count(c.count)));
    }
    if f.timeline.undated != Shown::Exact(0) {
        rows.push((labels.text("undated"), count(f.timeline.undated)));
    }
    table(&mut out, &labels.text("title.timeline"), &rows, &none);

    let list = |list: &[Count], vocab: &str| -> Vec<(String, String)> {
        list.iter()
            .map(|c| (labels.category(vocab, &c.key), count(c.count)))
            .collect()
    };
    let mut places = list(&f.places.countries, "country");
    places.extend(f.places.regions.iter().map(|r| {
        (
            format!(
                "{} / {}",
                labels.category("country", &r.country),
                labels.category("region", &r.region)
            ),
            count(r.count),
        )
    }));
    table(&mut out, &labels.text("title.map"), &places, &none);
    let points: Vec<(String, String)> = f
        .places
        .points
        .iter()
        .map(|p| (format!("{:.1}, {:.1}", p.lat, p.lon), count(p.count)))
        .collect();
    table(&mut out, &labels.text("map.points"), &points, &none);
    table(
        &mut out,
        &labels.text("title.act_types"),
        &list(&f.act_types, "act_types"),
        &none,
    );
    table(
        &mut out,
        &labels.text("title.victims_by_sex"),
        &list(&f.victims_by_sex, "sex"),
        &none,
    );
    table(
        &mut out,
        &labels.text("title.victims_by_occupation"),
        &list(&f.victims_by_occupation, "occupation"),
        &none,
    );
    table(
        &mut out,
        &labels.text("title.perpetrators_by_type"),
        &list(&f.perpetrators_by_type, "perpetrator_type"),
        &none,
    );

    let _ = writeln!(out, "{}", labels.text("title.interventions"));
    if f.interventions.is_empty() {
        let _ = writeln!(out, "  {}\n", labels.text("no_data"));
    } else {
        let head = [
            String::new(),
            labels.text("status.draft"),
            labels.text("status.awaiting"),
            labels.text("status.answered"),
        ];
        let rows: Vec<[String; 4]> = f
            .interventions
            .iter()
            .map(|m| {
                [
                    labels.category("mechanisms", &m.mechanism),
                    count(m.draft),
                    count(m.awaiting),
                    count(m.answered),
                ]
            })
            .collect();
        let width = |i: usize| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([head[i].chars().count()])
                .max()
                .unwrap_or(0)
        };
        let widths = [width(0), width(1), width(2), width(3)];
        for r in std::iter::once(&head).chain(rows.iter()) {
            let _ = writeln!(
                out,
                "  {}  {}  {}  {}",
                pad_end(&r[0], widths[0]),
                pad_start(&r[1], widths[1]),
                pad_start(&r[2], widths[2]),
                pad_start(&r[3], widths[3])
            );
        }
        out.push('\n');
    }
    if let Some(t) = f.threshold.filter(|t| *t > 1) {
        let _ = writeln!(
            out,
            "{}",
            labels.text("threshold_note").replace("{n}", &t.to_string())
        );
    }
    out
}

/// One table: a title, then label and count columns aligned.
fn table(out: &mut String, title: &str, rows: &[(String, String)], empty: &str) {
    if !title.is_empty() {
        let _ = writeln!(out, "{title}");
    }
    if rows.is_empty() {
        let _ = writeln!(out, "  {empty}\n");
        return;
    }
    let left = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let right = rows
        .iter()
        .map(|(_, r)| r.chars().count())
        .max()
        .unwrap_or(0);
    for (l, r) in rows {
        let _ = writeln!(out, "  {}  {}", pad_end(l, left), pad_start(r, right));
    }
    out.push('\n');
}

fn pad_end(s: &str, width: usize) -> String {
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(width.saturating_sub(n)))
}

fn pad_start(s: &str, width: usize) -> String {
    let n = s.chars().count();
    format!("{}{s}", " ".repeat(width.saturating_sub(n)))
}
