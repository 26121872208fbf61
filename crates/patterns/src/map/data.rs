//! The boundary data shipped in `data/` (made by `scripts/map-data`, see
//! `data/SOURCE.md`), parsed once at first use. A damaged file is an error value, never
//! a panic: the map then draws no countries and says why.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;
use unicode_normalization::UnicodeNormalization;

const COUNTRIES: &[u8] = include_bytes!("../../data/countries.json");
const REGIONS: &[u8] = include_bytes!("../../data/regions.json");
const NAMES: &[u8] = include_bytes!("../../data/names.json");

/// One polygon of a country: its rings as (lon, lat), the first the outer one.
pub(crate) struct Poly {
    pub rings: Vec<Vec<(f64, f64)>>,
    /// (west, south, east, north).
    pub bounds: (f64, f64, f64, f64),
}

/// One country shape.
pub(crate) struct Country {
    /// ISO alpha-2, or "" for a shape with no code.
    pub iso: String,
    /// Where its name is written: (lon, lat).
    pub label: (f64, f64),
    /// The frame: (west, south, east, north) of its main parts.
    pub frame: (f64, f64, f64, f64),
    pub polys: Vec<Poly>,
}

pub(crate) struct Data {
    pub countries: Vec<Country>,
    /// (ISO, folded name without spaces) → (lat, lon).
    regions: HashMap<(String, String), (f64, f64)>,
    /// Every region as shipped: (iso, name, folded).
    #[cfg_attr(not(test), allow(dead_code))]
    pub region_list: Vec<(String, String, String)>,
    langs: Vec<String>,
    names: HashMap<String, Vec<String>>,
}

#[derive(Deserialize)]
struct CountriesFile {
    scale: f64,
    countries: Vec<CountryRaw>,
}

#[derive(Deserialize)]
struct CountryRaw {
    iso: String,
    label: [i64; 2],
    frame: [i64; 4],
    polys: Vec<Vec<Vec<i64>>>,
}

#[derive(Deserialize)]
struct RegionsFile {
    scale: f64,
    regions: Vec<(String, String, String, i64, i64)>,
}

#[derive(Deserialize)]
struct NamesFile {
    langs: Vec<String>,
    names: HashMap<String, Vec<String>>,
}

static DATA: OnceLock<Result<Data, String>> = OnceLock::new();

/// The data, parsed at first use.
pub(crate) fn get() -> Result<&'static Data, &'static str> {
    match DATA.get_or_init(|| parse(COUNTRIES, REGIONS, NAMES)) {
        Ok(d) => Ok(d),
        Err(e) => Err(e.as_str()),
    }
}

