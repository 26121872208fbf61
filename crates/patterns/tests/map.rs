//! The map: the shipped boundary data, region matching, country names, and the drawing
//! of figures built by hand (the drawing goes through `Labels`, so these read the words
//! from the locales).

use std::time::Instant;

use custos_patterns::figures::{Count, Places, Point, Region};
use custos_patterns::map::{self, CIRCLE_FILL, NO_DATA_FILL, SHADES};
use custos_patterns::scene::Item;
use custos_patterns::{Figures, Labels, Scene, Shown};

fn figures(
    countries: &[(&str, Shown)],
    regions: &[(&str, &str, Shown)],
    points: &[(f64, f64, Shown)],
) -> Figures {
    let regions: Vec<Region> = regions
        .iter()
        .map(|(c, r, n)| Region {
            country: c.to_string(),
            region: r.to_string(),
            count: *n,
        })
        .collect();
    Figures {
        incidents: Shown::Exact(100),
        places: Places {
            countries: countries
                .iter()
                .map(|(k, c)| Count {
                    key: k.to_string(),
                    count: *c,
                })
                .collect(),
            regions: regions.clone(),
            points: points
                .iter()
                .map(|&(lat, lon, count)| Point { lat, lon, count })
                .collect(),
            // The regions given here are of incidents without coordinates.
            regions_without_points: regions.clone(),
        },
        ..Figures::default()
    }
}

fn texts(scene: &Scene) -> Vec<(String, bool)> {
    scene
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Text { text, rtl, .. } => Some((text.clone(), *rtl)),
            _ => None,
        })
        .collect()
}

fn has_text(scene: &Scene, wanted: &str) -> bool {
    texts(scene).iter().any(|(t, _)| t.contains(wanted))
}

fn inside(b: (f64, f64, f64, f64), lat: f64, lon: f64) -> bool {
    let (w, s, e, n) = b;
    lon >= w - 0.05 && lon <= e + 0.05 && lat >= s - 0.05 && lat <= n + 0.05
}

/// Circles on the map (not the legend's).
fn map_circles(scene: &Scene, proj: &map::Projection) -> Vec<(f64, f64, f64)> {
    let bottom = proj.area.1 + proj.area.3;
    scene
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Circle {
                cx, cy, r, fill, ..
            } if *cy <= bottom && fill == CIRCLE_FILL => Some((*cx, *cy, *r)),
            _ => None,
        })
        .collect()
}

fn every_number_finite(scene: &Scene) -> bool {
    let ok = |v: f64| v.is_finite();
    scene.items.iter().all(|i| match i {
        Item::Rect { x, y, w, h, .. } => ok(*x) && ok(*y) && ok(*w) && ok(*h),
        Item::Polygon { rings, .. } => rings.iter().flatten().all(|p| ok(p.0) && ok(p.1)),
        Item::Line { points, .. } => points.iter().all(|p| ok(p.0) && ok(p.1)),
        Item::Circle { cx, cy, r, .. } => ok(*cx) && ok(*cy) && ok(*r),
        Item::Text { x, y, .. } => ok(*x) && ok(*y),
    }) && ok(scene.width)
        && ok(scene.height)
}

const LISTED: &[&str] = &[
    "FR", "NO", "IR", "SY", "MM", "CN", "RU", "UA", "TR", "BR", "MX", "CO", "NI", "VE", "ZW", "CM",
    "SD", "EG", "ET", "KE", "UG", "NG", "PH", "AF", "PK", "BD", "VN", "BY", "AZ", "SA", "IQ", "YE",
    "LB", "PS", "GT", "HN", "CU", "KH", "TH", "ID", "IN", "US", "GB", "DE",
];

#[test]
fn every_listed_country_has_a_shape_and_names() {
    for iso in LISTED {
        let b = map::country_bounds(iso).unwrap_or_else(|| panic!("{iso} has no shape"));
        assert!(b.0 < b.2 && b.1 < b.3, "{iso}: {b:?}");
        for lang in custos_model::languages::codes() {
            let name = map::country_name(iso, lang).unwrap_or_else(|| panic!("{iso} {lang}"));
            assert!(!name.is_empty());
        }
    }
    // France and Norway have no ISO_A2 in Natural Earth 4.0: their shapes must still be
    // where they are.
    assert!(inside(map::country_bounds("fr").expect("FR"), 48.85, 2.35));
    assert!(inside(map::country_bounds("NO").expect("NO"), 59.91, 10.75));
    assert!(map::country_bounds("XX").is_none());
    assert!(map::country_bounds("").is_none());
}

