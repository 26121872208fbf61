//! The benchmarks' shared corpus: a Zipf-distributed vocabulary of real words (English,
//! French, Spanish, Arabic) and 30,000 made-up ones, and a deterministic generator, so
//! that every benchmark (and every system a benchmark compares) gets the same text.
//!
//! Included by path: `#[path = "common/corpus.rs"] mod corpus;`.
#![allow(dead_code)]

/// A deterministic generator (xorshift64), so every run and every system gets the same
/// data.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[(self.next() % words.len() as u64) as usize]
    }
}

pub const WORDS: &[&str] = &[
    "detained",
    "protest",
    "lawyer",
    "village",
    "journalist",
    "police",
    "threat",
    "court",
    "released",
    "family",
    "interrogation",
    "checkpoint",
    "union",
    "activist",
    "transfer",
    "hearing",
    "evidence",
    "witness",
    "night",
    "office",
    "raid",
    "charges",
    "appeal",
    "arrestation",
    "école",
    "témoin",
    "avocat",
    "manifestation",
    "détention",
    "menace",
    "detención",
    "defensora",
    "allanamiento",
    "amenaza",
    "periodista",
    "comunidad",
    "مدرسة",
    "صحفية",
    "اعتقال",
    "تهديد",
    "محامي",
    "شاهد",
    "قرية",
    "مظاهرة",
    "احتجاز",
];
pub const PLACES: &[&str] = &["Aleppo", "Sfax", "Querétaro", "Lyon", "Harare", "Minsk"];
pub const ACTS: &[&str] = &["arbitrary_arrest", "threat", "torture", "killing"];

/// The corpus's vocabulary: the words above, then 30,000 made-up words (Latin letters
/// with accents, and Arabic letters), drawn with Zipf's law (the n-th word n times less
/// often than the first), as words are in real text: a few words are in nearly every
/// record, most in a handful.
pub struct Vocab {
    pub words: Vec<String>,
    pub cumulative: Vec<f64>,
}

pub fn vocab() -> &'static Vocab {
    static V: std::sync::OnceLock<Vocab> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let latin = [
            "ka", "lo", "mé", "ri", "sa", "tu", "ve", "no", "dá", "pi", "zo", "gu",
        ];
        let arabic = ["با", "سل", "مي", "نو", "قد", "رح", "تا", "عم", "لي", "فر"];
        let mut words: Vec<String> = WORDS.iter().map(|w| w.to_string()).collect();
        while words.len() < WORDS.len() + 30_000 {
            let syllables = if rng.next().is_multiple_of(3) {
                &arabic[..]
            } else {
                &latin[..]
            };
            let n = 2 + rng.next() % 3;
            let w: String = (0..n).map(|_| rng.pick(syllables)).collect();
            words.push(w);
        }
        let mut total = 0.0;
        let cumulative = (1..=words.len())
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        Vocab { words, cumulative }
    })
}

/// A word of the corpus, by frequency.
pub fn word(rng: &mut Rng) -> &'static str {
    let v = vocab();
    let total = v.cumulative[v.cumulative.len() - 1];
    let x = (rng.next() % 1_000_000_007) as f64 / 1_000_000_007.0 * total;
    let i = v.cumulative.partition_point(|c| *c < x);
    &v.words[i.min(v.words.len() - 1)]
}

pub fn text(rng: &mut Rng, len: usize) -> String {
    let mut s = String::with_capacity(len + 16);
    while s.len() < len {
        s.push_str(word(rng));
        s.push(' ');
    }
    s
}