pub(crate) fn parse(countries: &[u8], regions: &[u8], names: &[u8]) -> Result<Data, String> {
    let file: CountriesFile =
        serde_json::from_slice(countries).map_err(|e| format!("countries: {e}"))?;
    let scale = valid_scale(file.scale).ok_or("countries: bad scale")?;
    let mut out = Vec::with_capacity(file.countries.len());
    for raw in file.countries {
        let mut polys = Vec::with_capacity(raw.polys.len());
        for rings_raw in &raw.polys {
            let mut rings = Vec::with_capacity(rings_raw.len());
            for flat in rings_raw {
                rings.push(
                    decode_ring(flat, scale)
                        .ok_or_else(|| format!("countries: a ring of {} is damaged", raw.iso))?,
                );
            }
            let Some(outer) = rings.first() else {
                return Err(format!("countries: a polygon of {} has no ring", raw.iso));
            };
            let bounds = outer.iter().fold(
                (f64::MAX, f64::MAX, f64::MIN, f64::MIN),
                |(w, s, e, n), &(x, y)| (w.min(x), s.min(y), e.max(x), n.max(y)),
            );
            polys.push(Poly { rings, bounds });
        }
        let label = (raw.label[0] as f64 / scale, raw.label[1] as f64 / scale);
        let f = raw.frame.map(|v| v as f64 / scale);
        if !in_range(label.0, label.1) || !in_range(f[0], f[1]) || !in_range(f[2], f[3]) {
            return Err(format!("countries: {} has points off the globe", raw.iso));
        }
        out.push(Country {
            iso: raw.iso,
            label,
            frame: (f[0], f[1], f[2], f[3]),
            polys,
        });
    }

    let file: RegionsFile = serde_json::from_slice(regions).map_err(|e| format!("regions: {e}"))?;
    let scale = valid_scale(file.scale).ok_or("regions: bad scale")?;
    let mut map = HashMap::with_capacity(file.regions.len());
    let mut list = Vec::with_capacity(file.regions.len());
    for (iso, name, folded, lat, lon) in file.regions {
        let (lat, lon) = (lat as f64 / scale, lon as f64 / scale);
        if !in_range(lon, lat) {
            return Err(format!("regions: {name} is off the globe"));
        }
        // The key is folded here, by the same function the queries go through.
        let key = compact(&fold(&name));
        if !key.is_empty() {
            map.entry((iso.clone(), key)).or_insert((lat, lon));
        }
        // "Aleppo (Halab)", "Homs (Hims)": each spelling on its own too.
        if let Some((outside, rest)) = name.split_once('(') {
            let inside = rest.split(')').next().unwrap_or("");
            for alt in [outside, inside] {
                let key = compact(&fold(alt));
                if !key.is_empty() {
                    map.entry((iso.clone(), key)).or_insert((lat, lon));
                }
            }
        }
        list.push((iso, name, folded));
    }

    let file: NamesFile = serde_json::from_slice(names).map_err(|e| format!("names: {e}"))?;
    if file.langs.first().map(String::as_str) != Some("en") {
        return Err("names: English must come first".into());
    }
    if file.names.values().any(|v| v.len() != file.langs.len()) {
        return Err("names: a row has the wrong length".into());
    }
    Ok(Data {
        countries: out,
        regions: map,
        region_list: list,
        langs: file.langs,
        names: file.names,
    })
}

fn valid_scale(s: f64) -> Option<f64> {
    (s.is_finite() && s >= 1.0).then_some(s)
}

fn in_range(lon: f64, lat: f64) -> bool {
    (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)
}

/// A ring stored as x0, y0, dx1, dy1 … (integers of 1/scale degree).
fn decode_ring(flat: &[i64], scale: f64) -> Option<Vec<(f64, f64)>> {
    if flat.len() < 6 || !flat.len().is_multiple_of(2) {
        return None;
    }
    let mut x = 0i64;
    let mut y = 0i64;
    let mut out = Vec::with_capacity(flat.len() / 2);
    for pair in flat.chunks_exact(2) {
        x = x.checked_add(pair[0])?;
        y = y.checked_add(pair[1])?;
        let p = (x as f64 / scale, y as f64 / scale);
        if !in_range(p.0, p.1) {
            return None;
        }
        out.push(p);
    }
    Some(out)
}

/// Words that name the kind of region, not the region, in the languages region names
/// are written in; and the small words between.
const STOPWORDS: &[&str] = &[
    "province",
    "provincia",
    "provincie",
    "provinz",
    "provincial",
    "state",
    "estado",
    "etat",
    "staat",
    "region",
    "regiao",
    "regione",
    "oblast",
    "oblasti",
    "oblys",
    "krai",
    "kray",
    "okrug",
    "ostan",
    "ostane",
    "governorate",
    "gouvernorat",
    "muhafazah",
    "muhafazat",
    "wilaya",
    "wilayah",
    "wilayat",
    "vilayet",
    "velayat",
    "il",
    "ili",
    "department",
    "departement",
    "departamento",
    "district",
    "distrito",
    "county",
    "prefecture",
    "canton",
    "division",
    "zone",
    "municipality",
    "municipio",
    "of",
    "the",
    "de",
    "del",
    "des",
    "du",
    "da",
    "do",
    "di",
    "la",
    "le",
    "el",
    "al",
    "e",
];

