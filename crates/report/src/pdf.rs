//! The case report: a PDF for the documenter's own use, in the user's language.
//!
//! One section per case: summary, incidents, persons (a person whose consent to publish
//! is not given carries a visible CONFIDENTIAL line), interventions, evidence with its
//! SHA-256, notes. Its fixed words come from `locales/case/<code>.json` (see
//! [`crate::words`]); English stands in for a missing word or an unknown language.
//!
//! Text is set in DejaVu Sans, embedded (subset) in the file, so accented Latin, Greek,
//! Cyrillic, Arabic and Persian letters print; a character DejaVu lacks is taken from
//! Noto Sans Myanmar (Burmese) or Droid Sans Fallback (Chinese), also embedded as
//! subsets. Arabic and Persian are drawn right to left with their joining forms (a small
//! shaper for the Arabic alphabet; no ligatures beyond lam-alef). Burmese is shaped by
//! allsorts' Myanmar shaper with the font's OpenType tables, each word's text kept as
//! its ActualText (see `docs/exports.md`).

use std::path::Path;
use std::sync::OnceLock;

use custos_patterns::scene::{Anchor, Item};
use custos_patterns::Scene;
use printpdf::{
    Color, CurTransMat, DictItem, ExtendedGraphicsState, ExtendedGraphicsStateId, ExternalStream,
    ExternalXObject, FontId, LinePoint, Mm, Op, PaintMode, ParsedFont, PdfDocument, PdfFontHandle,
    PdfPage, PdfSaveOptions, Point, Polygon, PolygonRing, Pt, Rgb, TextItem, WindingOrder,
    XObjectId, XObjectTransform,
};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{
    act_label, instruments_of, mechanism_label, place_text, roles_of, Loaded, Patterns, Progress,
    Selection,
};
use crate::doc::{Block, Doc};
use crate::output::{write_file, Protection};
use crate::words::Words;
use custos_model::Consent;
use custos_vault::error::{Error, Result};
use custos_vault::Vault;

const REGULAR: &[u8] = custos_patterns::scene::FONT_REGULAR;
const BOLD: &[u8] = custos_patterns::scene::FONT_BOLD;
/// Burmese (Noto Sans Myanmar, SIL Open Font License) and Chinese with the rest of CJK
/// (Droid Sans Fallback, Apache License 2.0; one weight: bold Chinese is drawn regular):
/// the fonts the charts draw with, `crates/patterns/fonts/`.
const MYANMAR_REGULAR: &[u8] = custos_patterns::scene::FONT_MYANMAR_REGULAR;
const MYANMAR_BOLD: &[u8] = custos_patterns::scene::FONT_MYANMAR_BOLD;
const CJK: &[u8] = custos_patterns::scene::FONT_CJK;

/// What a PDF export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdfStats {
    /// Cases in the report.
    pub cases: usize,
    /// Pages in the file.
    pub pages: usize,
    /// Bytes written (before encryption).
    pub bytes: usize,
}

/// Writes the case report of the selection (cases with all their records, or single
/// records grouped under their case) to a new file at `path`, in English.
pub fn export_case_report(
    vault: &Vault,
    selection: &Selection,
    path: &Path,
    protection: &Protection,
    progress: Progress<'_>,
) -> Result<PdfStats> {
    export_case_report_with(vault, selection, None, path, protection, progress)
}

/// [`export_case_report`], with a "Patterns" section when `patterns` is given (see
/// [`case_report_with`]).
pub fn export_case_report_with(
    vault: &Vault,
    selection: &Selection,
    patterns: Option<Patterns>,
    path: &Path,
    protection: &Protection,
    progress: Progress<'_>,
) -> Result<PdfStats> {
    export_case_report_in(vault, selection, patterns, "en", path, protection, progress)
}

/// [`export_case_report_with`] in the language `lang` (a code of
/// [`crate::words::LANGUAGES`]; any other code writes English).
pub fn export_case_report_in(
    vault: &Vault,
    selection: &Selection,
    patterns: Option<Patterns>,
    lang: &str,
    path: &Path,
    protection: &Protection,
    progress: Progress<'_>,
) -> Result<PdfStats> {
    let (bytes, stats) = case_report_in(vault, selection, patterns, lang, progress)?;
    write_file(path, protection, |w| {
        w.write_all(&bytes)
            .map_err(|e| Error::io("writing the report", e))
    })?;
    Ok(stats)
}

/// The case report of the selection as PDF bytes (wiped when dropped), in English.
pub fn case_report(
    vault: &Vault,
    selection: &Selection,
    progress: Progress<'_>,
) -> Result<(Zeroizing<Vec<u8>>, PdfStats)> {
    case_report_with(vault, selection, None, progress)
}

/// [`case_report`]; with `patterns`, a last section, "Patterns", holds every chart (and
/// the map) of the published figures of the report's records: counts below the
/// threshold read "fewer than N", persons are counted and never named.
pub fn case_report_with(
    vault: &Vault,
    selection: &Selection,
    patterns: Option<Patterns>,
    progress: Progress<'_>,
) -> Result<(Zeroizing<Vec<u8>>, PdfStats)> {
    case_report_in(vault, selection, patterns, "en", progress)
}

/// [`case_report_with`] in the language `lang`: its fixed words, numbers and dates
/// (see [`crate::words`]). An unknown code writes English.
pub fn case_report_in(
    vault: &Vault,
    selection: &Selection,
    patterns: Option<Patterns>,
    lang: &str,
    progress: Progress<'_>,
) -> Result<(Zeroizing<Vec<u8>>, PdfStats)> {
    let w = Words::of(lang);
    let ids = selection.resolve(vault)?;
    // Reading is most of the work; laying out and writing the rest.
    let total = ids.len() + 1;
    let loaded = Loaded::load(vault, &ids, &mut |d, _| progress(d, total))?;
    let mut doc = report_doc(&loaded, w);
    let cases = doc
        .blocks
        .iter()
        .filter(|b| matches!(b, Block::Title(_)))
        .count();
    if let Some(p) = patterns {
        patterns_section(&mut doc, &loaded, p, w);
    }
    let footer = |page: usize, pages: usize| {
        w.f(
            "report.footer",
            &[
                ("title", w.t("report.title_plain")),
                ("page", &w.digits(&page.to_string())),
                ("pages", &w.digits(&pages.to_string())),
            ],
        )
    };
    let (bytes, pages) = render_with(&doc, w.t("report.title_plain"), &footer, &[])?;
    progress(total, total);
    let n = bytes.len();
    Ok((
        bytes,
        PdfStats {
            cases,
            pages,
            bytes: n,
        },
    ))
}

/// The case report of the selection as plain UTF-8 text in the language `lang` (the
/// same words as the PDF, without its charts; wiped when dropped).
pub fn case_report_text(
    vault: &Vault,
    selection: &Selection,
    lang: &str,
) -> Result<Zeroizing<String>> {
    let ids = selection.resolve(vault)?;
    let loaded = Loaded::load(vault, &ids, &mut crate::no_progress)?;
    let doc = report_doc(&loaded, Words::of(lang));
    Ok(Zeroizing::new(doc.to_text()))
}

