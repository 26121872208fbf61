//! The charts drawn from hand-made figures, read back from their SVG (parsed with a real
//! XML parser) and their PNG (decoded).

use std::collections::HashMap;

use chrono::NaiveDate;
use custos_patterns::charts;
use custos_patterns::figures::{Bin, Coarse, Count, Mechanism, Timeline};
use custos_patterns::scene::Item;
use custos_patterns::{Figures, Labels, Period, Scene, Shown};
use quick_xml::events::Event;
use quick_xml::Reader;

/// One element of an SVG document: its name, attributes and text.
#[derive(Debug)]
struct El {
    name: String,
    attrs: HashMap<String, String>,
    text: String,
}

/// Parses an SVG document; panics if it is not well-formed XML.
fn parse(svg: &str) -> Vec<El> {
    let mut reader = Reader::from_str(svg);
    let mut out: Vec<El> = Vec::new();
    // The elements open, as indexes into `out` (text goes to the innermost).
    let mut open: Vec<usize> = Vec::new();
    loop {
        let ev = reader
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed: {e}\n{svg}"));
        match ev {
            Event::Start(e) => {
                out.push(element(&e));
                open.push(out.len() - 1);
            }
            Event::Empty(e) => out.push(element(&e)),
            Event::End(_) => {
                open.pop();
            }
            Event::Text(t) => {
                // Text (of a <tspan> too) belongs to every element open around it.
                let s = t.xml10_content().into_owned();
                for j in &open {
                    out[*j].text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                let c = match r.xml10_content().as_ref() {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    other => panic!("unknown entity {other}"),
                };
                for j in &open {
                    out[*j].text.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(open.is_empty(), "unclosed elements");
    out
}

fn element(e: &quick_xml::events::BytesStart<'_>) -> El {
    let attrs = e
        .attributes()
        .map(|a| {
            let a = a.expect("attribute");
            (
                String::from_utf8_lossy(a.key.as_ref().as_bytes()).into_owned(),
                a.normalized_value(quick_xml::XmlVersion::Explicit1_0)
                    .expect("value")
                    .into_owned(),
            )
        })
        .collect();
    El {
        name: String::from_utf8_lossy(e.name().as_ref().as_bytes()).into_owned(),
        attrs,
        text: String::new(),
    }
}

fn rects(els: &[El]) -> Vec<&El> {
    els.iter().filter(|e| e.name == "rect").collect()
}

fn texts(els: &[El]) -> Vec<String> {
    els.iter()
        .filter(|e| e.name == "text")
        .map(|e| e.text.clone())
        .collect()
}

fn f(e: &El, k: &str) -> f64 {
    e.attrs[k].parse().expect("number")
}

fn count(key: &str, n: u32) -> Count {
    Count {
        key: key.into(),
        count: Shown::Exact(n),
    }
}

fn withheld(key: &str) -> Count {
    Count {
        key: key.into(),
        count: Shown::FewerThan(3),
    }
}

fn date(y: i32, m: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, 1).expect("date")
}

fn en() -> Labels {
    Labels::of("en")
}

fn ar() -> Labels {
    Labels::of("ar")
}

/// Figures with something in every chart but the map.
fn sample() -> Figures {
    Figures {
        cases: Shown::Exact(4),
        incidents: Shown::Exact(12),
        victims: Shown::Exact(9),
        timeline: Timeline {
            period: Period::Month,
            bins: vec![
                Bin {
                    start: date(2023, 11),
                    by_act: vec![count("arbitrary_arrest", 3), count("threats", 1)],
                    total: Shown::Exact(4),
                },
                Bin {
                    start: date(2023, 12),
                    by_act: vec![],
                    total: Shown::Exact(0),
                },
                Bin {
                    start: date(2024, 1),
                    by_act: vec![count("threats", 2)],
                    total: Shown::Exact(2),
                },
                Bin {
                    start: date(2024, 2),
                    by_act: vec![
                        count("arbitrary_arrest", 1),
                        count("threats", 2),
                        count("killing", 3),
                    ],
                    total: Shown::Exact(5),
                },
            ],
            coarse: vec![Coarse {
                start: date(2022, 1),
                precision: "year".into(),
                count: Shown::Exact(2),
            }],
            undated: Shown::Exact(1),
        },
        act_types: vec![
            count("arbitrary_arrest", 4),
            count("threats", 5),
            count("killing", 3),
        ],
        victims_by_sex: vec![count("female", 5), count("male", 3), count("unknown", 1)],
        victims_by_occupation: vec![count("journalist", 6), count("lawyer", 3)],
        perpetrators_by_type: vec![count("police", 7)],
        interventions: vec![
            Mechanism {
                mechanism: "un_sr_hrd".into(),
                draft: Shown::Exact(1),
                awaiting: Shown::Exact(2),
                answered: Shown::Exact(0),
            },
            Mechanism {
                mechanism: "achpr".into(),
                draft: Shown::Exact(0),
                awaiting: Shown::Exact(0),
                answered: Shown::Exact(4),
            },
        ],
        ..Default::default()
    }
}

#[test]
fn a_bar_chart_is_well_formed_svg_with_one_bar_per_category_and_its_counts() {
    let scene = charts::bars(&sample(), "act_types", &en(), 515.0);
    let svg = scene.to_svg();
    let els = parse(&svg);
    assert_eq!(els[0].name, "svg");
    assert_eq!(
        els[0].attrs["viewBox"],
        format!("0 0 515 {}", els[0].attrs["height"])
    );
    assert_eq!(rects(&els).len(), 3, "{svg}");
    let title = en().text("title.act_types");
    let t = els.iter().find(|e| e.name == "title").expect("title");
    assert_eq!(t.text, title);
    let words = texts(&els);
    assert!(words.contains(&title), "{words:?}");
    for n in ["5", "4", "3"] {
        assert!(words.iter().any(|w| w == n), "{n} in {words:?}");
    }
    // Longest bar first, widths proportional to the counts.
    let r = rects(&els);
    let (w5, w4, w3) = (f(r[0], "width"), f(r[1], "width"), f(r[2], "width"));
    assert!(
        (w4 / w5 - 0.8).abs() < 0.01 && (w3 / w5 - 0.6).abs() < 0.01,
        "{w5} {w4} {w3}"
    );
    // Nothing outside the document: no link, no external font.
    assert!(!svg.contains("href") && !svg.contains("url(") && !svg.contains("@import"));
    assert_eq!(
        svg.matches("http").count(),
        1,
        "only the SVG namespace: {svg}"
    );
}

#[test]
fn published_figures_show_fewer_than_3_with_a_half_height_lighter_bar() {
    let mut fig = sample();
    fig.act_types = vec![count("threats", 6), withheld("killing")];
    fig.threshold = Some(3);
    let els = parse(&charts::bars(&fig, "act_types", &en(), 515.0).to_svg());
    let words = texts(&els);
    let fewer = en().count(Shown::FewerThan(3));
    assert!(fewer.contains('3'), "{fewer}");
    assert!(words.contains(&fewer), "{words:?}");
    let r = rects(&els);
    assert_eq!(r.len(), 2);
    // Drawn at half the threshold: 1.5 of 6.
    assert!((f(r[1], "width") / f(r[0], "width") - 0.25).abs() < 0.01);
    assert_ne!(r[0].attrs["fill"], r[1].attrs["fill"]);
}

#[test]
fn right_to_left_charts_are_mirrored() {
    let fig = sample();
    let ltr = parse(&charts::bars(&fig, "act_types", &en(), 515.0).to_svg());
    let rtl = parse(&charts::bars(&fig, "act_types", &ar(), 515.0).to_svg());
    let (l, r) = (rects(&ltr), rects(&rtl));
    assert_eq!(l.len(), r.len());
    for (a, b) in l.iter().zip(&r) {
        // Bars grow leftwards from the right: mirrored about the middle.
        let right_end = f(b, "x") + f(b, "width");
        assert!(
            (right_end - (515.0 - f(a, "x"))).abs() < 0.02,
            "{a:?} {b:?}"
        );
        assert!(f(b, "x") > 515.0 / 3.0 - 100.0);
    }
    // The right-to-left texts are marked so.
    assert!(rtl
        .iter()
        .any(|e| e.name == "text" && e.attrs.get("direction").map(String::as_str) == Some("rtl")));
    // Time runs from right to left: the first month's bar is the rightmost.
    let tl = parse(&charts::timeline(&fig, &ar(), 515.0).to_svg());
    let xs: Vec<f64> = rects(&tl).iter().map(|e| f(e, "x")).collect();
    assert!(xs.first() > xs.last(), "{xs:?}");
    let tl = parse(&charts::timeline(&fig, &en(), 515.0).to_svg());
    let xs: Vec<f64> = rects(&tl).iter().map(|e| f(e, "x")).collect();
    assert!(xs.first() < xs.last(), "{xs:?}");
}

#[test]
fn empty_figures_draw_no_data_and_all_leaves_them_out() {
    let empty = Figures::default();
    let no_data = en().text("no_data");
    let scenes = [
        charts::timeline(&empty, &en(), 515.0),
        charts::bars(&empty, "victims_by_sex", &en(), 515.0),
        charts::bars(&empty, "no_such_list", &en(), 515.0),
        charts::interventions(&empty, &ar(), 515.0),
    ];
    for s in &scenes {
        let els = parse(&s.to_svg());
        assert!(rects(&els).is_empty());
        let words = texts(&els);
        assert!(
            words.contains(&no_data) || words.contains(&ar().text("no_data")),
            "{words:?}"
        );
        assert!(s.height > 20.0 && s.height < 200.0);
        s.to_png(1.0).expect("png");
    }
    assert!(charts::all(&empty, &en(), 515.0).is_empty());
}

#[test]
fn all_draws_the_charts_with_data_in_order() {
    // No places: the map is not drawn.
    let keys: Vec<&str> = charts::all(&sample(), &en(), 900.0)
        .into_iter()
        .map(|(k, s)| {
            assert!((s.width - 900.0).abs() < f64::EPSILON);
            k
        })
        .collect();
    assert_eq!(
        keys,
        [
            "timeline",
            "act_types",
            "victims_by_sex",
            "victims_by_occupation",
            "perpetrators_by_type",
            "interventions"
        ]
    );
}

#[test]
fn all_puts_the_map_first_when_there_are_places() {
    let mut fig = sample();
    fig.places.countries = vec![count("SY", 4)];
    let all = charts::all(&fig, &en(), 515.0);
    assert_eq!(all[0].0, "map");
    assert_eq!(all[1].0, "timeline");
}

#[test]
fn ten_thousand_categories_a_huge_count_and_a_200_character_label_draw_sanely() {
    let mut fig = sample();
    let long: String = "ب<&\"']]>".repeat(25);
    assert_eq!(long.chars().count(), 200);
    fig.victims_by_occupation = (0..10_000)
        .map(|i| count(&format!("occupation {i}"), 10_000 - i))
        .collect();
    fig.victims_by_occupation[0] = count(&long, u32::MAX);
    let scene = charts::bars(&fig, "victims_by_occupation", &en(), 515.0);
    let els = parse(&scene.to_svg());
    let r = rects(&els);
    assert_eq!(r.len(), charts::MAX_BARS);
    for e in &r {
        let x = f(e, "x") + f(e, "width");
        assert!(x <= 515.0, "{e:?}");
    }
    let words = texts(&els);
    assert!(words.contains(&en().text("other")), "{words:?}");
    // The long label is cut on a character boundary, marked with "…", escaped.
    let cut = words
        .iter()
        .find(|w| w.starts_with("ب<&\"'"))
        .expect("the long label");
    assert!(cut.ends_with('…') && cut.chars().count() < 60, "{cut}");
    assert!(words.contains(&u32::MAX.to_string()), "{words:?}");
    // "other" sums the 9,989 after the first eleven exactly.
    let other: u64 = (11..10_000u64).map(|i| 10_000 - i).sum();
    assert!(words.contains(&other.to_string()), "{other} in {words:?}");
    assert!(scene.height < 400.0);
    scene.to_png(1.0).expect("png");
}

#[test]
fn text_with_markup_characters_is_escaped_and_reads_back_the_same() {
    let mut fig = sample();
    let nasty = "a<b & \"c\" 'd' ]]> e";
    fig.perpetrators_by_type = vec![count(nasty, 4)];
    let svg = charts::bars(&fig, "perpetrators_by_type", &en(), 900.0).to_svg();
    assert!(!svg.contains("]]>") && !svg.contains("a<b"));
    let words = texts(&parse(&svg));
    assert!(words.iter().any(|w| w == nasty), "{words:?}");
}

#[test]
fn non_finite_widths_draw_at_a_default_width() {
    for w in [f64::NAN, f64::INFINITY, -3.0, 0.0] {
        let s = charts::bars(&sample(), "act_types", &en(), w);
        assert!(s.width.is_finite() && s.width >= 200.0);
        let svg = s.to_svg();
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        parse(&svg);
    }
}

#[test]
fn the_timeline_draws_one_rectangle_per_non_empty_segment_with_months_years_and_notes() {
    let fig = sample();
    let scene = charts::timeline(&fig, &en(), 515.0);
    let els = parse(&scene.to_svg());
    let segments: usize = fig
        .timeline
        .bins
        .iter()
        .map(|b| {
            b.by_act
                .iter()
                .filter(|c| c.count != Shown::Exact(0))
                .count()
        })
        .sum();
    assert_eq!(segments, 6);
    assert_eq!(rects(&els).len(), segments);
    let words = texts(&els);
    let months: Vec<String> = en()
        .text("months")
        .split(',')
        .map(|m| m.trim().to_owned())
        .collect();
    for m in [10, 11, 0, 1] {
        assert!(words.contains(&months[m]), "{} in {words:?}", months[m]);
    }
    // The year under the first bin and under January.
    assert!(words.iter().any(|w| w == "2023") && words.iter().any(|w| w == "2024"));
    // A legend entry per act type; coarse and undated stated beneath.
    for k in ["arbitrary_arrest", "threats", "killing"] {
        let label = en().category("act_types", k);
        assert!(words.contains(&label), "{label} in {words:?}");
    }
    assert!(words
        .iter()
        .any(|w| w.starts_with(&en().text("coarse.year")) && w.contains("2022")));
    assert!(words.iter().any(|w| w.starts_with(&en().text("undated"))));
    // Dots for the legend, not rectangles.
    assert_eq!(els.iter().filter(|e| e.name == "circle").count(), 3);
    // Stacked: the November bar is 4 high in two segments, February's 6 in three.
    let heights: Vec<f64> = rects(&els).iter().map(|e| f(e, "height")).collect();
    let nov: f64 = heights[..2].iter().sum();
    let feb: f64 = heights[3..].iter().sum();
    assert!((feb / nov - 1.5).abs() < 0.01, "{heights:?}");
}

#[test]
fn more_act_types_than_colours_are_stacked_as_other() {
    let mut fig = sample();
    fig.timeline.bins[0].by_act = (0..20)
        .map(|i| count(&format!("act{i:02}"), 20 - i))
        .collect();
    let els = parse(&charts::timeline(&fig, &en(), 515.0).to_svg());
    // Bin one: six coloured and one "other"; the types of the other bins are not among
    // the six most frequent now: one "other" segment each.
    assert_eq!(rects(&els).len(), 7 + 1 + 1);
    assert!(texts(&els).contains(&en().text("other")));
}

#[test]
fn weekly_timelines_label_their_weeks() {
    let mut fig = sample();
    fig.timeline.period = Period::Week;
    fig.timeline.bins = (0..3)
        .map(|i| Bin {
            start: NaiveDate::from_ymd_opt(2024, 1, 1 + 7 * i).expect("monday"),
            by_act: vec![count("threats", 1)],
            total: Shown::Exact(1),
        })
        .collect();
    let words = texts(&parse(&charts::timeline(&fig, &en(), 900.0).to_svg()));
    let week1 = en()
        .text("week")
        .replace("{n}", "1")
        .replace("{year}", "2024");
    assert!(words.contains(&week1), "{week1} in {words:?}");
}

#[test]
fn interventions_are_stacked_by_status_with_a_legend() {
    let fig = sample();
    let els = parse(&charts::interventions(&fig, &en(), 515.0).to_svg());
    // un_sr_hrd: draft and awaiting; achpr: answered.
    assert_eq!(rects(&els).len(), 3);
    let words = texts(&els);
    for k in ["status.draft", "status.awaiting", "status.answered"] {
        assert!(words.contains(&en().text(k)), "{k} in {words:?}");
    }
    assert!(words.contains(&en().category("mechanisms", "achpr")));
}

/// The PNG's size and its pixels.
fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    assert_eq!(info.color_type, png::ColorType::Rgba);
    (info.width, info.height, buf)
}

fn pixel(img: &(u32, u32, Vec<u8>), x: f64, y: f64, scale: f64) -> [u8; 3] {
    let (px, py) = ((x * scale) as u32, (y * scale) as u32);
    let i = ((py * img.0 + px) * 4) as usize;
    [img.2[i], img.2[i + 1], img.2[i + 2]]
}

#[test]
fn png_decodes_at_the_stated_size_with_colour_where_the_bars_are() {
    for labels in [en(), ar()] {
        let scene: Scene = charts::bars(&sample(), "victims_by_sex", &labels, 515.0);
        let img = decode(&scene.to_png(2.0).expect("png"));
        assert_eq!(img.0, 1030);
        assert_eq!(img.1, (scene.height * 2.0).ceil() as u32);
        let mut bars = 0;
        for item in &scene.items {
            if let Item::Rect { x, y, w, h, .. } = item {
                let p = pixel(&img, x + w / 2.0, y + h / 2.0, 2.0);
                assert_ne!(p, [255, 255, 255], "bar at {x},{y}");
                bars += 1;
            }
        }
        assert_eq!(bars, 3);
        // White where nothing is drawn (the bottom-right corner).
        assert_eq!(pixel(&img, 514.0, scene.height - 1.0, 2.0), [255, 255, 255]);
        // The labels print: dark pixels in the label column.
        let label_side = if labels.rtl { 515.0 * 2.0 / 3.0 } else { 0.0 };
        let dark = (0..(515.0 / 3.0) as u32)
            .flat_map(|dx| (30..(scene.height as u32)).map(move |y| (dx, y)))
            .filter(|(dx, y)| {
                let p = pixel(&img, label_side + f64::from(*dx), f64::from(*y), 2.0);
                p.iter().all(|c| *c < 100)
            })
            .count();
        assert!(dark > 20, "{}: {dark}", labels.lang);
    }
}

#[test]
fn a_long_mechanism_name_takes_two_lines_instead_of_being_cut() {
    let mut fig = sample();
    fig.interventions = vec![custos_patterns::figures::Mechanism {
        mechanism: "omct_fidh_observatory".into(),
        draft: Shown::Exact(0),
        awaiting: Shown::Exact(4),
        answered: Shown::Exact(2),
    }];
    let scene = charts::interventions(&fig, &en(), 640.0);
    let words = texts(&parse(&scene.to_svg()));
    assert!(
        words.contains(&"Observatory for the Protection of".to_owned())
            && words.contains(&"Human Rights Defenders (OMCT–FIDH)".to_owned()),
        "{words:?}"
    );
    assert!(!words.iter().any(|w| w.ends_with('…')), "{words:?}");
    scene.to_png(1.0).expect("png");
}

#[test]
fn a_bar_stacked_higher_than_its_incidents_is_explained_under_the_timeline() {
    let note = en().text("several_acts");
    let mut fig = sample();
    // February 2024: 1 + 2 + 3 act types for 5 incidents.
    let words = texts(&parse(&charts::timeline(&fig, &en(), 640.0).to_svg()));
    assert!(words.contains(&note), "{words:?}");
    // One act type per incident everywhere: no such line.
    fig.timeline.bins[3].total = Shown::Exact(6);
    let words = texts(&parse(&charts::timeline(&fig, &en(), 640.0).to_svg()));
    assert!(!words.contains(&note), "{words:?}");
    // Withheld parts that may add up to the total: no claim either.
    fig.timeline.bins[3].by_act = vec![withheld("killing"), withheld("threats")];
    fig.timeline.bins[3].total = Shown::Between(3, 4);
    let words = texts(&parse(&charts::timeline(&fig, &en(), 640.0).to_svg()));
    assert!(!words.contains(&note), "{words:?}");
}

// ----- every script: Latin, Cyrillic, Arabic, Persian, Burmese, Chinese -----

/// The sample with something in every chart and on the map, weekly or monthly, with a
/// withheld count, a range and a date known to the month only.
fn sample_everywhere(period: Period) -> Figures {
    let mut fig = sample();
    fig.places.countries = ["MM", "CN", "IR", "UA", "BR", "TR", "RU", "SY"]
        .iter()
        .enumerate()
        .map(|(i, iso)| count(iso, 2 + i as u32))
        .collect();
    fig.victims_by_occupation.push(withheld("teacher"));
    fig.act_types.push(Count {
        key: "torture".into(),
        count: Shown::Between(3, 4),
    });
    fig.timeline.coarse.push(Coarse {
        start: date(2023, 6),
        precision: "month".into(),
        count: Shown::FewerThan(3),
    });
    if period == Period::Week {
        fig.timeline.period = Period::Week;
        for (i, bin) in fig.timeline.bins.iter_mut().enumerate() {
            bin.start = NaiveDate::from_ymd_opt(2024, 1, 1 + 7 * i as u32).expect("monday");
        }
    }
    fig
}

/// Every chart and the map of a language at the given widths, and the timeline by week.
fn every_scene(labels: &Labels, widths: &[f64]) -> Vec<(String, Scene)> {
    let mut out = Vec::new();
    for &width in widths {
        for (key, scene) in charts::all(&sample_everywhere(Period::Month), labels, width) {
            out.push((format!("{} {key} Month {width}", labels.lang), scene));
        }
        let weekly = charts::timeline(&sample_everywhere(Period::Week), labels, width);
        out.push((format!("{} timeline Week {width}", labels.lang), weekly));
    }
    out
}

/// Dark pixels of a PNG image, by column: (leftmost, rightmost, how many pixels).
fn ink(png: &[u8]) -> Option<(u32, u32, usize)> {
    let (w, h, buf) = decode(png);
    let mut cols = Vec::new();
    let mut n = 0;
    for x in 0..w {
        let dark = (0..h)
            .filter(|y| {
                let i = ((y * w + x) * 4) as usize;
                buf[i] < 128 && buf[i + 1] < 128 && buf[i + 2] < 128
            })
            .count();
        if dark > 0 {
            cols.push(x);
            n += dark;
        }
    }
    Some((*cols.first()?, *cols.last()?, n))
}

/// A scene of one text item alone, drawn from x = 10 at the size and weight it had.
fn alone(item: &Item, width: f64) -> Option<Scene> {
    let Item::Text {
        text, size, bold, ..
    } = item
    else {
        return None;
    };
    Some(Scene {
        width,
        height: size * 2.5,
        title: String::new(),
        items: vec![Item::Text {
            x: 10.0,
            y: size * 1.6,
            text: text.clone(),
            size: *size,
            anchor: custos_patterns::scene::Anchor::Start,
            bold: *bold,
            fill: "#000000".into(),
            rtl: false,
        }],
    })
}

#[test]
fn every_chart_and_the_map_draw_every_language_without_empty_boxes() {
    assert_eq!(custos_model::languages::codes().count(), 11);
    for lang in custos_model::languages::codes() {
        let labels = Labels::of(lang);
        assert_eq!(labels.lang, lang);
        // At the A4 width (a wider chart cuts fewer labels: the same characters).
        let scenes = every_scene(&labels, &[515.0]);
        // The map and the six charts, and the weekly timeline.
        assert_eq!(scenes.len(), 7 + 1, "{lang}");
        for (name, scene) in &scenes {
            // No glyph missing from the fonts the PNG is drawn with (read from the very
            // drawing `to_png` renders).
            assert_eq!(scene.tofu(), Vec::<String>::new(), "{name}");
            // Not a text in the replacement character either (a broken locale file).
            for item in &scene.items {
                if let Item::Text { text, .. } = item {
                    assert!(!text.contains('\u{FFFD}'), "{name}: {text}");
                }
            }
            // Drawn: the timeline (most kinds of text), and the map in the scripts with
            // fonts of their own and in Persian (slow to draw unoptimised).
            let map = name.contains(" map ");
            if name.contains(" timeline ") || (map && ["fa", "my", "zh-Hans"].contains(&lang)) {
                let png = scene.to_png(1.0).expect("png");
                assert!(ink(&png).is_some(), "{name}");
            }
        }
        // Each chart's title, drawn alone, leaves ink: it is drawn, not dropped.
        for (name, scene) in scenes.iter().filter(|(n, _)| n.ends_with("Month 515")) {
            let title = scene
                .items
                .iter()
                .find(|i| matches!(i, Item::Text { bold: true, .. }))
                .expect("a title");
            let (left, right, n) =
                ink(&alone(title, 600.0).expect("text").to_png(1.0).expect("png"))
                    .unwrap_or_else(|| panic!("{name}: no ink"));
            assert!(n > 40 && right > left + 20, "{name}: {left}–{right}, {n}");
        }
    }
}

#[test]
fn burmese_labels_are_drawn_shaped_and_as_wide_as_laid_out() {
    let my = Labels::of("my");
    for (name, scene) in every_scene(&my, &[900.0])
        .iter()
        .filter(|(n, _)| n.ends_with("Month 900"))
    {
        for item in &scene.items {
            let Item::Text {
                text, size, bold, ..
            } = item
            else {
                continue;
            };
            if !text.chars().any(|c| ('\u{1000}'..='\u{109F}').contains(&c)) {
                continue;
            }
            let scene = alone(item, 1200.0).expect("text");
            assert!(scene.tofu().is_empty(), "{name}: {text}");
            let (left, right, n) = ink(&scene.to_png(1.0).expect("png"))
                .unwrap_or_else(|| panic!("{name}: {text}: no ink"));
            assert!(n > 3, "{name}: {text}");
            // The layout's estimate holds the drawn text, and is not far too wide (bold
            // text is laid out 5% wider, as the charts' titles are).
            let drawn = f64::from(right - left + 1);
            let bold = if *bold { 1.05 } else { 1.0 };
            let estimated = custos_patterns::scene::text_width(text, *size * bold);
            assert!(
                drawn <= estimated + 2.0 && (drawn >= estimated * 0.6 || text.chars().count() < 6),
                "{name}: {text}: drawn {drawn}, estimated {estimated}"
            );
        }
    }
}

#[test]
fn a_long_chinese_label_wraps_into_two_lines_within_the_chart() {
    let long: String =
        "联合国人权事务高级专员办事处关于任意拘留问题工作组和强迫或非自愿失踪问题工作组的紧急呼吁"
            .chars()
            .take(40)
            .collect();
    assert_eq!(long.chars().count(), 40);
    let zh = Labels::of("zh-Hans");
    let mut fig = sample();
    fig.interventions = vec![Mechanism {
        mechanism: long.clone(),
        draft: Shown::Exact(1),
        awaiting: Shown::Exact(2),
        answered: Shown::Exact(0),
    }];
    for width in [515.0, 900.0] {
        let scene = charts::interventions(&fig, &zh, width);
        let lines: Vec<(String, f64, f64)> = scene
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Text { text, x, size, .. }
                    if text.chars().count() > 2 && long.contains(text.trim_end_matches('…')) =>
                {
                    Some((text.clone(), *x, *size))
                }
                _ => None,
            })
            .collect();
        assert_eq!(lines.len(), 2, "{width}: {lines:?}");
        let (first, second) = (&lines[0].0, &lines[1].0);
        // Broken between two characters: the first line and the second read on.
        assert!(long.starts_with(first.as_str()), "{first}");
        let rest = &long[first.len()..];
        let second_text = second.trim_end_matches('…');
        assert!(rest.starts_with(second_text), "{second}");
        if width >= 900.0 {
            // Room for all forty on two lines: nothing cut.
            assert_eq!(format!("{first}{second}"), long);
        } else {
            assert!(second.ends_with('…'), "{second}");
        }
        // Each line, as drawn, ends at the bars and starts inside the chart.
        let label_w = (width * 0.32).min(200.0);
        for (text, x, _) in &lines {
            let item = scene
                .items
                .iter()
                .find(|i| matches!(i, Item::Text { text: t, .. } if t == text))
                .expect("line");
            let (left, right, _) =
                ink(&alone(item, width).expect("text").to_png(1.0).expect("png")).expect("ink");
            let drawn = f64::from(right - left + 1);
            assert!(drawn <= label_w, "{width}: {text}: {drawn} > {label_w}");
            assert!(
                *x - drawn >= 0.0,
                "{width}: {text} starts left of the chart"
            );
        }
    }
    // The whole chart draws without an empty box.
    assert!(charts::interventions(&fig, &zh, 515.0).tofu().is_empty());
}

fn all_texts(scenes: &[(String, Scene)]) -> Vec<(String, String)> {
    scenes
        .iter()
        .flat_map(|(name, s)| {
            s.items.iter().filter_map(move |i| match i {
                Item::Text { text, .. } => Some((name.clone(), text.clone())),
                _ => None,
            })
        })
        .collect()
}

#[test]
fn persian_and_burmese_charts_write_their_own_digits_arabic_ascii_ones() {
    for (lang, zero) in [("fa", '۰'), ("my", '၀')] {
        let labels = Labels::of(lang);
        let texts = all_texts(&every_scene(&labels, &[515.0, 900.0]));
        let own = |c: char| (zero..=char::from_u32(u32::from(zero) + 9).unwrap()).contains(&c);
        // Counts, ticks, "fewer than", ranges, week numbers, years: none in ASCII digits.
        for (name, text) in &texts {
            assert!(!text.chars().any(|c| c.is_ascii_digit()), "{name}: {text}");
        }
        let with = |s: &str| texts.iter().any(|(_, t)| t.contains(s));
        let n = |s: &str| labels.digits(s);
        assert!(
            texts.iter().filter(|(_, t)| t.chars().any(own)).count() > 20,
            "{lang}"
        );
        // The years under the months and in the weekly labels.
        assert!(with(&n("2024")) && with(&n("2023")), "{lang}");
        assert!(with(&labels.count(Shown::FewerThan(3))), "{lang}");
        assert!(with(&labels.count(Shown::Between(3, 4))), "{lang}");
    }
    assert_eq!(Labels::of("fa").number(1403_u32), "۱۴۰۳");
    assert_eq!(Labels::of("fa").count(Shown::FewerThan(3)), "کمتر از ۳");
    assert_eq!(Labels::of("my").number(-25_i32), "-၂၅");
    // Arabic: the digits Intl.NumberFormat('ar') writes (ASCII, CLDR 42 on).
    assert_eq!(Labels::of("ar").number(1234_u64), "1234");
    for lang in ["en", "fr", "es", "ar", "ru", "uk", "tr", "zh-Hans", "pt"] {
        assert_eq!(Labels::of(lang).number(2024_i32), "2024", "{lang}");
    }
}

#[test]
fn persian_charts_are_mirrored_like_arabic_ones() {
    let fa = Labels::of("fa");
    assert!(fa.rtl);
    let fig = sample();
    let ar_els = parse(&charts::bars(&fig, "act_types", &ar(), 515.0).to_svg());
    let fa_els = parse(&charts::bars(&fig, "act_types", &fa, 515.0).to_svg());
    let xs = |els: &[El]| -> Vec<f64> { rects(els).iter().map(|e| f(e, "x")).collect() };
    assert_eq!(xs(&ar_els), xs(&fa_els));
    assert!(fa_els.iter().filter(|e| e.name == "text").all(|e| e
        .attrs
        .get("direction")
        .map(String::as_str)
        == Some("rtl")));
    let tl = parse(&charts::timeline(&fig, &fa, 515.0).to_svg());
    let xs: Vec<f64> = rects(&tl).iter().map(|e| f(e, "x")).collect();
    assert!(xs.first() > xs.last(), "{xs:?}");
}