#[test]
fn country_names_come_in_the_ui_languages() {
    assert_eq!(map::country_name("IR", "en"), Some("Iran"));
    assert_eq!(map::country_name("ir", "ar"), Some("إيران"));
    assert_eq!(map::country_name("DE", "fr"), Some("Allemagne"));
    assert_eq!(map::country_name("DE", "es"), Some("Alemania"));
    assert_eq!(map::country_name("DE", "pt-BR"), Some("Alemanha"));
    assert_eq!(map::country_name("UA", "uk"), Some("Україна"));
    assert_eq!(map::country_name("IR", "fa"), Some("ایران"));
    assert_eq!(map::country_name("AD", "zh-Hans"), Some("安道尔"));
    // A language the data has not: English.
    assert_eq!(map::country_name("DE", "xx"), Some("Germany"));
    assert_eq!(map::country_name("ZZ", "en"), None);
    assert_eq!(map::country_name("", "en"), None);
}

#[test]
fn regions_match_ignoring_case_accents_and_kind_words() {
    let iran = map::country_bounds("IR").expect("IR");
    let mut seen = Vec::new();
    for name in [
        "Tehran",
        "Tehran Province",
        "tehrān",
        "TEHRAN",
        "Province of Tehran",
        "Ostan-e Tehran",
    ] {
        let (lat, lon) = map::region_point("IR", name).unwrap_or_else(|| panic!("{name}"));
        assert!(inside(iran, lat, lon), "{name}: {lat}, {lon}");
        seen.push((lat, lon));
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "one place: {seen:?}");
    // Near the city of Tehran (35.7 N, 51.4 E).
    let (lat, lon) = seen[0];
    assert!(
        (lat - 35.6).abs() < 1.0 && (lon - 51.4).abs() < 1.5,
        "{lat} {lon}"
    );
    assert!(
        map::region_point("ir", "tehran").is_some(),
        "country code in lower case"
    );

    let syria = map::country_bounds("SY").expect("SY");
    // Natural Earth writes "Aleppo (Halab)": either spelling matches.
    let (lat, lon) = map::region_point("SY", "Aleppo Governorate").expect("Aleppo");
    assert!(inside(syria, lat, lon));
    assert_eq!(map::region_point("SY", "Halab"), Some((lat, lon)));
    // "Al Qahirah", "Ad Daqahliyah": with or without the article.
    let egypt = map::country_bounds("EG").expect("EG");
    let cairo = map::region_point("EG", "Al-Qahirah Governorate").expect("Qahirah");
    assert!(inside(egypt, cairo.0, cairo.1));
    assert_eq!(map::region_point("EG", "qahirah"), Some(cairo));
    let d = map::region_point("EG", "Daqahliyah").expect("Daqahliyah");
    assert_eq!(map::region_point("EG", "Ad-Daqahliyah"), Some(d));
    // An English name Natural Earth does not use is not guessed.
    assert_eq!(map::region_point("EG", "Cairo"), None);
    let ukraine = map::country_bounds("UA").expect("UA");
    let (lat, lon) = map::region_point("UA", "Kharkiv Oblast").expect("Kharkiv");
    assert!(inside(ukraine, lat, lon));

    assert_eq!(map::region_point("IR", "Atlantis Province"), None);
    assert_eq!(
        map::region_point("FR", "Tehran"),
        None,
        "a region of another country"
    );
    assert_eq!(map::region_point("IR", ""), None);
    assert_eq!(map::region_point("IR", "Province"), None);
    assert_eq!(map::region_point("", "Tehran"), None);
    // No transliteration: written in Persian letters it does not match.
    assert_eq!(map::region_point("IR", "تهران"), None);
}

#[test]
fn the_country_with_most_incidents_is_darkest() {
    let f = figures(
        &[
            ("BR", Shown::Exact(120)),
            ("CO", Shown::Exact(30)),
            ("VE", Shown::Exact(9)),
            ("MX", Shown::Exact(4)),
            ("NI", Shown::Exact(2)),
        ],
        &[],
        &[],
    );
    let labels = Labels::of("en");
    let scene = map::draw(&f, &labels, 900.0);
    let proj = map::projection(&f, 900.0);
    let brazil = map::country_bounds("BR").expect("BR");
    let darkest: Vec<&Vec<Vec<(f64, f64)>>> = scene
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Polygon { rings, fill, .. } if fill == SHADES[4] => Some(rings),
            _ => None,
        })
        .collect();
    assert_eq!(darkest.len(), 1, "one country is darkest");
    for &(x, y) in darkest[0].iter().flatten() {
        let (lat, lon) = proj.unproject(x, y);
        assert!(inside(brazil, lat, lon), "{lat}, {lon} is not in Brazil");
    }
    let lightest = scene
        .items
        .iter()
        .filter(|i| matches!(i, Item::Polygon { fill, .. } if fill == SHADES[0]))
        .count();
    assert_eq!(lightest, 1, "Nicaragua alone is lightest");
    assert!(scene
        .items
        .iter()
        .any(|i| matches!(i, Item::Polygon { fill, .. } if fill == NO_DATA_FILL)));
    assert!(has_text(&scene, "Brazil"));
    assert!(has_text(&scene, "120"), "the legend counts");
}