/// Builds the report's blocks: one section per case.
fn report_doc(l: &Loaded, w: Words) -> Doc {
    let mut doc = Doc::default();
    let mut case_ids: Vec<Uuid> = l.cases.iter().map(|(id, _)| *id).collect();
    let mut others: Vec<Uuid> = l
        .cases_of_records()
        .filter(|c| !case_ids.contains(c))
        .collect();
    others.sort();
    others.dedup();
    case_ids.extend(others);
    let now = w.time(chrono::Utc::now(), false);
    let list = |v: &[String]| v.join(if w.lang == "zh-Hans" { "；" } else { "; " });
    let comma = if w.lang == "zh-Hans" {
        "、"
    } else if matches!(w.lang, "ar" | "fa") {
        "، "
    } else {
        ", "
    };

    for case_id in case_ids {
        match l.case(case_id) {
            Some(c) => doc.title(w.f("report.title", &[("title", &c.title)])),
            None => doc.title(w.f("report.title_unknown_case", &[("id", &case_id.to_string())])),
        }
        doc.alert(w.t("report.confidential"));
        doc.field(w.t("field.case_number"), case_id.to_string());
        if let Some(c) = l.case(case_id) {
            doc.field(w.t("field.status"), w.status(c.status));
            doc.field(
                w.t("field.confidentiality"),
                w.confidentiality(c.confidentiality),
            );
            doc.field(w.t("field.owner"), c.owner.clone());
            doc.field(w.t("field.tags"), c.tags.join(comma));
        }
        doc.field(w.t("report.written"), now.clone());
        if let Some(c) = l.case(case_id) {
            doc.heading(w.t("heading.summary"));
            if c.summary.trim().is_empty() {
                doc.para(w.t("summary.none"));
            } else {
                doc.para(c.summary.clone());
            }
        }

        let incidents: Vec<_> = l
            .incidents
            .iter()
            .filter(|(_, i)| i.case_id == case_id)
            .collect();
        if !incidents.is_empty() {
            doc.heading(w.n("heading.incidents", incidents.len()));
        }
        let dated =
            |d: &custos_model::FuzzyDate| format!("{} ({})", w.date(d), w.date_type(Some(d)));
        for (id, i) in incidents {
            doc.subheading(i.title.clone());
            doc.field(w.t("field.record_number"), id.to_string());
            match &i.start {
                Some(d) => doc.field(w.t("field.initial_date"), dated(d)),
                None => doc.field(w.t("field.initial_date"), w.t("date.unknown")),
            }
            if let Some(d) = &i.end {
                doc.field(w.t("field.final_date"), dated(d));
            }
            doc.field(w.t("field.place"), place_text(i.location.as_ref()));
            if let Some(loc) = &i.location {
                if let (Some(lat), Some(lon)) = (loc.lat, loc.lon) {
                    // ASCII digits: coordinates are copied into maps and other tools.
                    doc.field(w.t("field.coordinates"), format!("{lat:.5}, {lon:.5}"));
                }
            }
            doc.field(
                w.t("field.act_types"),
                list(
                    &i.act_types
                        .iter()
                        .map(|c| act_label(c, w.lang))
                        .collect::<Vec<_>>(),
                ),
            );
            doc.field(
                w.t("field.rights"),
                list(&instruments_of(&i.act_types, w.lang)),
            );
            let involved: Vec<String> = i
                .persons
                .iter()
                .map(|inv| {
                    let name = l.person(inv.person_id).map_or_else(
                        || w.f("person.unknown", &[("id", &inv.person_id.to_string())]),
                        |p| p.name.clone(),
                    );
                    format!("{name} ({})", w.role(inv.role))
                })
                .collect();
            doc.field(w.t("field.persons_involved"), list(&involved));
            doc.field(w.t("field.description"), i.description.clone());
            doc.field(w.t("field.impact"), i.impact.clone());
        }

        let persons: Vec<_> = l
            .persons
            .iter()
            .filter(|(_, p)| p.case_id == case_id)
            .collect();
        if !persons.is_empty() {
            doc.heading(w.n("heading.persons", persons.len()));
        }
        for (id, p) in persons {
            let head = match (p.is_group, p.group_size) {
                (false, _) => p.name.clone(),
                (true, Some(n)) => w.f(
                    "person.group_of",
                    &[("name", &p.name), ("n", &w.digits(&n.to_string()))],
                ),
                (true, None) => w.f("person.group", &[("name", &p.name)]),
            };
            doc.subheading(head);
            match p.consent.publish {
                Consent::Given => {}
                Consent::Refused => doc.alert(w.t("alert.consent_refused")),
                Consent::NotAsked => doc.alert(w.t("alert.consent_not_asked")),
            }
            doc.field(w.t("field.record_number"), id.to_string());
            doc.field(w.t("field.other_names"), list(&p.other_names));
            doc.field(
                w.t("field.roles"),
                roles_of(l, *id, p)
                    .into_iter()
                    .map(|r| w.role(r))
                    .collect::<Vec<_>>()
                    .join(comma),
            );
            doc.field(w.t("field.sex"), p.sex.clone());
            doc.field(
                w.t("field.birth_date"),
                p.birth_date.as_ref().map(|d| w.date(d)).unwrap_or_default(),
            );
            doc.field(w.t("field.occupation"), p.occupation.clone());
            doc.field(w.t("field.organisation"), p.organisation.clone());
            doc.field(w.t("field.human_rights_work"), p.human_rights_work.clone());
            doc.field(w.t("field.residence"), p.residence.clone());
            doc.field(w.t("field.citizenship"), p.citizenship.clone());
            doc.field(
                w.t("field.consent_government"),
                w.consent(p.consent.share_with_government),
            );
            doc.field(w.t("field.consent_publish"), w.consent(p.consent.publish));
            doc.field(w.t("field.contact"), p.contact.clone());
        }

        let interventions: Vec<_> = l
            .interventions
            .iter()
            .filter(|(_, i)| i.case_id == case_id)
            .collect();
        if !interventions.is_empty() {
            doc.heading(w.n("heading.interventions", interventions.len()));
        }
        for (id, i) in interventions {
            doc.subheading(i.title.clone());
            doc.field(w.t("field.record_number"), id.to_string());
            if !i.mechanism.is_empty() {
                doc.field(
                    w.t("field.intervening_party"),
                    mechanism_label(&i.mechanism, w.lang),
                );
            }
            doc.field(w.t("field.type"), w.intervention_type(i.kind));
            doc.field(
                w.t("field.date"),
                i.date.map(|d| w.day(d)).unwrap_or_default(),
            );
            doc.field(w.t("field.status"), w.intervention_status(i.status));
            doc.field(w.t("field.reference"), i.reference.clone());
            doc.field(w.t("field.response"), i.response.clone());
            doc.field(
                w.t("field.concerning"),
                list(
                    &i.incident_ids
                        .iter()
                        .map(|x| {
                            l.incident(*x)
                                .map(|r| r.title.clone())
                                .unwrap_or_else(|| x.to_string())
                        })
                        .collect::<Vec<_>>(),
                ),
            );
            doc.field(
                w.t("field.on_behalf_of"),
                list(
                    &i.person_ids
                        .iter()
                        .map(|x| {
                            l.person(*x)
                                .map(|p| p.name.clone())
                                .unwrap_or_else(|| x.to_string())
                        })
                        .collect::<Vec<_>>(),
                ),
            );
        }

        let evidence: Vec<_> = l
            .evidence
            .iter()
            .filter(|(_, e)| e.case_id == case_id)
            .collect();
        if !evidence.is_empty() {
            doc.heading(w.n("heading.evidence", evidence.len()));
        }
        for (id, e) in evidence {
            doc.subheading(e.file_name.clone());
            doc.field(w.t("field.record_number"), id.to_string());
            doc.field(w.t("field.description"), e.description.clone());
            doc.field(w.t("field.media_type"), e.media_type.clone());
            doc.field(w.t("field.size"), w.n("size.bytes", e.size));
            doc.field("SHA-256", e.sha256.clone());
            doc.field(w.t("field.imported"), w.time(e.imported_at, true));
            if let Some(o) = e.derived_from {
                doc.field(w.t("field.working_copy_of"), o.to_string());
            }
        }

        let notes: Vec<_> = l
            .notes
            .iter()
            .filter(|(_, n)| n.case_id == case_id)
            .collect();
        if !notes.is_empty() {
            doc.heading(w.n("heading.notes", notes.len()));
        }
        for (_, n) in notes {
            doc.para(n.text.clone());
        }
    }
    if doc.blocks.is_empty() {
        doc.title(w.t("report.title_plain"));
        doc.para(w.t("report.nothing_selected"));
    }
    doc
}

/// The "Patterns" section of the case report: the charts of the published figures.
fn patterns_section(doc: &mut Doc, l: &Loaded, p: Patterns, w: Words) {
    let threshold = p.threshold.max(1);
    doc.title(w.t("patterns.title"));
    let counts = if threshold > 1 {
        w.n("patterns.threshold", threshold)
    } else {
        w.t("patterns.exact").to_owned()
    };
    doc.para(w.f(
        "patterns.intro",
        &[
            ("n", &w.digits(&l.cases.len().to_string())),
            ("counts", &counts),
        ],
    ));
    let charts = crate::pattern_charts(l, p, w.lang, CHART_WIDTH);
    if charts.is_empty() {
        doc.para(w.t("patterns.nothing"));
    }
    for scene in charts {
        doc.figure(scene);
    }
}

// ----- rendering -----

/// The report's own font, DejaVu Sans (regular and bold), read at the first report.
struct Fonts {
    regular: ParsedFont,
    bold: ParsedFont,
}

fn fonts() -> Result<&'static Fonts> {
    static FONTS: OnceLock<Option<Fonts>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let regular = ParsedFont::from_bytes(REGULAR, 0, &mut Vec::new())?;
            let bold = ParsedFont::from_bytes(BOLD, 0, &mut Vec::new())?;
            Some(Fonts { regular, bold })
        })
        .as_ref()
        .ok_or_else(|| Error::Invalid("the report font could not be read".into()))
}

/// The faces a character can be drawn with, by slot: DejaVu Sans regular (0) and bold
/// (1), Noto Sans Myanmar regular (2) and bold (3), Droid Sans Fallback (4, both
/// weights).
const FACES: usize = 5;

/// The fallback faces, each read the first time a character needs it (reading the
/// Chinese font takes a moment: reports without Chinese never do).
fn fallback(slot: usize) -> Option<&'static ParsedFont> {
    static FACE: [OnceLock<Option<ParsedFont>>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let bytes = match slot {
        2 => MYANMAR_REGULAR,
        3 => MYANMAR_BOLD,
        4 => CJK,
        _ => return None,
    };
    FACE[slot - 2]
        .get_or_init(|| ParsedFont::from_bytes(bytes, 0, &mut Vec::new()))
        .as_ref()
}

/// The font of a slot (see [`FACES`]).
fn face(fonts: &Fonts, slot: usize) -> Option<&ParsedFont> {
    match slot {
        0 => Some(&fonts.regular),
        1 => Some(&fonts.bold),
        s => fallback(s),
    }
}

/// Myanmar letters, signs and digits (Myanmar, Extended-A and -B blocks).
fn is_myanmar(c: char) -> bool {
    matches!(c as u32, 0x1000..=0x109F | 0xAA60..=0xAA7F | 0xA9E0..=0xA9FF)
}

fn has_glyph(f: &ParsedFont, c: char) -> bool {
    f.lookup_glyph_index(c as u32).is_some_and(|g| g != 0)
}

/// The slot of the face that draws `c`: DejaVu when it has the character (and for
/// Arabic, which is shaped into DejaVu's presentation forms), else Noto Sans Myanmar
/// for Burmese, else Droid Sans Fallback when it has it; DejaVu (its U+FFFD) otherwise.
fn slot_of(fonts: &Fonts, c: char, bold: bool) -> usize {
    let dejavu = usize::from(bold);
    if c == '\u{FFFD}' || is_arabic(c) || has_glyph(&fonts.regular, c) {
        return dejavu;
    }
    if is_myanmar(c) {
        let s = 2 + usize::from(bold);
        if fallback(s).is_some_and(|f| has_glyph(f, c)) {
            return s;
        }
    }
    if fallback(4).is_some_and(|f| has_glyph(f, c)) {
        return 4;
    }
    dejavu
}

fn is_myanmar_slot(slot: usize) -> bool {
    matches!(slot, 2 | 3)
}

/// A shaped glyph: its id in the font, where it is drawn from the pen and how far it
/// moves the pen (font units), and the characters it stands for.
#[derive(Debug, Clone, PartialEq)]
struct Shaped {
    gid: u16,
    advance: i32,
    dx: i32,
    dy: i32,
    text: String,
}