/// The Arabic article in its assimilated Latin spellings, dropped when a name starts
/// with it ("Ad Daqahliyah", "Ash Sharqiyah"); "al" and "el" are dropped anywhere.
const ARTICLES: &[&str] = &[
    "ad", "adh", "an", "ar", "as", "ash", "at", "ath", "az", "ed", "en", "er", "es", "esh", "et",
    "ez",
];

fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2019}'
            | '\u{2018}'
            | '\u{02bc}'
            | '\u{02bb}'
            | '\u{02bf}'
            | '\u{02be}'
            | '`'
            | '\u{00b4}'
    )
}

/// A region name folded for matching: accents and apostrophes dropped, lower case,
/// punctuation as spaces, the words of [`STOPWORDS`] dropped (unless nothing else is
/// left), a leading Arabic article dropped. `scripts/map-data` folds the same way.
pub(crate) fn fold(s: &str) -> String {
    let mut t = String::with_capacity(s.len());
    for c in s.nfkd() {
        if unicode_normalization::char::is_combining_mark(c) || is_apostrophe(c) {
            continue;
        }
        for l in c.to_lowercase() {
            t.push(if l.is_alphanumeric() { l } else { ' ' });
        }
    }
    let mut words: Vec<&str> = t.split_whitespace().collect();
    if words.len() > 1 && ARTICLES.contains(&words[0]) {
        words.remove(0);
    }
    let kept: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !STOPWORDS.contains(w))
        .collect();
    if kept.is_empty() {
        words.join(" ")
    } else {
        kept.join(" ")
    }
}

fn compact(folded: &str) -> String {
    folded.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Whether the data has a shape for `iso`.
pub(crate) fn has_shape(iso: &str) -> bool {
    !iso.is_empty()
        && get()
            .map(|d| d.countries.iter().any(|c| c.iso == iso))
            .unwrap_or(false)
}

/// The frame of `iso` (west, south, east, north): its shapes' main parts.
pub(crate) fn country_frame(iso: &str) -> Option<(f64, f64, f64, f64)> {
    let d = get().ok()?;
    d.countries
        .iter()
        .filter(|c| !iso.is_empty() && c.iso == iso)
        .map(|c| c.frame)
        .reduce(|a, b| (a.0.min(b.0), a.1.min(b.1), a.2.max(b.2), a.3.max(b.3)))
}

/// The bounds of every shape of country `iso` (ISO alpha-2, any case):
/// (west, south, east, north) in degrees; None when the data has no shape for it.
pub fn country_bounds(iso: &str) -> Option<(f64, f64, f64, f64)> {
    let iso = iso.trim().to_ascii_uppercase();
    let d = get().ok()?;
    d.countries
        .iter()
        .filter(|c| !iso.is_empty() && c.iso == iso)
        .flat_map(|c| c.polys.iter().map(|p| p.bounds))
        .reduce(|a, b| (a.0.min(b.0), a.1.min(b.1), a.2.max(b.2), a.3.max(b.3)))
}

/// Where a region of `country` (ISO alpha-2) lies, if Natural Earth knows it by that name
/// (case, accents and common words such as "Province of" ignored; no transliteration):
/// (lat, lon).
pub fn region_point(country: &str, region: &str) -> Option<(f64, f64)> {
    let iso = country.trim().to_ascii_uppercase();
    let key = compact(&fold(region));
    if key.is_empty() {
        return None;
    }
    get().ok()?.regions.get(&(iso, key)).copied()
}

/// The name of country `iso` (ISO alpha-2, any case) in `lang` (a language code such as
/// `ar` or `pt-BR`; English when the data has no name in that language), from the
/// Unicode CLDR; None for a code the data does not know.
pub fn country_name(iso: &str, lang: &str) -> Option<&'static str> {
    let d = get().ok()?;
    let row = d.names.get(&iso.trim().to_ascii_uppercase())?;
    let primary = lang
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let i = d.langs.iter().position(|l| *l == primary).unwrap_or(0);
    let name = row
        .get(i)
        .filter(|n| !n.is_empty())
        .or_else(|| row.first())?;
    (!name.is_empty()).then_some(name.as_str())
}