#[test]
fn circles_land_inside_their_country() {
    let f = figures(
        &[("IR", Shown::Exact(10)), ("SY", Shown::Exact(4))],
        &[("IR", "Tehran Province", Shown::Exact(8))],
        &[
            (36.2, 37.15, Shown::Exact(4)),
            (29.6, 52.5, Shown::Exact(2)),
        ],
    );
    let scene = map::draw(&f, &Labels::of("en"), 900.0);
    let proj = map::projection(&f, 900.0);
    assert!(!proj.world, "Iran and Syria are framed, not the world");
    let circles = map_circles(&scene, &proj);
    assert_eq!(circles.len(), 3, "{circles:?}");
    let iran = map::country_bounds("IR").expect("IR");
    let syria = map::country_bounds("SY").expect("SY");
    let places: Vec<(f64, f64)> = circles.iter().map(|c| proj.unproject(c.0, c.1)).collect();
    assert_eq!(places.iter().filter(|p| inside(iran, p.0, p.1)).count(), 2);
    assert_eq!(places.iter().filter(|p| inside(syria, p.0, p.1)).count(), 1);
    // Area proportional to count: Tehran (8) has twice the area of Aleppo's point (4).
    let mut r: Vec<f64> = circles.iter().map(|c| c.2).collect();
    r.sort_by(f64::total_cmp);
    assert!(((r[2] / r[1]).powi(2) - 2.0).abs() < 0.01, "{r:?}");
    assert!(((r[2] / r[0]).powi(2) - 4.0).abs() < 0.01, "{r:?}");
}

#[test]
fn arabic_labels_are_right_to_left() {
    let f = figures(
        &[("SY", Shown::Exact(12)), ("IQ", Shown::Exact(3))],
        &[],
        &[],
    );
    let labels = Labels::of("ar");
    let scene = map::draw(&f, &labels, 900.0);
    let t = texts(&scene);
    let syria = map::country_name("SY", "ar").expect("name");
    assert!(t.iter().any(|(s, rtl)| s == syria && *rtl), "{t:?}");
    assert!(
        t.iter().all(|(_, rtl)| *rtl),
        "every text is right to left: {t:?}"
    );
    assert!(!has_text(&scene, "Syria"));
    assert_eq!(scene.title, labels.text("title.map"));
}

#[test]
fn published_figures_say_fewer_than_in_the_legend() {
    let mut f = figures(
        &[
            ("EG", Shown::Exact(14)),
            ("SD", Shown::FewerThan(3)),
            ("unknown", Shown::FewerThan(3)),
        ],
        &[("EG", "Cairo", Shown::FewerThan(3))],
        &[],
    );
    f.threshold = Some(3);
    let labels = Labels::of("en");
    let scene = map::draw(&f, &labels, 900.0);
    let fewer = labels.count(Shown::FewerThan(3));
    assert!(fewer.contains('3') && fewer != "3", "{fewer}");
    assert!(has_text(&scene, &fewer), "{:?}", texts(&scene));
    assert!(has_text(&scene, "14"));
    // The withheld count is never printed exactly: no legend entry says "1" or "2".
    assert!(!texts(&scene).iter().any(|(t, _)| t == "1" || t == "2"));
    // The unknown country cannot be placed, and says so withheld.
    let unplaced = labels.text("map.unplaced");
    let words = unplaced
        .split("{n}")
        .map(str::trim)
        .max_by_key(|p| p.len())
        .unwrap_or("")
        .to_string();
    assert!(!words.is_empty());
    let line = texts(&scene)
        .into_iter()
        .find(|(t, _)| t.contains(&words))
        .expect("the unplaced line");
    assert!(line.0.contains(&fewer), "{line:?}");
}