/// Burmese shaped with Noto Sans Myanmar's OpenType tables by allsorts' Myanmar shaper
/// (reordering, medials, stacking, mark positioning); `None` when it cannot be.
fn shape_myanmar(bold: bool, text: &str) -> Option<Vec<Shaped>> {
    use allsorts::binary::read::ReadScope;
    use allsorts::font::{Font, MatchingPresentation};
    use allsorts::font_data::{DynamicFontTableProvider, FontData};
    use allsorts::glyph_position::{GlyphLayout, TextDirection};
    use allsorts::gsub::{FeatureMask, FeatureMaskExt};
    use std::cell::RefCell;
    type Shaper = Font<DynamicFontTableProvider<'static>>;
    thread_local! {
        static SHAPERS: RefCell<[Option<Shaper>; 2]> = const { RefCell::new([None, None]) };
    }
    SHAPERS.with(|cell| {
        let mut shapers = cell.borrow_mut();
        let shaper = &mut shapers[usize::from(bold)];
        if shaper.is_none() {
            let bytes: &'static [u8] = if bold { MYANMAR_BOLD } else { MYANMAR_REGULAR };
            let data = ReadScope::new(bytes).read::<FontData<'static>>().ok()?;
            *shaper = Some(Font::new(data.table_provider(0).ok()?).ok()?);
        }
        let font = shaper.as_mut()?;
        let script = allsorts::tag::MYM2;
        let glyphs = font.map_glyphs(text, script, MatchingPresentation::NotRequired);
        let infos = font
            .shape(
                glyphs,
                script,
                None,
                FeatureMask::default_mask(),
                &[],
                None,
                true,
            )
            .ok()?;
        let positions = GlyphLayout::new(font, &infos, TextDirection::LeftToRight, false)
            .glyph_positions()
            .ok()?;
        Some(
            infos
                .iter()
                .zip(positions)
                .map(|(i, p)| Shaped {
                    gid: i.glyph.glyph_index,
                    advance: p.hori_advance,
                    dx: p.x_offset,
                    dy: p.y_offset,
                    text: i.glyph.unicodes.iter().collect(),
                })
                .collect(),
        )
    })
}

/// Text cut where the face changes: `(slot, piece)` in order.
fn pieces(fonts: &Fonts, text: &str, bold: bool) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for c in text.chars() {
        let s = slot_of(fonts, c, bold);
        match out.last_mut() {
            Some((last, piece)) if *last == s => piece.push(c),
            _ => out.push((s, c.to_string())),
        }
    }
    out
}

const PAGE_W: f32 = 595.28; // A4, in points
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 56.7; // 20 mm
const BOTTOM: f32 = 70.0;
const TEXT_W: f32 = PAGE_W - 2.0 * MARGIN;
/// The width charts are drawn at: the text width, so they print at their size.
pub(crate) const CHART_WIDTH: f64 = TEXT_W as f64;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Style {
    bold: bool,
    size: f32,
    color: (f32, f32, f32),
}

const BODY: Style = Style {
    bold: false,
    size: 10.0,
    color: (0.0, 0.0, 0.0),
};

struct Layout<'f> {
    fonts: &'f Fonts,
    /// The font of each slot (see [`FACES`]).
    ids: [FontId; FACES],
    /// Characters drawn with each slot's font: the subsets to embed.
    used: [std::collections::BTreeSet<char>; FACES],
    pages: Vec<Vec<Op>>,
    ops: Vec<Op>,
    /// Fill opacities used by charts (in percent), each a graphics state to register.
    alphas: Vec<(u8, ExtendedGraphicsStateId)>,
    /// Images drawn, each an image XObject to register.
    images: Vec<(XObjectId, ExternalXObject)>,
    /// Baseline of the last line, in points from the bottom.
    y: f32,
    /// Where the next text is set (points from the bottom left), inside a text section.
    pen: (f32, f32),
    /// The document's direction, when it has one ([`Doc::rtl`]).
    rtl: Option<bool>,
}

impl<'f> Layout<'f> {
    fn width(&self, text: &str, style: Style) -> f32 {
        pieces(self.fonts, text, style.bold)
            .iter()
            .map(|(slot, piece)| {
                let f = face(self.fonts, *slot).unwrap_or(&self.fonts.regular);
                let upem = f32::from(f.units_per_em.max(1));
                // Burmese: the advances of its shaped glyphs.
                if let Some(glyphs) = is_myanmar_slot(*slot)
                    .then(|| shape_myanmar(*slot == 3, piece))
                    .flatten()
                {
                    return glyphs.iter().map(|g| g.advance as f32).sum::<f32>() / upem;
                }
                piece
                    .chars()
                    .map(|c| {
                        let gid = f.lookup_glyph_index(c as u32).unwrap_or(0);
                        f32::from(f.get_glyph_width(gid).unwrap_or(f.units_per_em / 2))
                    })
                    .sum::<f32>()
                    / upem
            })
            .sum::<f32>()
            * style.size
    }

    /// Sets `text` at the pen in `size` and `color`, each piece in the face that has its
    /// characters; moves the pen along.
    fn show(&mut self, text: &str, bold: bool, size: f32, color: Color) {
        self.ops.push(Op::SetFillColor { col: color });
        for (slot, piece) in pieces(self.fonts, text, bold) {
            self.used[slot].extend(piece.chars());
            self.ops.push(Op::SetFont {
                font: PdfFontHandle::External(self.ids[slot].clone()),
                size: Pt(size),
            });
            let style = Style {
                bold,
                size,
                color: (0.0, 0.0, 0.0),
            };
            let advance = self.width(&piece, style);
            let shaped = is_myanmar_slot(slot)
                .then(|| shape_myanmar(slot == 3, &piece))
                .flatten();
            match (shaped, face(self.fonts, slot)) {
                (Some(glyphs), Some(font)) => {
                    let scale = size / f32::from(font.units_per_em.max(1));
                    self.show_glyphs(&piece, &glyphs, scale, advance);
                }
                _ => self.ops.push(Op::ShowText {
                    items: vec![TextItem::Text(piece)],
                }),
            }
            self.pen.0 += advance;
        }
    }

    /// Draws shaped glyphs one by one at their positions from the pen (`scale`: points
    /// per font unit), then puts the pen `advance` further. The text they stand for is
    /// the span's ActualText: copying and searching give it in logical order, whatever
    /// order the glyphs are drawn in.
    fn show_glyphs(&mut self, text: &str, glyphs: &[Shaped], scale: f32, advance: f32) {
        let (x0, y0) = self.pen;
        let mut actual = vec![0xFE, 0xFF];
        actual.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        self.ops.push(Op::BeginMarkedContentWithProperties {
            tag: "Span".into(),
            properties: printpdf::DictItem::Dict {
                map: [(
                    "ActualText".to_owned(),
                    printpdf::DictItem::String {
                        data: actual,
                        literal: false,
                    },
                )]
                .into_iter()
                .collect(),
            },
        });
        let at = |x: f32, y: f32| Op::SetTextMatrix {
            matrix: printpdf::TextMatrix::Raw([1.0, 0.0, 0.0, 1.0, x, y]),
        };
        let mut x = x0;
        for g in glyphs {
            self.ops
                .push(at(x + g.dx as f32 * scale, y0 + g.dy as f32 * scale));
            self.ops.push(Op::ShowText {
                items: vec![TextItem::GlyphIds(vec![printpdf::Codepoint {
                    gid: g.gid,
                    offset: 0.0,
                    cid: Some(g.text.clone()),
                }])],
            });
            x += g.advance as f32 * scale;
        }
        self.ops.push(Op::EndMarkedContent);
        // What follows starts where the shaped text ends.
        self.ops.push(at(x0 + advance, y0));
    }

    fn new_page(&mut self) {
        let ops = std::mem::take(&mut self.ops);
        self.pages.push(ops);
        self.y = PAGE_H - MARGIN;
    }

    fn space(&mut self, pt: f32) {
        self.y -= pt;
    }

    /// One line of runs at `indent`; a new page first when it does not fit.
    fn line(&mut self, runs: Vec<(Style, String)>, indent: f32) {
        let size = runs.iter().map(|(s, _)| s.size).fold(BODY.size, f32::max);
        if self.y - size * 1.3 < BOTTOM {
            self.new_page();
        }
        self.line_at(runs, indent);
    }

    /// One line of runs below the last one, wherever that is.
    fn line_at(&mut self, runs: Vec<(Style, String)>, indent: f32) {
        let size = runs.iter().map(|(s, _)| s.size).fold(0.0, f32::max);
        self.y -= size * 1.3;
        let (rtl, runs) = arrange(runs, self.rtl);
        let width: f32 = runs.iter().map(|(s, t)| self.width(t, *s)).sum();
        let x = start_x(rtl, width, indent);
        self.pen = (x, self.y);
        self.ops.push(Op::StartTextSection);
        self.ops.push(Op::SetTextCursor {
            pos: Point {
                x: Pt(x),
                y: Pt(self.y),
            },
        });
        for (style, text) in runs {
            let color = Color::Rgb(Rgb {
                r: style.color.0,
                g: style.color.1,
                b: style.color.2,
                icc_profile: None,
            });
            self.show(&text, style.bold, style.size, color);
        }
        self.ops.push(Op::EndTextSection);
    }

    /// Wraps `text` to `width` (the first line `first` wide), breaking at spaces, or
    /// inside a word longer than a line.
    fn wrap(&self, text: &str, style: Style, first: f32, width: f32) -> Vec<String> {
        let space = self.width(" ", style);
        let mut lines = Vec::new();
        let mut avail = first;
        for para in text.split('\n') {
            let mut cur = String::new();
            let mut cur_w = 0.0;
            for word in para.split(' ') {
                let w = self.width(word, style);
                let joined = if cur.is_empty() { w } else { cur_w + space + w };
                if joined <= avail {
                    if !cur.is_empty() {
                        cur.push(' ');
                    }
                    cur.push_str(word);
                    cur_w = joined;
                    continue;
                }
                if !cur.is_empty() {
                    lines.push(std::mem::take(&mut cur));
                    avail = width;
                }
                cur_w = 0.0;
                // The word alone: break it where it does not fit.
                for c in word.chars() {
                    let cw = self.width(c.encode_utf8(&mut [0; 4]), style);
                    if cur_w + cw > avail && !cur.is_empty() {
                        lines.push(std::mem::take(&mut cur));
                        avail = width;
                        cur_w = 0.0;
                    }
                    cur.push(c);
                    cur_w += cw;
                }
            }
            lines.push(cur);
            avail = width;
        }
        lines
    }

    /// The graphics state that fills at `percent` opacity (made once per value).
    fn alpha(&mut self, percent: u8) -> ExtendedGraphicsStateId {
        if let Some((_, id)) = self.alphas.iter().find(|(p, _)| *p == percent) {
            return id.clone();
        }
        // Named by its value: the same document gives the same file.
        let id = ExtendedGraphicsStateId(format!("GS{percent}"));
        self.alphas.push((percent, id.clone()));
        id
    }

