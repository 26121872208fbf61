//! The drawing with stand-in words (the locales are tested with the labels), the data's
//! integrity, and the folding the shipped data and the queries share.

use super::*;
use crate::figures::{Count, Places, Point, Region};

/// Words without the locales: the key itself, counts as "<N" when withheld.
struct Plain {
    rtl: bool,
}

impl Words for Plain {
    fn text(&self, key: &str) -> String {
        match key {
            "map.unplaced" => "not placed: {n}".into(),
            other => other.to_string(),
        }
    }
    fn count(&self, shown: Shown) -> String {
        match shown {
            Shown::Exact(n) => n.to_string(),
            Shown::FewerThan(n) => format!("fewer than {n}"),
            Shown::Between(a, b) => format!("{a}-{b}"),
        }
    }
    fn lang(&self) -> &str {
        if self.rtl {
            "ar"
        } else {
            "en"
        }
    }
    fn rtl(&self) -> bool {
        self.rtl
    }
}

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

fn texts(scene: &Scene) -> Vec<String> {
    scene
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Text { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn all_finite(scene: &Scene) -> bool {
    let ok = |v: f64| v.is_finite();
    scene.width.is_finite()
        && scene.height.is_finite()
        && scene.items.iter().all(|i| match i {
            Item::Rect { x, y, w, h, .. } => ok(*x) && ok(*y) && ok(*w) && ok(*h),
            Item::Polygon { rings, .. } => rings.iter().flatten().all(|p| ok(p.0) && ok(p.1)),
            Item::Line { points, .. } => points.iter().all(|p| ok(p.0) && ok(p.1)),
            Item::Circle { cx, cy, r, .. } => ok(*cx) && ok(*cy) && ok(*r),
            Item::Text { x, y, .. } => ok(*x) && ok(*y),
        })
}

#[test]
fn shipped_data_parses_and_is_whole() {
    let d = data::get().expect("the shipped data parses");
    assert!(d.countries.len() > 230, "{} shapes", d.countries.len());
    assert!(d.region_list.len() > 4000);
    for c in &d.countries {
        assert!(!c.polys.is_empty(), "{} has no polygon", c.iso);
    }
}

#[test]
fn shipped_folded_names_fold_the_same_here() {
    let d = data::get().expect("data");
    let differ: Vec<_> = d
        .region_list
        .iter()
        .filter(|(_, name, folded)| data::fold(name) != *folded)
        .take(5)
        .collect();
    assert!(differ.is_empty(), "{differ:?}");
}

#[test]
fn damaged_data_is_an_error_not_a_panic() {
    let names = br#"{"langs":["en"],"names":{}}"#;
    let regions = br#"{"scale":100,"regions":[]}"#;
    assert!(data::parse(b"{not json", regions, names).is_err());
    // A ring that walks off the globe.
    let off = br#"{"scale":100,"countries":[{"iso":"XX","a3":"XXX","label":[0,0],"frame":[0,0,1,1],"polys":[[[0,0,100,0,0,100,99999999,0]]]}]}"#;
    assert!(data::parse(off, regions, names).is_err());
    // Overflowing deltas.
    let huge = format!(
        r#"{{"scale":100,"countries":[{{"iso":"XX","a3":"XXX","label":[0,0],"frame":[0,0,1,1],"polys":[[[{m},0,{m},0,0,1]]]}}]}}"#,
        m = i64::MAX
    );
    assert!(data::parse(huge.as_bytes(), regions, names).is_err());
    // Too short a ring, a polygon with no ring, a bad scale.
    let short = br#"{"scale":100,"countries":[{"iso":"XX","a3":"XXX","label":[0,0],"frame":[0,0,1,1],"polys":[[[0,0,1,1]]]}]}"#;
    assert!(data::parse(short, regions, names).is_err());
    let empty = br#"{"scale":100,"countries":[{"iso":"XX","a3":"XXX","label":[0,0],"frame":[0,0,1,1],"polys":[[]]}]}"#;
    assert!(data::parse(empty, regions, names).is_err());
    let scale = br#"{"scale":0,"countries":[]}"#;
    assert!(data::parse(scale, regions, names).is_err());
    let ok = br#"{"scale":100,"countries":[]}"#;
    assert!(data::parse(ok, regions, names).is_ok());
    assert!(data::parse(ok, regions, br#"{"langs":["fr"],"names":{}}"#).is_err());
}

#[test]
fn folding_drops_case_accents_and_kind_words() {
    assert_eq!(data::fold("Tehrān Province"), "tehran");
    assert_eq!(data::fold("Province of Tehran"), "tehran");
    assert_eq!(data::fold("  TEHRAN "), "tehran");
    assert_eq!(data::fold("Sana'a Governorate"), "sanaa");
    assert_eq!(data::fold("Ostan-e Tehran"), "tehran");
    assert_eq!(data::fold("Al-Anbar"), "anbar");
    assert_eq!(data::fold("Ash Sharqiyah"), "sharqiyah");
    assert_eq!(data::fold("Bur Sa`id"), "bur said");
    // The article only leads; a name that is nothing else is kept.
    assert_eq!(data::fold("Wadi at Jadid"), "wadi at jadid");
    assert_eq!(data::fold("As"), "as");
    // Nothing but kind words: kept whole rather than emptied.
    assert_eq!(data::fold("Capital District"), "capital");
    assert_eq!(data::fold("State of the Region"), "state of the region");
    assert_eq!(data::fold("طهران"), "طهران");
    assert_eq!(data::fold(""), "");
}

#[test]
fn classes_put_the_largest_darkest_and_withheld_lightest() {
    let c = Classes::of(&[Shown::Exact(1)]);
    assert_eq!(c.shade(Shown::Exact(1)), 4);
    let counts: Vec<Shown> = (1..=100).map(Shown::Exact).collect();
    let c = Classes::of(&counts);
    assert_eq!(c.classes.len(), 5);
    assert_eq!(c.shade(Shown::Exact(100)), 4);
    assert_eq!(c.shade(Shown::Exact(1)), 0);
    let mut shades: Vec<usize> = counts.iter().map(|n| c.shade(*n)).collect();
    let sorted = {
        let mut s = shades.clone();
        s.sort_unstable();
        s
    };
    assert_eq!(shades, sorted, "shade grows with count");
    shades.dedup();
    assert_eq!(shades, vec![0, 1, 2, 3, 4]);
    let c = Classes::of(&[Shown::FewerThan(3), Shown::Exact(4), Shown::Exact(90)]);
    assert_eq!(c.shade(Shown::FewerThan(3)), 0);
    assert_eq!(c.shade(Shown::Exact(90)), 4);
    assert!(c.shade(Shown::Exact(4)) > 0 && c.shade(Shown::Exact(4)) < 4);
    assert!(Classes::of(&[]).classes.is_empty());
}

#[test]
fn sums_of_withheld_counts_stay_withheld() {
    assert_eq!(sum(&[Shown::Exact(2), Shown::Exact(5)]), Shown::Exact(7));
    assert_eq!(sum(&[Shown::FewerThan(3)]), Shown::FewerThan(3));
    assert_eq!(
        sum(&[Shown::FewerThan(3), Shown::Exact(4)]),
        Shown::FewerThan(7)
    );
    assert_eq!(
        sum(&[Shown::Exact(u32::MAX), Shown::Exact(9)]),
        Shown::Exact(u32::MAX)
    );
}

#[test]
fn clipping_keeps_the_inside_part() {
    let square = vec![(-5.0, -5.0), (5.0, -5.0), (5.0, 5.0), (-5.0, 5.0)];
    let out = clip(&square, (0.0, 0.0, 10.0, 10.0));
    assert!(out.iter().all(|p| p.0 >= 0.0 && p.1 >= 0.0));
    let area: f64 = (0..out.len())
        .map(|i| {
            let (a, b) = (out[i], out[(i + 1) % out.len()]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum::<f64>()
        .abs()
        / 2.0;
    assert!((area - 25.0).abs() < 1e-9, "{area}");
    assert!(clip(&square, (20.0, 20.0, 30.0, 30.0)).is_empty());
}

#[test]
fn the_map_draws_with_stand_in_words() {
    let f = figures(
        &[
            ("IR", Shown::Exact(40)),
            ("SY", Shown::Exact(5)),
            ("TR", Shown::Exact(2)),
            ("unknown", Shown::Exact(3)),
            ("XX", Shown::Exact(1)),
        ],
        &[
            ("IR", "Tehran Province", Shown::Exact(30)),
            ("IR", "Nowhere Land", Shown::Exact(3)),
        ],
        &[
            (35.7, 51.4, Shown::Exact(4)),
            (f64::NAN, 3.0, Shown::Exact(2)),
        ],
    );
    let scene = draw_with(&f, &Plain { rtl: false }, 900.0);
    assert!(all_finite(&scene));
    let t = texts(&scene);
    assert!(t.contains(&"not placed: 4".to_string()), "{t:?}");
    assert!(t.contains(&"Iran".to_string()), "{t:?}");
    // Names read on a white box, whatever the fill under them.
    let name_at = scene
        .items
        .iter()
        .position(|i| matches!(i, Item::Text { text, .. } if text == "Iran"))
        .expect("Iran named");
    assert!(matches!(
        &scene.items[name_at - 1],
        Item::Rect { fill, w, .. } if fill == "#ffffff" && *w > 20.0
    ));
    let proj = projection(&f, 900.0);
    assert!(!proj.world);
    let on_map = scene
        .items
        .iter()
        .filter(|i| matches!(i, Item::Circle { cy, .. } if *cy <= proj.area.1 + proj.area.3))
        .count();
    // Tehran region and the point; the NaN point and the made-up region are not drawn.
    assert_eq!(on_map, 2);
}

#[test]
fn empty_figures_draw_the_world_and_say_no_data() {
    let scene = draw_with(&Figures::default(), &Plain { rtl: false }, 900.0);
    assert!(texts(&scene).contains(&"no_data".to_string()));
    let grey = scene
        .items
        .iter()
        .filter(|i| matches!(i, Item::Polygon { fill, .. } if fill == NO_DATA_FILL))
        .count();
    assert!(grey > 200, "{grey} grey countries");
    assert!(projection(&Figures::default(), 900.0).world);
    assert!(all_finite(&scene));
}

#[test]
fn silly_widths_and_huge_lists_draw_something_sane() {
    for w in [f64::NAN, f64::INFINITY, -5.0, 0.0, 1e12] {
        let s = draw_with(&Figures::default(), &Plain { rtl: true }, w);
        assert!(all_finite(&s) && s.width >= 200.0 && s.width <= 20_000.0);
    }
    let regions: Vec<(String, String, Shown)> = (0..10_000)
        .map(|i| ("IR".to_string(), format!("Place {i}"), Shown::Exact(i + 1)))
        .collect();
    let regions: Vec<(&str, &str, Shown)> = regions
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), *c))
        .collect();
    let points: Vec<(f64, f64, Shown)> = (0..10_000)
        .map(|i| {
            (
                f64::from(i % 180) - 89.0,
                f64::from(i % 360) - 179.0,
                Shown::Exact(1),
            )
        })
        .collect();
    let f = figures(&[("IR", Shown::Exact(u32::MAX))], &regions, &points);
    let s = draw_with(&f, &Plain { rtl: false }, 900.0);
    assert!(all_finite(&s));
    assert!(projection(&f, 900.0).world);
}

#[test]
fn damaged_data_draws_no_map_and_says_why() {
    let f = figures(
        &[("IR", Shown::Exact(4))],
        &[],
        &[(35.7, 51.4, Shown::Exact(1))],
    );
    let scene = draw_from(
        Err("countries: a ring of IR is damaged"),
        &f,
        &Plain { rtl: false },
        900.0,
    );
    assert!(!scene
        .items
        .iter()
        .any(|i| matches!(i, Item::Polygon { .. })));
    let t = texts(&scene);
    assert!(
        t.iter()
            .any(|s| s.contains("cannot be read") && s.contains("damaged")),
        "{t:?}"
    );
    assert!(all_finite(&scene));
}

#[test]
fn parsing_the_data_at_first_use_is_quick() {
    let start = std::time::Instant::now();
    let parsed = data::parse(
        include_bytes!("../../data/countries.json"),
        include_bytes!("../../data/regions.json"),
        include_bytes!("../../data/names.json"),
    );
    let took = start.elapsed();
    eprintln!("map data parsed in {took:?}");
    assert!(parsed.is_ok());
    assert!(took.as_millis() < 2_000, "{took:?}");
}