#[test]
fn empty_figures_draw_a_world_that_says_no_data() {
    let labels = Labels::of("en");
    let scene = map::draw(&Figures::default(), &labels, 900.0);
    assert!(map::projection(&Figures::default(), 900.0).world);
    assert!(has_text(&scene, &labels.text("no_data")));
    let grey = scene
        .items
        .iter()
        .filter(|i| matches!(i, Item::Polygon { fill, .. } if fill == NO_DATA_FILL))
        .count();
    let shaded = scene
        .items
        .iter()
        .filter(|i| matches!(i, Item::Polygon { fill, .. } if SHADES.contains(&fill.as_str())))
        .count();
    assert!(grey > 200 && shaded == 0, "{grey} grey, {shaded} shaded");
    assert!(
        scene.height > 300.0 && scene.height < 900.0,
        "{}",
        scene.height
    );
    assert!(every_number_finite(&scene));
}

#[test]
fn bad_coordinates_never_reach_the_scene() {
    let f = figures(
        &[("KE", Shown::Exact(5))],
        &[],
        &[
            (f64::NAN, 36.8, Shown::Exact(3)),
            (-1.3, f64::INFINITY, Shown::Exact(3)),
            (91.0, 36.8, Shown::Exact(3)),
            (-1.3, -181.0, Shown::Exact(3)),
            (-1.29, 36.82, Shown::Exact(2)),
        ],
    );
    let scene = map::draw(&f, &Labels::of("en"), 900.0);
    assert!(every_number_finite(&scene));
    let proj = map::projection(&f, 900.0);
    assert!(!proj.world, "bad points do not stretch the frame");
    let circles = map_circles(&scene, &proj);
    assert_eq!(circles.len(), 1, "only Nairobi: {circles:?}");
}

#[test]
fn places_spanning_the_world_frame_the_world() {
    let f = figures(
        &[("BR", Shown::Exact(3)), ("PH", Shown::Exact(3))],
        &[],
        &[],
    );
    assert!(map::projection(&f, 900.0).world);
    let near = figures(
        &[("BR", Shown::Exact(3)), ("CO", Shown::Exact(3))],
        &[],
        &[],
    );
    assert!(!map::projection(&near, 900.0).world);
}

#[test]
fn hard_inputs_draw_something_sane() {
    let labels = Labels::of("en");
    let long = "x".repeat(200);
    let mut countries: Vec<(String, Shown)> = (0..10_000)
        .map(|i| (format!("Q{i}"), Shown::Exact(1)))
        .collect();
    countries.push(("CN".into(), Shown::Exact(u32::MAX)));
    countries.push((long.clone(), Shown::Exact(2)));
    let countries: Vec<(&str, Shown)> = countries.iter().map(|(k, c)| (k.as_str(), *c)).collect();
    let regions = [
        ("CN", long.as_str(), Shown::Exact(7)),
        ("CN", "مقاطعة", Shown::Exact(2)),
    ];
    let f = figures(
        &countries,
        &regions,
        &[(39.9, 116.4, Shown::Exact(u32::MAX))],
    );
    for width in [900.0, f64::NAN, -1.0, 1e9] {
        let scene = map::draw(&f, &labels, width);
        assert!(every_number_finite(&scene));
        assert!(scene.width >= 200.0 && scene.height > 0.0);
    }
}

#[test]
fn a_world_map_draws_fast() {
    let labels = Labels::of("en");
    let countries: Vec<(String, Shown)> = LISTED
        .iter()
        .enumerate()
        .map(|(i, k)| (k.to_string(), Shown::Exact(i as u32 + 1)))
        .collect();
    let countries: Vec<(&str, Shown)> = countries.iter().map(|(k, c)| (k.as_str(), *c)).collect();
    let f = figures(&countries, &[], &[]);
    assert!(map::projection(&f, 900.0).world);
    let _ = map::draw(&f, &labels, 900.0); // the data is parsed at first use
    let start = Instant::now();
    let runs = 10;
    for _ in 0..runs {
        let _ = map::draw(&f, &labels, 900.0);
    }
    let each = start.elapsed() / runs;
    eprintln!("world map at 900 pt: {each:?} per draw");
    assert!(each.as_millis() < 200, "{each:?}");
}

#[test]
fn shipped_data_stays_small() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let mut total = 0;
    for name in ["countries.json", "regions.json", "names.json"] {
        let len = std::fs::metadata(dir.join(name)).expect(name).len();
        assert!(len > 10_000, "{name} is suspiciously small: {len}");
        total += len;
    }
    assert!(
        total < 2 * 1024 * 1024,
        "the map's data grew to {total} bytes"
    );
    assert!(dir.join("SOURCE.md").exists());
}