    /// Draws a chart or map below the text so far, the text width wide (smaller when
    /// it would not fit on a page), on a new page when it does not fit on this one:
    /// rectangles, polygons, lines and circles (as Bézier curves) as PDF paths, its
    /// words as text in the report's font (extractable, Arabic shaped).
    fn figure(&mut self, scene: &Scene) {
        let (w, h) = (scene.width, scene.height);
        if !(w.is_finite() && h.is_finite() && w > 0.0 && h > 0.0) {
            return;
        }
        let room = f64::from(PAGE_H - MARGIN - BOTTOM);
        let s = (f64::from(TEXT_W) / w).min(room / h);
        let draw_h = (h * s) as f32;
        if self.y - draw_h < BOTTOM {
            self.new_page();
        }
        let left = f64::from(MARGIN) + (f64::from(TEXT_W) - w * s) / 2.0;
        let top = f64::from(self.y);
        let at = |x: f64, y: f64| Point {
            x: Pt((left + x * s) as f32),
            y: Pt((top - y * s) as f32),
        };
        let ok = |v: &[f64]| v.iter().all(|x| x.is_finite());
        // Marked as a figure: readers and tests find where each chart starts and ends.
        self.ops.push(Op::BeginMarkedContent {
            tag: "Figure".into(),
        });
        for item in &scene.items {
            match item {
                Item::Rect { x, y, w, h, fill } => {
                    if !ok(&[*x, *y, *w, *h]) || *w <= 0.0 || *h <= 0.0 {
                        continue;
                    }
                    let ll = at(*x, y + h);
                    self.ops.push(Op::SetFillColor { col: rgb(fill) });
                    self.ops.push(Op::DrawRectangle {
                        rectangle: printpdf::Rect {
                            x: ll.x,
                            y: ll.y,
                            width: Pt((w * s) as f32),
                            height: Pt((h * s) as f32),
                            mode: Some(PaintMode::Fill),
                            winding_order: None,
                        },
                    });
                }
                Item::Polygon {
                    rings,
                    fill,
                    stroke,
                    stroke_width,
                } => {
                    let rings: Vec<PolygonRing> = rings
                        .iter()
                        .map(|r| PolygonRing {
                            points: r
                                .iter()
                                .filter(|(x, y)| ok(&[*x, *y]))
                                .map(|(x, y)| LinePoint {
                                    p: at(*x, *y),
                                    bezier: false,
                                })
                                .collect(),
                        })
                        .filter(|r| r.points.len() >= 3)
                        .collect();
                    if rings.is_empty() {
                        continue;
                    }
                    let stroke = stroke
                        .as_ref()
                        .filter(|_| stroke_width.is_finite() && *stroke_width > 0.0);
                    self.ops.push(Op::SetFillColor { col: rgb(fill) });
                    if let Some(c) = stroke {
                        self.ops.push(Op::SetOutlineColor { col: rgb(c) });
                        self.ops.push(Op::SetOutlineThickness {
                            pt: Pt((stroke_width * s) as f32),
                        });
                    }
                    self.ops.push(Op::DrawPolygon {
                        polygon: Polygon {
                            rings,
                            mode: if stroke.is_some() {
                                PaintMode::FillStroke
                            } else {
                                PaintMode::Fill
                            },
                            winding_order: WindingOrder::EvenOdd,
                        },
                    });
                }
                Item::Line {
                    points,
                    stroke,
                    width,
                } => {
                    let points: Vec<LinePoint> = points
                        .iter()
                        .filter(|(x, y)| ok(&[*x, *y]))
                        .map(|(x, y)| LinePoint {
                            p: at(*x, *y),
                            bezier: false,
                        })
                        .collect();
                    if points.len() < 2 || !width.is_finite() || *width <= 0.0 {
                        continue;
                    }
                    self.ops.push(Op::SetOutlineColor { col: rgb(stroke) });
                    self.ops.push(Op::SetOutlineThickness {
                        pt: Pt((width * s) as f32),
                    });
                    self.ops.push(Op::DrawLine {
                        line: printpdf::Line {
                            points,
                            is_closed: false,
                        },
                    });
                }
                Item::Circle {
                    cx,
                    cy,
                    r,
                    fill,
                    opacity,
                } => {
                    if !ok(&[*cx, *cy, *r]) || *r <= 0.0 {
                        continue;
                    }
                    // Four cubic arcs (k: the handle length of a quarter circle).
                    let k = 0.552_284_8 * r;
                    let (x, y) = (*cx, *cy);
                    let p = |px: f64, py: f64, bezier: bool| LinePoint {
                        p: at(px, py),
                        bezier,
                    };
                    let points = vec![
                        p(x + r, y, false),
                        p(x + r, y + k, true),
                        p(x + k, y + r, true),
                        p(x, y + r, false),
                        p(x - k, y + r, true),
                        p(x - r, y + k, true),
                        p(x - r, y, false),
                        p(x - r, y - k, true),
                        p(x - k, y - r, true),
                        p(x, y - r, false),
                        p(x + k, y - r, true),
                        p(x + r, y - k, true),
                        p(x + r, y, false),
                    ];
                    // Translucent (the map's dots over its countries): a graphics state
                    // with that fill opacity, for this shape only.
                    let alpha = if opacity.is_finite() {
                        (opacity.clamp(0.0, 1.0) * 100.0).round() as u8
                    } else {
                        100
                    };
                    if alpha < 100 {
                        self.ops.push(Op::SaveGraphicsState);
                        let gs = self.alpha(alpha);
                        self.ops.push(Op::LoadGraphicsState { gs });
                    }
                    self.ops.push(Op::SetFillColor { col: rgb(fill) });
                    self.ops.push(Op::DrawPolygon {
                        polygon: Polygon {
                            rings: vec![PolygonRing { points }],
                            mode: PaintMode::Fill,
                            winding_order: WindingOrder::NonZero,
                        },
                    });
                    if alpha < 100 {
                        self.ops.push(Op::RestoreGraphicsState);
                    }
                }
                Item::Text {
                    x,
                    y,
                    text,
                    size,
                    anchor,
                    bold,
                    fill,
                    rtl: _,
                } => {
                    if !ok(&[*x, *y, *size]) || *size <= 0.0 {
                        continue;
                    }
                    let line = visual(&clean(self.fonts, &text.replace('\n', " ")), None);
                    if line.trim().is_empty() {
                        continue;
                    }
                    let style = Style {
                        bold: *bold,
                        size: (size * s) as f32,
                        color: (0.0, 0.0, 0.0),
                    };
                    let width = f64::from(self.width(&line, style));
                    let x = match anchor {
                        Anchor::Start => *x * s,
                        Anchor::Middle => *x * s - width / 2.0,
                        Anchor::End => *x * s - width,
                    };
                    self.pen = ((left + x) as f32, (top - y * s) as f32);
                    self.ops.push(Op::StartTextSection);
                    self.ops.push(Op::SetTextCursor {
                        pos: Point {
                            x: Pt(self.pen.0),
                            y: Pt(self.pen.1),
                        },
                    });
                    self.show(&line, *bold, style.size, rgb(fill));
                    self.ops.push(Op::EndTextSection);
                }
            }
        }
        self.ops.push(Op::EndMarkedContent);
        self.y -= draw_h + 8.0;
    }

    /// Draws a PNG image below the text so far, the text width wide (smaller when it
    /// would not fit on a page with its caption), its caption below it, both on a new
    /// page when they do not fit on this one.
    fn image(&mut self, png: &[u8], caption: &str) -> Result<()> {
        let bad = |e: String| Error::Invalid(format!("image \"{caption}\": {e}"));
        let (w, h, rgb) = decode_rgb(png).map_err(bad)?;
        let (w, h, mut rgb) = downscale(w, h, &rgb, IMAGE_MAX_PX);
        posterize(&mut rgb, IMAGE_LEVELS);
        let data = png_idat(w, h, &rgb).map_err(bad)?;
        let id = XObjectId(format!("Im{}", self.images.len() + 1));
        self.images.push((id.clone(), image_xobject(w, h, data)));

        let cap = CAPTION;
        let lines = if caption.trim().is_empty() {
            Vec::new()
        } else {
            self.wrap(caption, cap, TEXT_W, TEXT_W)
        };
        let cap_h = 4.0 + lines.len() as f32 * cap.size * 1.3;
        let room = PAGE_H - MARGIN - BOTTOM - cap_h;
        let s = (TEXT_W / w as f32).min(room / h as f32);
        let (dw, dh) = (w as f32 * s, h as f32 * s);
        if self.y - dh - cap_h < BOTTOM {
            self.new_page();
        }
        let x = MARGIN + (TEXT_W - dw) / 2.0;
        let y = self.y - dh;
        self.ops.push(Op::SaveGraphicsState);
        self.ops.push(Op::SetTransformationMatrix {
            matrix: CurTransMat::Raw([dw, 0.0, 0.0, dh, x, y]),
        });
        self.ops.push(Op::UseXobject {
            id,
            transform: XObjectTransform {
                no_auto_scale: true,
                ..Default::default()
            },
        });
        self.ops.push(Op::RestoreGraphicsState);
        // A thin frame: a screenshot's white edge does not melt into the page.
        self.ops.push(Op::SetOutlineColor {
            col: Color::Rgb(Rgb {
                r: 0.7,
                g: 0.7,
                b: 0.7,
                icc_profile: None,
            }),
        });
        self.ops.push(Op::SetOutlineThickness { pt: Pt(0.5) });
        self.ops.push(Op::DrawRectangle {
            rectangle: printpdf::Rect {
                x: Pt(x),
                y: Pt(y),
                width: Pt(dw),
                height: Pt(dh),
                mode: Some(PaintMode::Stroke),
                winding_order: None,
            },
        });
        self.y = y - 4.0;
        for l in lines {
            self.line_at(vec![(cap, l)], 0.0);
        }
        Ok(())
    }

    fn text(&mut self, text: &str, style: Style, indent: f32) {
        let w = TEXT_W - indent;
        for l in self.wrap(text, style, w, w) {
            self.line(vec![(style, l)], indent);
        }
    }
}

/// Lays the document out on A4 pages; returns the PDF bytes and the page count.
pub(crate) fn render(doc: &Doc, title: &str) -> Result<(Zeroizing<Vec<u8>>, usize)> {
    let footer =
        |page: usize, pages: usize| format!("{title} — confidential — page {page} of {pages}");
    render_with(doc, title, &footer, &[])
}

/// [`render`] with another footer line (given the page and the page count) and
/// keywords in the file's metadata.
pub(crate) fn render_with(
    doc: &Doc,
    title: &str,
    footer_text: &dyn Fn(usize, usize) -> String,
    keywords: &[String],
) -> Result<(Zeroizing<Vec<u8>>, usize)> {
    let fonts = fonts()?;
    let mut pdf = PdfDocument::new(title);
    let mut lay = Layout {
        fonts,
        // Named by slot, not at random: the same document gives the same file.
        ids: std::array::from_fn(|slot| FontId(format!("F{slot}"))),
        used: Default::default(),
        pages: Vec::new(),
        ops: Vec::new(),
        alphas: Vec::new(),
        images: Vec::new(),
        y: PAGE_H - MARGIN,
        pen: (0.0, 0.0),
        rtl: doc.rtl,
    };
    let heading = Style {
        bold: true,
        size: 13.0,
        color: (0.1, 0.2, 0.45),
    };
    let sub = Style {
        bold: true,
        size: 11.0,
        color: (0.0, 0.0, 0.0),
    };
    let alert = Style {
        bold: true,
        size: 10.0,
        color: (0.75, 0.0, 0.0),
    };
    let label = Style { bold: true, ..BODY };
    let mut first = true;
    for (index, b) in doc.blocks.iter().enumerate() {
        for i in doc.images_before(index) {
            lay.space(8.0);
            lay.image(&i.png, &clean(fonts, &i.caption))?;
            lay.space(4.0);
            first = false;
        }
        match b {
            Block::Title(s) => {
                if !first {
                    lay.new_page();
                }
                let st = Style {
                    bold: true,
                    size: 17.0,
                    color: (0.0, 0.0, 0.0),
                };
                lay.text(&clean(fonts, s), st, 0.0);
                lay.space(6.0);
            }
            Block::Heading(s) => {
                lay.space(10.0);
                lay.text(&clean(fonts, s), heading, 0.0);
                lay.space(3.0);
            }
            Block::Subheading(s) => {
                lay.space(6.0);
                lay.text(&clean(fonts, s), sub, 0.0);
            }
            Block::Para(s) => {
                lay.space(3.0);
                lay.text(&clean(fonts, s), BODY, 0.0);
            }
            Block::Alert(s) => {
                lay.space(2.0);
                lay.text(&clean(fonts, s), alert, 0.0);
            }
            Block::Figure(scene) => {
                lay.space(8.0);
                lay.figure(scene);
            }
            Block::Field(l, v) => {
                let l = format!("{}: ", clean(fonts, l));
                let lw = lay.width(&l, label);
                let v = clean(fonts, v);
                let indent = 12.0;
                let mut lines = lay.wrap(&v, BODY, TEXT_W - lw, TEXT_W - indent).into_iter();
                let first_line = lines.next().unwrap_or_default();
                lay.line(vec![(label, l), (BODY, first_line)], 0.0);
                for rest in lines {
                    lay.line(vec![(BODY, rest)], indent);
                }
            }
        }
        first = false;
    }
    for i in doc.images_before(doc.blocks.len()) {
        lay.space(8.0);
        lay.image(&i.png, &clean(fonts, &i.caption))?;
        lay.space(4.0);
    }
    lay.new_page();
    let n = lay.pages.len();
    let mut pages = Vec::with_capacity(n);
    let foot = Style {
        bold: false,
        size: 8.0,
        color: (0.4, 0.4, 0.4),
    };
    for (i, mut ops) in std::mem::take(&mut lay.pages).into_iter().enumerate() {
        // Below the text area: set straight, never a page break.
        lay.ops = Vec::new();
        lay.y = 40.0 + foot.size * 1.3;
        lay.line_at(vec![(foot, clean(fonts, &footer_text(i + 1, n)))], 0.0);
        ops.append(&mut lay.ops);
        pages.push(PdfPage::new(Mm(210.0), Mm(297.0), ops));
    }
    // Embed only the glyphs drawn (the whole font is ~700 KB), falling back to the whole
    // font if subsetting fails.
    for slot in 0..FACES {
        let (id, used) = (&lay.ids[slot], &lay.used[slot]);
        // A fallback face is embedded only when drawn with; DejaVu always is.
        let font = match face(fonts, slot) {
            Some(f) if slot < 2 || !used.is_empty() => f,
            _ => continue,
        };
        // Burmese is drawn by glyph id (shaped): printpdf subsets it by those ids.
        let parsed = if is_myanmar_slot(slot) {
            font.clone()
        } else {
            subset(font, used).unwrap_or_else(|| font.clone())
        };
        pdf.resources
            .fonts
            .map
            .insert(id.clone(), printpdf::PdfFont::new(parsed));
    }
    for (percent, id) in std::mem::take(&mut lay.alphas) {
        let gs =
            ExtendedGraphicsState::default().with_current_fill_alpha(f32::from(percent) / 100.0);
        pdf.resources.extgstates.map.insert(id, gs);
    }
    for (id, xobject) in std::mem::take(&mut lay.images) {
        pdf.resources
            .xobjects
            .map
            .insert(id, printpdf::XObject::External(xobject));
    }
    // The dates stay printpdf's default (1970): a date would make each file different.
    pdf.metadata.info.document_title = title.to_owned();
    pdf.metadata.info.producer = "Custos".into();
    pdf.metadata.info.creator = "Custos".into();
    pdf.metadata.info.keywords = keywords.to_vec();
    pdf.with_pages(pages);
    // What `PdfDocument::save` does, but with the file's ID (the trailer's `/ID`) made
    // from its content: printpdf takes it from a counter shared by the whole process,
    // so the same document rendered after another came out different.
    let opts = PdfSaveOptions::default();
    let mut lo = pdf.to_lopdf_document(&opts, &mut Vec::new());
    let id = lopdf::Object::String(document_id(&lo).to_vec(), lopdf::StringFormat::Hexadecimal);
    lo.trailer
        .set("ID", lopdf::Object::Array(vec![id.clone(), id]));
    if opts.optimize {
        lo.compress();
    }
    let mut bytes = Zeroizing::new(Vec::new());
    lo.save_to(&mut *bytes)
        .map_err(|e| Error::io("writing the PDF", e))?;
    Ok((bytes, n))
}

/// A digest of the document's streams and metadata (two FNV-1a hashes, 16 bytes): the
/// same content gives the same ID, other content another.
fn document_id(doc: &lopdf::Document) -> [u8; 16] {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x6c62_272e_07bb_0142;
    let mut eat = |bytes: &[u8]| {
        for &x in bytes {
            a = (a ^ u64::from(x)).wrapping_mul(0x0000_0100_0000_01b3);
            b = (b ^ u64::from(x))
                .wrapping_mul(0x0000_0100_0000_01b3)
                .rotate_left(5);
        }
    };
    for (id, object) in &doc.objects {
        eat(&id.0.to_be_bytes());
        match object {
            lopdf::Object::Stream(s) => eat(&s.content),
            other => eat(format!("{other:?}").as_bytes()),
        }
    }
    let mut out = [0; 16];
    out[..8].copy_from_slice(&a.to_be_bytes());
    out[8..].copy_from_slice(&b.to_be_bytes());
    out
}

/// The widest an image is embedded, in pixels: at the text width (17 cm) about 180 dots
/// per inch. The guide's screenshots (1024 to 1100 pixels) stay as they are: scaled to
/// 800 or 1000 pixels their text blurs and, full of new in-between shades, they
/// compress worse (1.5 and 2.1 MB for the 19 of them against 1.4 MB).
const IMAGE_MAX_PX: usize = 1200;

/// Shades per colour channel of an embedded image: 32 (of 256) is not seen on a
/// screenshot's flat colours and anti-aliased text, and makes the 19 of the guide 1.0 MB
/// instead of 1.4 MB (16 shades: 0.85 MB, with visible steps in the shading).
const IMAGE_LEVELS: u32 = 32;

/// Each channel rounded to the nearest of `levels` evenly spaced shades (black and
/// white stay black and white).
fn posterize(px: &mut [u8], levels: u32) {
    let top = levels.clamp(2, 256) - 1;
    for v in px {
        let q = (u32::from(*v) * top + 127) / 255;
        *v = ((q * 255 + top / 2) / top) as u8;
    }
}

/// A caption: small, grey.
const CAPTION: Style = Style {
    bold: false,
    size: 9.0,
    color: (0.3, 0.3, 0.3),
};

/// A PNG's pixels as 8-bit RGB (any bit depth, palette or grey expanded; transparency
/// laid over white): width, height, pixels.
fn decode_rgb(png: &[u8]) -> std::result::Result<(usize, usize, Vec<u8>), String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let size = reader
        .output_buffer_size()
        .ok_or("the image is too large")?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    let (w, h) = (info.width as usize, info.height as usize);
    if w == 0 || h == 0 {
        return Err("the image is empty".into());
    }
    let over_white = |v: u8, a: u8| {
        let (v, a) = (u32::from(v), u32::from(a));
        ((v * a + 255 * (255 - a) + 127) / 255) as u8
    };
    let mut rgb = Vec::with_capacity(w * h * 3);
    for row in buf.chunks(info.line_size).take(h) {
        let row = &row[..w * info.color_type.samples()];
        match info.color_type {
            png::ColorType::Rgb => rgb.extend_from_slice(row),
            png::ColorType::Rgba => {
                for p in row.chunks_exact(4) {
                    rgb.extend(p[..3].iter().map(|v| over_white(*v, p[3])));
                }
            }
            png::ColorType::Grayscale => {
                for v in row {
                    rgb.extend([*v; 3]);
                }
            }
            png::ColorType::GrayscaleAlpha => {
                for p in row.chunks_exact(2) {
                    rgb.extend([over_white(p[0], p[1]); 3]);
                }
            }
            other => return Err(format!("unexpected colour type {other:?}")),
        }
    }
    Ok((w, h, rgb))
}

/// RGB pixels scaled down to at most `max_w` wide (the aspect kept), each new pixel the
/// average of the area it covers (a box filter); narrower images are left as they are.
fn downscale(w: usize, h: usize, rgb: &[u8], max_w: usize) -> (usize, usize, Vec<u8>) {
    if w <= max_w {
        return (w, h, rgb.to_vec());
    }
    let nw = max_w;
    let nh = ((h * nw + w / 2) / w).max(1);
    // The source spans (index, weight) of each target pixel along one axis.
    let spans = |from: usize, to: usize| -> Vec<Vec<(usize, f32)>> {
        let step = from as f32 / to as f32;
        (0..to)
            .map(|i| {
                let (a, b) = (i as f32 * step, (i + 1) as f32 * step);
                let mut v = Vec::new();
                let mut k = a.floor() as usize;
                while (k as f32) < b && k < from {
                    let wgt = (b.min(k as f32 + 1.0) - a.max(k as f32)) / step;
                    if wgt > 0.0 {
                        v.push((k, wgt));
                    }
                    k += 1;
                }
                v
            })
            .collect()
    };
    let (xs, ys) = (spans(w, nw), spans(h, nh));
    // Across, then down.
    let mut across = vec![0f32; nw * h * 3];
    for y in 0..h {
        for (x, span) in xs.iter().enumerate() {
            for c in 0..3 {
                across[(y * nw + x) * 3 + c] = span
                    .iter()
                    .map(|(k, wgt)| f32::from(rgb[(y * w + k) * 3 + c]) * wgt)
                    .sum();
            }
        }
    }
    let mut out = vec![0u8; nw * nh * 3];
    for (y, span) in ys.iter().enumerate() {
        for x in 0..nw {
            for c in 0..3 {
                let v: f32 = span
                    .iter()
                    .map(|(k, wgt)| across[(k * nw + x) * 3 + c] * wgt)
                    .sum();
                out[(y * nw + x) * 3 + c] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    (nw, nh, out)
}

/// RGB pixels compressed as a PNG file compresses them (each row filtered, then
/// deflated): the data of its IDAT chunks, which a PDF reads with `/FlateDecode` and a
/// PNG predictor. Several times smaller than deflating the bare pixels.
fn png_idat(w: usize, h: usize, rgb: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut file = Vec::new();
    let mut enc = png::Encoder::new(&mut file, w as u32, h as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::High);
    let mut wr = enc.write_header().map_err(|e| e.to_string())?;
    wr.write_image_data(rgb).map_err(|e| e.to_string())?;
    wr.finish().map_err(|e| e.to_string())?;
    // After the signature: chunks of length, type, data, CRC.
    let mut idat = Vec::new();
    let mut at = 8;
    while at + 12 <= file.len() {
        let len = u32::from_be_bytes([file[at], file[at + 1], file[at + 2], file[at + 3]]) as usize;
        let end = (at + 8 + len).min(file.len());
        if &file[at + 4..at + 8] == b"IDAT" {
            idat.extend_from_slice(&file[at + 8..end]);
        }
        at += 12 + len;
    }
    Ok(idat)
}

/// An image XObject of RGB pixels compressed by [`png_idat`].
fn image_xobject(w: usize, h: usize, data: Vec<u8>) -> ExternalXObject {
    let name = |s: &str| DictItem::Name(s.as_bytes().to_vec());
    let int = |v: usize| DictItem::Int(v as i64);
    let params = [
        ("Predictor", int(15)),
        ("Colors", int(3)),
        ("BitsPerComponent", int(8)),
        ("Columns", int(w)),
    ];
    let dict = [
        ("Type", name("XObject")),
        ("Subtype", name("Image")),
        ("Width", int(w)),
        ("Height", int(h)),
        ("ColorSpace", name("DeviceRGB")),
        ("BitsPerComponent", int(8)),
        ("Filter", name("FlateDecode")),
        (
            "DecodeParms",
            DictItem::Dict {
                map: params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            },
        ),
    ];
    ExternalXObject {
        stream: ExternalStream {
            dict: dict.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            content: data,
            // Already deflated.
            compress: false,
        },
        width: None,
        height: None,
        dpi: None,
    }
}

/// The font reduced to the glyphs of `chars` (and .notdef), with a cmap for them.
fn subset(font: &ParsedFont, chars: &std::collections::BTreeSet<char>) -> Option<ParsedFont> {
    use allsorts::binary::read::ReadScope;
    use allsorts::font_data::FontData;
    use allsorts::subset::{CmapTarget, SubsetProfile};
    let mut gids: Vec<u16> = chars
        .iter()
        .filter_map(|c| font.lookup_glyph_index(*c as u32))
        .filter(|g| *g != 0)
        .collect();
    gids.sort_unstable();
    gids.dedup();
    gids.insert(0, 0);
    let data = ReadScope::new(&font.original_bytes)
        .read::<FontData<'_>>()
        .ok()?;
    let provider = data.table_provider(0).ok()?;
    let bytes =
        allsorts::subset::subset(&provider, &gids, &SubsetProfile::Pdf, CmapTarget::Unicode)
            .ok()?;
    let parsed = ParsedFont::from_bytes(&bytes, 0, &mut Vec::new())?;
    // Every character must still reach its glyph; otherwise embed the whole font.
    chars
        .iter()
        .filter(|c| font.lookup_glyph_index(**c as u32).is_some_and(|g| g != 0))
        .all(|c| parsed.lookup_glyph_index(*c as u32).is_some_and(|g| g != 0))
        .then_some(parsed)
}

/// Text the font can draw: tabs as spaces, other control characters dropped, letters
/// the font lacks as U+FFFD.
fn clean(fonts: &Fonts, s: &str) -> String {
    s.replace("\r\n", "\n")
        .chars()
        .filter_map(|c| match c {
            '\t' => Some(' '),
            '\n' => Some('\n'),
            c if c.is_control() => None,
            // Joiners steer the Arabic shaper (Persian's ZWNJ); they are not drawn.
            '\u{200C}' | '\u{200D}' => Some(c),
            c if fonts.regular.lookup_glyph_index(c as u32).is_some() || is_arabic(c) => Some(c),
            c if slot_of(fonts, c, false) > 1 => Some(c),
            _ => Some('\u{FFFD}'),
        })
        .collect()
}

/// A `#rrggbb` (or `#rgb`) colour; anything else black.
fn rgb(hex: &str) -> Color {
    let h = hex.trim_start_matches('#');
    let digits: Vec<f32> = match h.len() {
        6 => (0..3)
            .map(|i| {
                h.get(2 * i..2 * i + 2)
                    .and_then(|d| u8::from_str_radix(d, 16).ok())
                    .map_or(0.0, |v| f32::from(v) / 255.0)
            })
            .collect(),
        3 => h
            .chars()
            .map(|c| c.to_digit(16).map_or(0.0, |v| v as f32 / 15.0))
            .collect(),
        _ => vec![0.0; 3],
    };
    Color::Rgb(Rgb {
        r: digits[0],
        g: digits[1],
        b: digits[2],
        icc_profile: None,
    })
}

// ----- Arabic: joining forms and right-to-left order -----

fn is_arabic(c: char) -> bool {
    matches!(c as u32, 0x0600..=0x06FF)
}

/// The joiners (ZWNJ, ZWJ): they steer the shaper and are not drawn.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

/// Presentation forms (isolated, final, initial, medial) of the Arabic letters; `None`
/// for a form that does not exist (letters that join only to the right).
fn forms(c: char) -> Option<[u32; 4]> {
    // (letter, isolated form; the others follow in order), from Unicode's Arabic
    // Presentation Forms-B block.
    const TWO: &[(char, u32)] = &[
        ('\u{0622}', 0xFE81),
        ('\u{0623}', 0xFE83),
        ('\u{0624}', 0xFE85),
        ('\u{0625}', 0xFE87),
        ('\u{0627}', 0xFE8D),
        ('\u{062F}', 0xFEA9),
        ('\u{0630}', 0xFEAB),
        ('\u{0631}', 0xFEAD),
        ('\u{0632}', 0xFEAF),
        ('\u{0648}', 0xFEED),
        ('\u{0629}', 0xFE93),
        ('\u{0649}', 0xFEEF),
        // Persian: zhe (Presentation Forms-A).
        ('\u{0698}', 0xFB8A),
    ];
    const FOUR: &[(char, u32)] = &[
        ('\u{0626}', 0xFE89),
        ('\u{0628}', 0xFE8F),
        ('\u{062A}', 0xFE95),
        ('\u{062B}', 0xFE99),
        ('\u{062C}', 0xFE9D),
        ('\u{062D}', 0xFEA1),
        ('\u{062E}', 0xFEA5),
        ('\u{0633}', 0xFEB1),
        ('\u{0634}', 0xFEB5),
        ('\u{0635}', 0xFEB9),
        ('\u{0636}', 0xFEBD),
        ('\u{0637}', 0xFEC1),
        ('\u{0638}', 0xFEC5),
        ('\u{0639}', 0xFEC9),
        ('\u{063A}', 0xFECD),
        ('\u{0641}', 0xFED1),
        ('\u{0642}', 0xFED5),
        ('\u{0643}', 0xFED9),
        ('\u{0644}', 0xFEDD),
        ('\u{0645}', 0xFEE1),
        ('\u{0646}', 0xFEE5),
        ('\u{0647}', 0xFEE9),
        ('\u{064A}', 0xFEF1),
        // Persian: pe, tcheh, keheh (Persian kaf), gaf, Farsi yeh (Presentation
        // Forms-A).
        ('\u{067E}', 0xFB56),
        ('\u{0686}', 0xFB7A),
        ('\u{06A9}', 0xFB8E),
        ('\u{06AF}', 0xFB92),
        ('\u{06CC}', 0xFBFC),
    ];
    if let Some(&(_, b)) = FOUR.iter().find(|(l, _)| *l == c) {
        return Some([b, b + 1, b + 2, b + 3]);
    }
    TWO.iter()
        .find(|(l, _)| *l == c)
        .map(|&(_, b)| [b, b + 1, 0, 0])
}

fn joins_left(c: char) -> bool {
    forms(c).is_some_and(|f| f[2] != 0) || matches!(c, '\u{0640}' | '\u{200D}')
}

fn joins_right(c: char) -> bool {
    forms(c).is_some() || matches!(c, '\u{0640}' | '\u{200D}')
}

fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x064B..=0x065F | 0x0670)
}

/// Shapes a run of Arabic (logical order) into presentation forms, still in logical order.
fn shape(run: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(run.len());
    let letters: Vec<(usize, char)> = run
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, c)| !is_mark(*c))
        .collect();
    let prev_of = |k: usize| k.checked_sub(1).and_then(|j| letters.get(j)).map(|x| x.1);
    let next_of = |k: usize| letters.get(k + 1).map(|x| x.1);
    let mut k = 0;
    let mut i = 0;
    while i < run.len() {
        let c = run[i];
        if is_mark(c) {
            out.push(c);
            i += 1;
            continue;
        }
        let prev = prev_of(k).filter(|p| joins_left(*p));
        let next = next_of(k);
        // lam + alef: one ligature.
        if c == '\u{0644}' {
            let lig = match next {
                Some('\u{0622}') => Some(0xFEF5),
                Some('\u{0623}') => Some(0xFEF7),
                Some('\u{0625}') => Some(0xFEF9),
                Some('\u{0627}') => Some(0xFEFB),
                _ => None,
            };
            // Only when the alef follows directly (no mark between them).
            if let (Some(base), Some(n)) = (lig, run.get(i + 1)) {
                if !is_mark(*n) {
                    let cp = if prev.is_some() { base + 1 } else { base };
                    out.extend(char::from_u32(cp));
                    i += 2;
                    k += 2;
                    continue;
                }
            }
        }
        let next = next.filter(|n| joins_right(*n));
        match forms(c) {
            Some(f) => {
                let form = match (prev.is_some(), next.is_some() && f[2] != 0) {
                    (false, false) => f[0],
                    (true, false) => f[1],
                    (false, true) => f[2],
                    (true, true) => f[3],
                };
                out.extend(char::from_u32(form));
            }
            None => out.push(c),
        }
        i += 1;
        k += 1;
    }
    out
}

/// A line in visual (left-to-right drawing) order, a simplified Unicode bidi: the base
/// direction is that of the first letter; runs of Arabic (with the spaces and
/// punctuation between Arabic words) are shaped and drawn right to left, with mirrored
/// brackets; digits and Latin text stay left to right; in a right-to-left line the runs
/// are laid out from the right.
fn visual(line: &str, base: Option<bool>) -> String {
    // The base direction: the document's, or that of the line's first letter (a leading
    // number, "1. …", does not make an Arabic line left to right).
    let base_rtl = base.unwrap_or_else(|| is_rtl(line));
    if !line.chars().any(is_arabic) {
        return line.chars().filter(|c| !is_joiner(*c)).collect();
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Class {
        R,
        L,
        /// A digit: left to right within itself, but in a right-to-left context (after
        /// an Arabic letter, or first in a right-to-left line) it stands on its own, so
        /// "1. Custos …" in a Persian line puts the 1 at the right end, as Unicode's
        /// algorithm does.
        Digit,
        Neutral,
    }
    /// How a character is drawn: right to left, left to right, or a left-to-right
    /// number in a right-to-left context.
    #[derive(Clone, Copy, PartialEq)]
    enum Dir {
        R,
        L,
        Number,
    }
    let chars: Vec<char> = line.chars().collect();
    let class = |c: char| {
        // Latin, Arabic-Indic and Persian digits alike: numbers read left to right.
        if c.is_numeric() {
            Class::Digit
        } else if is_arabic(c) {
            Class::R
        } else if c.is_alphanumeric() {
            Class::L
        } else {
            Class::Neutral
        }
    };
    let classes: Vec<Class> = chars.iter().map(|c| class(*c)).collect();
    // Digits first, from the letter before them; then each neutral from the resolved
    // characters around it (a number counting as right to left there).
    let resolved: Vec<Option<Dir>> = (0..chars.len())
        .map(|i| match classes[i] {
            Class::R => Some(Dir::R),
            Class::L => Some(Dir::L),
            Class::Neutral => None,
            Class::Digit => {
                let letter = classes[..i]
                    .iter()
                    .rev()
                    .find(|c| matches!(c, Class::R | Class::L));
                Some(match letter {
                    Some(Class::L) => Dir::L,
                    Some(_) => Dir::Number,
                    None if base_rtl => Dir::Number,
                    None => Dir::L,
                })
            }
        })
        .collect();
    let rtl_side = |d: &Dir| matches!(d, Dir::R | Dir::Number);
    let dirs: Vec<Dir> = (0..chars.len())
        .map(|i| match resolved[i] {
            Some(d) => d,
            None => {
                let before = resolved[..i].iter().rev().flatten().next();
                let after = resolved[i + 1..].iter().flatten().next();
                if before == Some(&Dir::Number) && after == Some(&Dir::Number) {
                    // Between two numbers ("2024-05-02", "12.5, -3.2"): part of one
                    // number, in its order.
                    return Dir::Number;
                }
                match (before.map(rtl_side), after.map(rtl_side)) {
                    (Some(true), Some(true)) => Dir::R,
                    (Some(false), Some(false)) => Dir::L,
                    _ if base_rtl => Dir::R,
                    _ => Dir::L,
                }
            }
        })
        .collect();
    let mut runs: Vec<Vec<char>> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let mut j = i + 1;
        while j < chars.len() && dirs[j] == dirs[i] {
            j += 1;
        }
        let run = &chars[i..j];
        runs.push(match dirs[i] {
            Dir::R => shape(run).into_iter().rev().map(mirror).collect(),
            Dir::L | Dir::Number => run.to_vec(),
        });
        i = j;
    }
    if base_rtl {
        runs.reverse();
    }
    runs.into_iter()
        .flatten()
        .filter(|c| !is_joiner(*c))
        .collect()
}

/// Whether text reads right to left: its first letter (digits and punctuation do not
/// count) is Arabic.
fn is_rtl(text: &str) -> bool {
    text.chars()
        .find(|c| c.is_alphabetic())
        .is_some_and(is_arabic)
}

/// The runs of a line in drawing order, each in visual order, and whether the line
/// reads right to left: then its runs go from the right (an Arabic label is drawn
/// right of its value).
fn arrange(runs: Vec<(Style, String)>, base: Option<bool>) -> (bool, Vec<(Style, String)>) {
    let logical: String = runs.iter().map(|(_, t)| t.as_str()).collect();
    let rtl = base.unwrap_or_else(|| is_rtl(&logical));
    let mut out: Vec<(Style, String)> = runs
        .into_iter()
        .map(|(s, t)| (s, visual(&t, base)))
        .collect();
    if rtl {
        out.reverse();
    }
    (rtl, out)
}

/// Where a line of `width` starts: `indent` from the left margin, or, right to left,
/// ending `indent` from the right one (never left of the left margin).
fn start_x(rtl: bool, width: f32, indent: f32) -> f32 {
    if rtl {
        (MARGIN + TEXT_W - indent - width).max(MARGIN)
    } else {
        MARGIN + indent
    }
}

/// The mirrored form of a bracket drawn right to left.
fn mirror(c: char) -> char {
    match c {
        '(' => ')',
        ')' => '(',
        '[' => ']',
        ']' => '[',
        '{' => '}',
        '}' => '{',
        '<' => '>',
        '>' => '<',
        '«' => '»',
        '»' => '«',
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arabic_is_joined_and_reversed() {
        // "سلام": seen, lam + alef (ligature), meem.
        let v: Vec<u32> = visual("سلام", None).chars().map(|c| c as u32).collect();
        // Visual order: meem alone (alef does not join to the left), lam-alef joined to
        // seen, initial seen.
        assert_eq!(v, vec![0xFEE1, 0xFEFC, 0xFEB3]);
        assert_eq!(visual("plain text", None), "plain text");
        let mixed = visual("Name: نور", None);
        assert!(mixed.starts_with("Name: "));
        // Two Arabic words around punctuation stay one right-to-left run (the second
        // word drawn first); digits inside keep their order.
        let v = visual("Résumé: بب: تت 2024", None);
        assert!(v.starts_with("Résumé: "), "{v}");
        let arabic: String = v.chars().filter(|c| !c.is_ascii()).collect();
        let first_t = arabic
            .chars()
            .position(|c| c == '\u{FE97}' || c == '\u{FE98}' || c == '\u{FE96}' || c == '\u{FE95}');
        let first_b = arabic
            .chars()
            .position(|c| ('\u{FE8F}'..='\u{FE92}').contains(&c));
        assert!(first_t < first_b, "{v}");
        assert!(visual("في 2024 هنا", None).contains("2024"));
        // A right-to-left line draws its brackets mirrored.
        assert!(visual("نور (ضحية)", None).starts_with('('));
    }

    #[test]
    fn persian_letters_join_a_zwnj_breaks_the_join_and_persian_digits_keep_their_order() {
        // "پیک": initial pe, medial farsi yeh, final keheh; drawn reversed.
        let v: Vec<u32> = visual("پیک", None).chars().map(|c| c as u32).collect();
        assert_eq!(v, vec![0xFB8F, 0xFBFF, 0xFB58]);
        // "می\u{200C}شود": meem and yeh end at the ZWNJ (final yeh), shin starts anew.
        let v: Vec<u32> = visual("می\u{200C}شود", None)
            .chars()
            .map(|c| c as u32)
            .collect();
        assert!(v.contains(&0xFBFD), "{v:x?}");
        assert!(v.contains(&0xFEB7), "{v:x?}");
        // "گاژ": gaf joins to alef; zhe (right-joining only) after alef stands alone.
        let v: Vec<u32> = visual("گاژ", None).chars().map(|c| c as u32).collect();
        assert_eq!(v, vec![0xFB8A, 0xFE8E, 0xFB94]);
        // Persian digits read left to right inside a right-to-left line.
        assert!(visual("سال ۱۴۰۳", None).contains("۱۴۰۳"));
    }

    #[test]
    fn a_line_starting_with_a_number_takes_its_direction_from_its_first_letter() {
        // "1. المادة" (a numbered Arabic heading): right to left, the number at the
        // right end, that is drawn last.
        let v = visual("1. المادة 56", None);
        assert!(v.ends_with('1'), "{v}");
        assert!(!v.starts_with('1'), "{v}");
        assert!(v.contains("56"), "{v}");
        // A number then Latin: left to right as before.
        assert_eq!(visual("1. Victims", None), "1. Victims");
        // A numbered item of a right-to-left document whose first word is Latin: the
        // number stands at the right end, then the Latin word, then the rest.
        let v = visual("1. Custos را باز کنید", Some(true));
        assert!(v.ends_with('1'), "{v}");
        assert!(v.contains("Custos"), "{v}");
        let custos = v.find("Custos").unwrap();
        let one = v.rfind('1').unwrap();
        assert!(custos < one, "{v}");
        assert!(v[..custos].chars().any(is_arabic_form), "{v}");
        // Digits after a Latin word stay with it; after Arabic, they keep their order.
        assert!(visual("Custos 2 را", Some(true)).contains("Custos 2"));
        assert!(visual("سال 2024", None).contains("2024"));
        // A date or coordinates: one number with its separators, in their order.
        assert!(visual("تاریخ ۲۰۲۴-۰۵-۰۲", None).contains("۲۰۲۴-۰۵-۰۲"));
        assert!(visual("محل 12.5, -3.25", None).contains("12.5, -3.25"));
    }

    #[test]
    fn a_right_to_left_line_draws_its_runs_from_the_right_and_ends_at_the_margin() {
        let label = Style { bold: true, ..BODY };
        // An Arabic label with a Latin value: the label is at the right.
        let (rtl, runs) = arrange(
            vec![
                (label, "الاسم: ".to_owned()),
                (BODY, "Nour El Houda".to_owned()),
            ],
            None,
        );
        assert!(rtl);
        assert_eq!(runs[0].1, "Nour El Houda");
        assert!(
            runs[1].0.bold && runs[1].1.chars().any(is_arabic_form),
            "{runs:?}"
        );
        // A Latin label with an Arabic value: as before.
        let (rtl, runs) = arrange(
            vec![(label, "Name: ".to_owned()), (BODY, "نور".to_owned())],
            None,
        );
        assert!(!rtl);
        assert_eq!(runs[0].1, "Name: ");
        // In a right-to-left document, a line that starts with a Latin word is right to
        // left all the same, as on its HTML page: the Latin word at the right end.
        let (rtl, runs) = arrange(vec![(BODY, "Custos را باز کنید".to_owned())], Some(true));
        assert!(rtl);
        assert!(runs[0].1.ends_with("Custos"), "{runs:?}");
        // Where a line starts: at the left margin, or ending at the right one.
        assert_eq!(start_x(false, 100.0, 12.0), MARGIN + 12.0);
        assert_eq!(start_x(true, 100.0, 12.0), MARGIN + TEXT_W - 12.0 - 100.0);
        // Wider than the line (it never is, the text is wrapped): at the left margin.
        assert_eq!(start_x(true, TEXT_W + 10.0, 0.0), MARGIN);
    }

    #[test]
    fn burmese_is_shaped_its_vowel_drawn_before_its_consonant() {
        // "ကေ" (ka, then the vowel sign e, written after it): the sign is drawn first.
        let g = shape_myanmar(false, "\u{1000}\u{1031}").expect("shaped");
        assert_eq!(g.len(), 2, "{g:?}");
        assert_eq!(g[0].text, "\u{1031}", "{g:?}");
        assert_eq!(g[1].text, "\u{1000}", "{g:?}");
        // "မြန်မာ": medial ra around ma, asat; every glyph a real one.
        let g = shape_myanmar(true, "မြန်မာ").expect("shaped");
        assert!(!g.is_empty() && g.iter().all(|g| g.gid != 0), "{g:?}");
        // In the PDF: each glyph placed, the span's text as ActualText.
        let mut doc = Doc::default();
        doc.title("မြန်မာ ကေ");
        let (bytes, _) = render(&doc, "Test").unwrap();
        let pdf = lopdf::Document::load_mem(&bytes).unwrap();
        let page = *pdf.get_pages().values().next().unwrap();
        let content = lopdf::content::Content::decode(&pdf.get_page_content(page)).unwrap();
        let actual: Vec<String> = content
            .operations
            .iter()
            .filter(|o| o.operator == "BDC")
            .filter_map(|o| o.operands.get(1)?.as_dict().ok()?.get(b"ActualText").ok())
            .filter_map(|t| t.as_str().ok())
            .map(|b| {
                let units: Vec<u16> = b[2..]
                    .chunks(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
            })
            .collect();
        assert_eq!(actual, ["မြန်မာ", "ကေ"], "one span per Burmese word");
    }

    fn is_arabic_form(c: char) -> bool {
        matches!(c as u32, 0xFE70..=0xFEFF)
    }

    #[test]
    fn a_figure_is_drawn_as_paths_and_text_and_bad_items_are_skipped() {
        use custos_patterns::scene::{Anchor, Item};
        let text = |x: f64, t: &str, anchor| Item::Text {
            x,
            y: 20.0,
            text: t.into(),
            size: 10.0,
            anchor,
            bold: false,
            fill: "#222222".into(),
            rtl: false,
        };
        let scene = Scene {
            width: 400.0,
            height: 200.0,
            title: "t".into(),
            items: vec![
                Item::Rect {
                    x: 10.0,
                    y: 30.0,
                    w: 50.0,
                    h: 100.0,
                    fill: "#0072B2".into(),
                },
                Item::Rect {
                    x: f64::NAN,
                    y: 30.0,
                    w: 50.0,
                    h: 100.0,
                    fill: "#0072B2".into(),
                },
                Item::Circle {
                    cx: 200.0,
                    cy: 100.0,
                    r: 20.0,
                    fill: "#D55E00".into(),
                    opacity: 0.5,
                },
                Item::Polygon {
                    rings: vec![vec![(0.0, 0.0), (10.0, 0.0), (10.0, f64::INFINITY)]],
                    fill: "#000".into(),
                    stroke: None,
                    stroke_width: 1.0,
                },
                Item::Line {
                    points: vec![(0.0, 150.0), (400.0, 150.0)],
                    stroke: "#999".into(),
                    width: 0.5,
                },
                text(10.0, "Incidents over time", Anchor::Start),
                text(390.0, "fewer than 3", Anchor::End),
                text(f64::NAN, "Hidden", Anchor::Middle),
                text(200.0, "الحوادث", Anchor::Middle),
            ],
        };
        let mut doc = Doc::default();
        doc.title("Patterns");
        doc.figure(scene);
        let (bytes, pages) = render(&doc, "Test").unwrap();
        assert_eq!(pages, 1);
        let pdf = lopdf::Document::load_mem(&bytes).unwrap();
        let page = *pdf.get_pages().values().next().unwrap();
        let text = pdf.extract_text(&[1]).unwrap();
        assert!(
            text.contains("Incidents over time") && text.contains("fewer than 3"),
            "{text}"
        );
        assert!(!text.contains("Hidden"), "{text}");
        let ops: Vec<String> = lopdf::content::Content::decode(&pdf.get_page_content(page))
            .unwrap()
            .operations
            .into_iter()
            .map(|o| o.operator)
            .collect();
        // One rectangle (the NaN one skipped), the circle as four curves under a
        // graphics state, no polygon (two finite points are not a shape), one line.
        assert_eq!(ops.iter().filter(|o| *o == "re").count(), 1);
        assert_eq!(ops.iter().filter(|o| *o == "c").count(), 4);
        assert_eq!(ops.iter().filter(|o| *o == "gs").count(), 1);
        assert_eq!(ops.iter().filter(|o| *o == "S").count(), 1);
        assert_eq!(ops.iter().filter(|o| *o == "BMC").count(), 1);
        assert!(String::from_utf8_lossy(&bytes).contains("/ca 0.5"));
    }

    /// A PNG of `w`×`h` RGBA pixels: a gradient, half transparent at the left.
    fn test_png(w: u32, h: u32) -> Vec<u8> {
        let mut px = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let a = if x < w / 2 { 0 } else { 255 };
                px.extend([(x % 256) as u8, (y % 256) as u8, 40, a]);
            }
        }
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header().unwrap();
        wr.write_image_data(&px).unwrap();
        wr.finish().unwrap();
        out
    }

    #[test]
    fn an_image_is_embedded_once_scaled_to_the_text_width_with_its_caption_below() {
        let mut doc = Doc::default();
        doc.title("Guide");
        doc.para("Before.");
        doc.image(test_png(2400, 600), "A wide screenshot");
        doc.para("After.");
        doc.image(test_png(300, 200), "A small one");
        assert_eq!(
            doc.to_text(),
            "Guide\n=====\n\nBefore.\n\n[A wide screenshot]\n\nAfter.\n\n[A small one]\n\n"
        );
        let (bytes, pages) = render(&doc, "Test").unwrap();
        assert_eq!(pages, 1);
        let pdf = lopdf::Document::load_mem(&bytes).unwrap();
        let images: Vec<&lopdf::Stream> = pdf
            .objects
            .values()
            .filter_map(|o| o.as_stream().ok())
            .filter(|s| s.dict.get(b"Subtype").and_then(|v| v.as_name()).ok() == Some(b"Image"))
            .collect();
        assert_eq!(images.len(), 2);
        let int = |s: &lopdf::Stream, k: &[u8]| s.dict.get(k).unwrap().as_i64().unwrap();
        // The wide one scaled down to IMAGE_MAX_PX, its aspect kept; RGB, no alpha.
        let mut sizes: Vec<(i64, i64)> = images
            .iter()
            .map(|s| (int(s, b"Width"), int(s, b"Height")))
            .collect();
        sizes.sort();
        assert_eq!(sizes, [(300, 200), (IMAGE_MAX_PX as i64, 300)]);
        assert!(images.iter().all(|s| s.dict.get(b"SMask").is_err()));
        // Drawn the text width wide, the caption below it.
        let page = *pdf.get_pages().values().next().unwrap();
        let ops = lopdf::content::Content::decode(&pdf.get_page_content(page))
            .unwrap()
            .operations;
        let widths: Vec<f32> = ops
            .iter()
            .filter(|o| o.operator == "cm")
            .map(|o| o.operands[0].as_float().unwrap())
            .filter(|w| *w != 1.0)
            .collect();
        assert_eq!(widths.len(), 2, "{widths:?}");
        assert!(
            widths.iter().all(|w| (w - TEXT_W).abs() < 0.01),
            "{widths:?}"
        );
        let text = pdf.extract_text(&[1]).unwrap();
        let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} in {text}"));
        assert!(at("Before.") < at("A wide screenshot") && at("A wide screenshot") < at("After."));
        // Not a PNG: an error, not a panic.
        let mut bad = Doc::default();
        bad.image(b"GIF89a".to_vec(), "Broken");
        let err = render(&bad, "Test").unwrap_err().to_string();
        assert!(err.contains("Broken"), "{err}");
    }

    #[test]
    fn the_same_document_gives_the_same_bytes() {
        let make = || {
            let mut doc = Doc::default();
            doc.title("Guide — دليل");
            doc.para("Text.");
            doc.image(test_png(50, 40), "Cap");
            render(&doc, "Test").unwrap().0
        };
        let first = make();
        // Whatever was rendered in between (printpdf's ids come from a process-wide counter).
        let mut other = Doc::default();
        other.para("Other");
        render(&other, "Other").unwrap();
        assert!(first == make());
        assert!(first != render(&other, "Other").unwrap().0);
    }

    #[test]
    fn rendered_text_wraps_and_pages() {
        let mut doc = Doc::default();
        doc.title("Title");
        for i in 0..200 {
            doc.para(format!("Paragraph {i} with accents éàç ñ and a long tail of words to wrap around the line and onto the next one"));
        }
        let (bytes, pages) = render(&doc, "Test").unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(pages > 3, "{pages}");
    }
}
