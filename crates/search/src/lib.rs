//! Full-text search over every record, with filters.
//!
//! The index is a [tantivy] index in memory (a `RamDirectory`: no file, no memory map),
//! built after unlock from the decrypted records. To make unlocking a large vault fast,
//! its files are kept between sessions as one age-encrypted, signed snapshot
//! (`search.age`, a cache like the record index: rebuilt when missing, stale or damaged).
//!
//! Text is folded before it is indexed and before a query is read: Unicode decomposition,
//! combining marks removed (French and Spanish accents, Arabic short vowels, shadda and
//! the hamza carried by an alef), lower case, and the usual Arabic letter variants made
//! one (alef forms → ا, alef maksura → ي, ta marbuta → ه, tatweel removed), Persian
//! letters with their Arabic twins (ی → ي, ک → ك), the zero-width non-joiner removed, and
//! Persian and Arabic-Indic digits read as ASCII. So "ecole" finds "École", "مدرسة" finds
//! "مَدْرَسَة", "كرمانشاه" finds "کرمانشاه" and "1402" finds "۱۴۰۲".
//!
//! Filters select cases (a record matches a filter through its case: "status open" keeps
//! the records of open cases, "act type arrest" the records of cases with an incident of
//! that type, "follow-up due" the records of cases with an intervention, not closed,
//! whose follow-up date has come); the words select records within them.
//!
//! How-to: `use custos_search::VaultSearch;` and call `vault.search(&query)`; the app
//! unlocks with [`unlock`] so that the snapshot is read while the vault opens.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod directory;
mod snapshot;

pub use snapshot::{unlock, VaultSearch};

use std::collections::HashSet;

use foldhash::HashMapExt;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use directory::IndexDir;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tantivy::collector::{Collector, Count, FilterCollector, SegmentCollector, TopDocs};
use tantivy::directory::OwnedBytes;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, Occur, PhrasePrefixQuery, PhraseQuery, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED,
    STRING,
};
use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

use custos_model::{CaseStatus, InterventionStatus, Kind, Record, Role};
use custos_patterns::Fact;

/// What to look for. Every field is optional; an empty query finds nothing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    /// Words, all of which must appear (in any field of the record); `"a quoted
    /// phrase"` must appear as written. Case and diacritics do not matter.
    pub text: String,
    /// The last word also matches as the beginning of a word (search as you type).
    pub prefix: bool,
    /// The case has this status.
    pub status: Option<CaseStatus>,
    /// The case has every one of these tags.
    pub tags: Vec<String>,
    /// The case has an incident with this act type (a vocabulary code).
    pub act_type: Option<String>,
    /// The case has an incident or intervention dated on or after this day (an incident
    /// counts when its period overlaps the range).
    pub from: Option<NaiveDate>,
    /// … on or before this day.
    pub to: Option<NaiveDate>,
    /// The case has an incident whose place, region or country holds these words.
    pub location: Option<String>,
    /// The case has a person in this role (a person's roles or an incident's
    /// involvements).
    pub role: Option<Role>,
    /// The case has an intervention awaiting a response (sent or acknowledged).
    pub awaiting_response: bool,
    /// The case has an intervention, not closed, whose follow-up date is on or before
    /// this day (the app sends today: the follow-ups that are due).
    pub follow_up_due: Option<NaiveDate>,
    /// Only records of these kinds (empty: every kind; an empty text with filters: the
    /// cases).
    pub kinds: Vec<Kind>,
    /// At most this many hits (0: 50).
    pub limit: usize,
}

impl SearchQuery {
    fn has_filter(&self) -> bool {
        self.status.is_some()
            || !self.tags.is_empty()
            || self.act_type.is_some()
            || self.from.is_some()
            || self.to.is_some()
            || self
                .location
                .as_deref()
                .is_some_and(|l| !l.trim().is_empty())
            || self.role.is_some()
            || self.awaiting_response
            || self.follow_up_due.is_some()
    }
}

/// One record found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    /// The record.
    pub record_id: Uuid,
    /// Its kind.
    pub kind: Kind,
    /// The case it belongs to (`None` for a case).
    pub case_id: Option<Uuid>,
    /// Its title, name or first line.
    pub title: String,
    /// Relevance (BM25; higher is better).
    pub score: f32,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    /// The best hits, best first.
    pub hits: Vec<SearchHit>,
    /// How many records matched in all.
    pub total: usize,
    /// False while the index is still being built: the hits may be incomplete.
    pub ready: bool,
}

/// Folds text for searching: decomposed, without combining marks, lower case, Arabic
/// and Persian letter variants unified, Eastern digits as ASCII, joiners removed.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        match c {
            // Tatweel (a stretching stroke, not a letter); the zero-width non-joiner
            // and joiner inside Persian words ("نامه‌ها" is found as "نامهها", the way
            // it is typed on a keyboard without the non-joiner); direction marks.
            '\u{0640}' | '\u{200C}' | '\u{200D}' | '\u{200E}' | '\u{200F}' => {}
            // Persian and Arabic-Indic digits are ASCII digits.
            '\u{06F0}'..='\u{06F9}' => out.push(digit(c, '\u{06F0}')),
            '\u{0660}'..='\u{0669}' => out.push(digit(c, '\u{0660}')),
            // Persian yeh (and the yeh of Urdu, Pashto) → Arabic yeh; Persian kaf
            // (keheh) and swash kaf → Arabic kaf; heh goal → heh.
            '\u{06CC}' | '\u{06D0}' | '\u{06D2}' => out.push('\u{064A}'),
            '\u{06A9}' | '\u{06AA}' => out.push('\u{0643}'),
            '\u{06C1}' | '\u{06D5}' => out.push('\u{0647}'),
            // Alef with madda / hamza above / hamza below / wasla (what NFD leaves).
            '\u{0622}' | '\u{0623}' | '\u{0625}' | '\u{0671}' => out.push('\u{0627}'),
            // Alef maksura → ya; ta marbuta → ha.
            '\u{0649}' => out.push('\u{064A}'),
            '\u{0629}' => out.push('\u{0647}'),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// An Eastern digit as its ASCII digit, `zero` being the script's zero.
fn digit(c: char, zero: char) -> char {
    char::from_digit(u32::from(c) - u32::from(zero), 10).unwrap_or(c)
}

/// The tokens a folded text is indexed as (the same analysis for records and queries).
fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let folded = fold(text);
    let mut stream = analyzer.token_stream(&folded);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

const TOKENIZER: &str = "custos";

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(60))
        .filter(LowerCaser)
        .build()
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    case: Field,
    kind: Field,
    title: Field,
    body: Field,
    status: Field,
    tag: Field,
    act: Field,
    role: Field,
    start: Field,
    end: Field,
    place: Field,
    /// An intervention's status (`sent` …).
    progress: Field,
    /// An intervention's next follow-up date (days since the common era).
    follow_up: Field,
}

fn schema() -> (Schema, Fields) {
    let text = |positions: bool| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(if positions {
                    IndexRecordOption::WithFreqsAndPositions
                } else {
                    IndexRecordOption::WithFreqs
                }),
        )
    };
    let mut b = Schema::builder();
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        case: b.add_u64_field("case", FAST),
        kind: b.add_text_field("kind", STRING),
        title: b.add_text_field("title", text(true)),
        body: b.add_text_field("body", text(true)),
        status: b.add_text_field("status", STRING),
        tag: b.add_text_field("tag", STRING),
        act: b.add_text_field("act", STRING),
        role: b.add_text_field("role", STRING),
        start: b.add_i64_field("start", INDEXED | FAST),
        end: b.add_i64_field("end", INDEXED | FAST),
        place: b.add_text_field("place", text(false)),
        progress: b.add_text_field("progress", STRING),
        follow_up: b.add_i64_field("follow_up", INDEXED),
    };
    (b.build(), fields)
}

/// The 64 bits of a case id the index filters on (a collision only widens a filter;
/// hits are checked against the exact case afterwards).
fn case_key(id: Uuid) -> u64 {
    (id.as_u128() >> 64) as u64
}

fn day(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce())
}

fn code<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Every string of a record, except ids, for the body field.
fn collect_text(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::String(s) if !s.is_empty() && Uuid::parse_str(s).is_err() => {
            out.push_str(s);
            out.push('\n');
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect_text(v, out)),
        serde_json::Value::Object(o) => o.values().for_each(|v| collect_text(v, out)),
        _ => {}
    }
}

fn document(f: &Fields, record_id: Uuid, record: &Record) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.id, record_id.to_string());
    doc.add_u64(f.case, case_key(record.case_id().unwrap_or(record_id)));
    doc.add_text(f.kind, code(&record.kind()));
    doc.add_text(f.title, fold(record.title()));
    let mut body = Zeroizing::new(String::new());
    if let Ok(value) = serde_json::to_value(record) {
        collect_text(&value, &mut body);
    }
    doc.add_text(f.body, fold(&body));
    match record {
        Record::Case(c) => {
            doc.add_text(f.status, code(&c.status));
            for t in &c.tags {
                doc.add_text(f.tag, t);
            }
        }
        Record::Incident(i) => {
            for a in &i.act_types {
                doc.add_text(f.act, a);
            }
            for p in &i.persons {
                doc.add_text(f.role, code(&p.role));
            }
            let start = i.start.as_ref().map(|d| d.date);
            let end = i.end.as_ref().map(|d| d.date).or(start);
            if let (Some(s), Some(e)) = (start, end) {
                doc.add_i64(f.start, day(s));
                doc.add_i64(f.end, day(e.max(s)));
            }
            if let Some(l) = &i.location {
                doc.add_text(
                    f.place,
                    fold(&format!("{} {} {}", l.place, l.region, l.country)),
                );
            }
        }
        Record::Person(p) => {
            for r in &p.roles {
                doc.add_text(f.role, code(r));
            }
        }
        Record::Intervention(i) => {
            if let Some(d) = i.date {
                doc.add_i64(f.start, day(d));
                doc.add_i64(f.end, day(d));
            }
            doc.add_text(f.progress, code(&i.status));
            if let Some(d) = i.follow_up {
                doc.add_i64(f.follow_up, day(d));
            }
        }
        Record::Note(_) | Record::Evidence(_) => {}
    }
    doc
}

/// A search problem; the index is a cache, so every one of them means "rebuild".
#[derive(Debug, thiserror::Error)]
#[error("search index: {0}")]
pub struct SearchError(String);

impl From<tantivy::TantivyError> for SearchError {
    fn from(e: tantivy::TantivyError) -> Self {
        SearchError(e.to_string())
    }
}

/// The in-memory index, and which version of each record it holds.
pub struct SearchIndex {
    ram: IndexDir,
    index: Index,
    reader: IndexReader,
    fields: Fields,
    analyzer: TextAnalyzer,
    /// record → the head version indexed.
    covered: foldhash::HashMap<Uuid, Uuid>,
    /// record → what the figures count of the version indexed (cases, incidents,
    /// persons, interventions; see [`Fact`]).
    facts: foldhash::HashMap<Uuid, Fact>,
    /// Records written to the index since the snapshot was saved.
    pub(crate) unsaved: usize,
    /// The store's version epoch the snapshot was saved at (empty: unknown).
    pub(crate) epoch: Vec<u8>,
    /// Restored from a snapshot of format 4: to be saved again as format 5.
    pub(crate) earlier_format: bool,
}

/// Records per writer session above which indexing uses two threads and a bigger
/// arena (a full build); below it, one thread and tantivy's smallest arena.
const BULK: usize = 2_000;

impl SearchIndex {
    /// An empty index.
    pub fn new() -> Result<SearchIndex, SearchError> {
        let (schema, fields) = schema();
        let ram = IndexDir::default();
        let index = Index::create(ram.clone(), schema, Default::default())?;
        Self::finish(
            ram,
            index,
            fields,
            foldhash::HashMap::default(),
            foldhash::HashMap::default(),
        )
    }

    fn finish(
        ram: IndexDir,
        mut index: Index,
        fields: Fields,
        covered: foldhash::HashMap<Uuid, Uuid>,
        facts: foldhash::HashMap<Uuid, Fact>,
    ) -> Result<SearchIndex, SearchError> {
        index.tokenizers().register(TOKENIZER, analyzer());
        // Segments are searched in parallel (a query on a large vault uses both cores).
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        index.set_multithread_executor(threads)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            ram,
            index,
            reader,
            fields,
            analyzer: analyzer(),
            covered,
            facts,
            unsaved: 0,
            epoch: Vec::new(),
            earlier_format: false,
        })
    }

    /// True when restored from a snapshot of the earlier format 4 (see
    /// [`SearchIndex::from_snapshot`]).
    pub fn earlier_format(&self) -> bool {
        self.earlier_format
    }

    /// The head version indexed for each record.
    pub fn covered(&self) -> &foldhash::HashMap<Uuid, Uuid> {
        &self.covered
    }

    /// The fact of each record indexed that the figures count, made from the version
    /// [`SearchIndex::covered`] names.
    pub fn facts(&self) -> &foldhash::HashMap<Uuid, Fact> {
        &self.facts
    }

    /// Replaces what the index holds: `upserts` (record, its head version, its content)
    /// are (re)indexed, `removals` dropped. One commit.
    pub fn apply(
        &mut self,
        upserts: &[(Uuid, Uuid, Record)],
        removals: &[Uuid],
    ) -> Result<(), SearchError> {
        if upserts.is_empty() && removals.is_empty() {
            return Ok(());
        }
        let (threads, arena) = if upserts.len() > BULK {
            (2, 192_000_000)
        } else {
            (1, 15_000_000)
        };
        let mut writer: IndexWriter<TantivyDocument> =
            self.index.writer_with_num_threads(threads, arena)?;
        let f = self.fields;
        for id in removals.iter().chain(upserts.iter().map(|(id, _, _)| id)) {
            writer.delete_term(Term::from_field_text(f.id, &id.to_string()));
        }
        for (id, _, record) in upserts {
            writer.add_document(document(&f, *id, record))?;
        }
        writer.commit()?;
        // Let pending merges finish, so that the index does not pile up small segments
        // and the snapshot never catches a merge half-way.
        writer.wait_merging_threads()?;
        self.reader.reload()?;
        for id in removals {
            self.covered.remove(id);
            self.facts.remove(id);
        }
        for (id, version, record) in upserts {
            self.covered.insert(*id, *version);
            match Fact::of(record) {
                Some(fact) => self.facts.insert(*id, fact),
                None => self.facts.remove(id),
            };
        }
        self.unsaved += upserts.len() + removals.len();
        Ok(())
    }

    /// The query of `q` and whether it has filters; `None` when it finds nothing (no
    /// words, no filter, no kind).
    fn build(&mut self, q: &SearchQuery) -> Option<(BooleanQuery, bool)> {
        let f = self.fields;
        let mut must: Vec<Box<dyn Query>> = Vec::new();
        for clause in parse_text(&q.text) {
            let (words, phrase) = match clause {
                Clause::Word(w) => (w, false),
                Clause::Phrase(w) => (w, true),
            };
            let last = words == last_word(&q.text) && !phrase && q.prefix;
            let toks = tokens(&mut self.analyzer, &words);
            if toks.is_empty() {
                continue;
            }
            let per_field = |field: Field| -> Box<dyn Query> {
                let terms: Vec<Term> = toks
                    .iter()
                    .map(|t| Term::from_field_text(field, t))
                    .collect();
                if last {
                    Box::new(PhrasePrefixQuery::new(terms))
                } else if terms.len() == 1 {
                    Box::new(TermQuery::new(
                        terms[0].clone(),
                        IndexRecordOption::WithFreqs,
                    ))
                } else {
                    Box::new(PhraseQuery::new(terms))
                }
            };
            must.push(Box::new(BooleanQuery::new(vec![
                (
                    Occur::Should,
                    Box::new(BoostQuery::new(per_field(f.title), 2.0)) as Box<dyn Query>,
                ),
                (Occur::Should, per_field(f.body)),
            ])));
        }
        let filtered = q.has_filter();
        let mut kinds = q.kinds.clone();
        if must.is_empty() {
            if !filtered && kinds.is_empty() {
                return None;
            }
            if kinds.is_empty() {
                kinds.push(Kind::Case);
            }
            must.push(Box::new(AllQuery));
        }
        if !kinds.is_empty() {
            must.push(Box::new(BooleanQuery::new(
                kinds
                    .iter()
                    .map(|k| {
                        (
                            Occur::Should,
                            Box::new(TermQuery::new(
                                Term::from_field_text(f.kind, &code(k)),
                                IndexRecordOption::Basic,
                            )) as Box<dyn Query>,
                        )
                    })
                    .collect(),
            )));
        }
        Some((
            BooleanQuery::new(must.into_iter().map(|q| (Occur::Must, q)).collect()),
            filtered,
        ))
    }

    /// Every case `q` selects, by key (see `case_key`), with no hit limit: the cases of
    /// the records its words match (every case when it has only filters) that pass its
    /// filters. An empty query selects none.
    pub(crate) fn matching_case_keys(
        &mut self,
        q: &SearchQuery,
    ) -> Result<HashSet<u64>, SearchError> {
        let Some((query, filtered)) = self.build(q) else {
            return Ok(HashSet::new());
        };
        let searcher = self.reader.searcher();
        let mut keys = searcher.search(&query, &CaseKeys)?;
        if filtered {
            let cases = self.cases_matching(&searcher, q)?;
            keys.retain(|k| cases.contains(k));
        }
        Ok(keys)
    }

    /// Runs a query. `resolve` turns a record id into (kind, case, title) from the
    /// vault's own index, or `None` when the vault no longer has it.
    pub fn search(
        &mut self,
        q: &SearchQuery,
        resolve: &dyn Fn(Uuid) -> Option<(Kind, Option<Uuid>, String)>,
    ) -> Result<(Vec<SearchHit>, usize), SearchError> {
        let Some((query, filtered)) = self.build(q) else {
            return Ok((Vec::new(), 0));
        };
        let searcher = self.reader.searcher();
        let limit = if q.limit == 0 {
            50
        } else {
            q.limit.min(10_000)
        };
        let (docs, total) = if filtered {
            let cases = Arc::new(self.cases_matching(&searcher, q)?);
            let keep = move |key: u64| cases.contains(&key);
            searcher.search(
                &query,
                &FilterCollector::new(
                    "case".to_owned(),
                    keep,
                    (TopDocs::with_limit(limit).order_by_score(), Count),
                ),
            )?
        } else {
            searcher.search(
                &query,
                &(TopDocs::with_limit(limit).order_by_score(), Count),
            )?
        };
        let mut hits = Vec::with_capacity(docs.len());
        for (score, addr) in docs {
            let Some(id) = stored_id(&searcher, self.fields.id, addr) else {
                continue;
            };
            if let Some((kind, case_id, title)) = resolve(id) {
                hits.push(SearchHit {
                    record_id: id,
                    kind,
                    case_id,
                    title,
                    score,
                });
            }
        }
        Ok((hits, total))
    }

    /// The cases (by [`case_key`]) that pass every filter of the query.
    fn cases_matching(
        &mut self,
        searcher: &Searcher,
        q: &SearchQuery,
    ) -> Result<HashSet<u64>, SearchError> {
        let f = self.fields;
        let term = |field: Field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            ))
        };
        let mut filters: Vec<Box<dyn Query>> = Vec::new();
        if let Some(s) = &q.status {
            filters.push(term(f.status, &code(s)));
        }
        for t in &q.tags {
            filters.push(term(f.tag, t));
        }
        if let Some(a) = &q.act_type {
            filters.push(term(f.act, a));
        }
        if let Some(r) = &q.role {
            filters.push(term(f.role, &code(r)));
        }
        if q.from.is_some() || q.to.is_some() {
            let mut both: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            if let Some(to) = q.to {
                both.push((
                    Occur::Must,
                    Box::new(RangeQuery::new(
                        Bound::Unbounded,
                        Bound::Included(Term::from_field_i64(f.start, day(to))),
                    )),
                ));
            }
            if let Some(from) = q.from {
                both.push((
                    Occur::Must,
                    Box::new(RangeQuery::new(
                        Bound::Included(Term::from_field_i64(f.end, day(from))),
                        Bound::Unbounded,
                    )),
                ));
            }
            filters.push(Box::new(BooleanQuery::new(both)));
        }
        if q.awaiting_response {
            filters.push(Box::new(BooleanQuery::new(
                [InterventionStatus::Sent, InterventionStatus::Acknowledged]
                    .iter()
                    .map(|s| (Occur::Should, term(f.progress, &code(s))))
                    .collect(),
            )));
        }
        if let Some(on) = q.follow_up_due {
            // One intervention both due and not closed (not one due, another open).
            filters.push(Box::new(BooleanQuery::new(vec![
                (
                    Occur::Must,
                    Box::new(RangeQuery::new(
                        Bound::Unbounded,
                        Bound::Included(Term::from_field_i64(f.follow_up, day(on))),
                    )) as Box<dyn Query>,
                ),
                (
                    Occur::MustNot,
                    term(f.progress, &code(&InterventionStatus::Closed)),
                ),
            ])));
        }
        if let Some(l) = &q.location {
            let words = tokens(&mut self.analyzer, l);
            if !words.is_empty() {
                filters.push(Box::new(BooleanQuery::new(
                    words
                        .iter()
                        .map(|w| (Occur::Must, term(f.place, w)))
                        .collect(),
                )));
            }
        }
        let mut result: Option<HashSet<u64>> = None;
        for filter in filters {
            let set = searcher.search(&filter, &CaseKeys)?;
            result = Some(match result {
                None => set,
                Some(r) => r.intersection(&set).copied().collect(),
            });
            if result.as_ref().is_some_and(HashSet::is_empty) {
                break;
            }
        }
        Ok(result.unwrap_or_default())
    }

    // ----- the snapshot -----

    /// The index's files and coverage, with `sig`, as the plaintext of its snapshot:
    /// `sig` is the vault's signature binding the file key the snapshot is sealed with
    /// ([`custos_vault::Vault::key_to_self`]), so it covers every byte without a hash of
    /// them.
    pub fn to_snapshot(
        &self,
        epoch: &[u8],
        sig: &[u8; 64],
    ) -> Result<Zeroizing<Vec<u8>>, SearchError> {
        let mut files: Vec<PathBuf> = self
            .index
            .directory()
            .list_managed_files()
            .into_iter()
            .collect();
        files.push(PathBuf::from("meta.json"));
        files.push(PathBuf::from(".managed.json"));
        files.sort();
        files.dedup();
        let mut body = Zeroizing::new(Vec::new());
        body.extend_from_slice(&(epoch.len() as u64).to_le_bytes());
        body.extend_from_slice(epoch);
        body.extend_from_slice(&(self.covered.len() as u64).to_le_bytes());
        for (r, v) in &self.covered {
            body.extend_from_slice(r.as_bytes());
            body.extend_from_slice(v.as_bytes());
        }
        body.extend_from_slice(&(self.facts.len() as u64).to_le_bytes());
        for (r, fact) in &self.facts {
            let bytes = Zeroizing::new(fact.to_bytes());
            body.extend_from_slice(r.as_bytes());
            body.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            body.extend_from_slice(&bytes);
        }
        let mut present = Vec::new();
        for path in files {
            use tantivy::Directory;
            match self.ram.atomic_read(&path) {
                Ok(bytes) => present.push((path, Zeroizing::new(bytes))),
                Err(tantivy::directory::error::OpenReadError::FileDoesNotExist(_)) => {}
                Err(e) => return Err(SearchError(e.to_string())),
            }
        }
        body.extend_from_slice(&(present.len() as u64).to_le_bytes());
        for (path, bytes) in &present {
            let name = path.to_string_lossy();
            body.extend_from_slice(&(name.len() as u64).to_le_bytes());
            body.extend_from_slice(name.as_bytes());
            body.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            body.extend_from_slice(bytes);
        }
        let mut out = Zeroizing::new(Vec::with_capacity(MAGIC.len() + 64 + body.len()));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(sig);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Restores an index from its snapshot; `verify` checks its signature of `bound`,
    /// the digest binding the key of the file it was read from
    /// ([`custos_vault::crypto::open_owned_keyed`]). A snapshot of format 4 (signed over
    /// the SHA-256 of its body) is restored too, and says so ([`SearchIndex::earlier_format`]:
    /// save it again). `None` when the bytes are not a snapshot this build or format 4
    /// wrote and signed.
    pub fn from_snapshot(
        mut bytes: Zeroizing<Vec<u8>>,
        bound: &[u8; 32],
        verify: &dyn Fn(&[u8; 32], &[u8; 64]) -> bool,
    ) -> Option<SearchIndex> {
        let total = bytes.len();
        let (rest, earlier) = match bytes.strip_prefix(MAGIC) {
            Some(rest) => (rest, false),
            None => (bytes.strip_prefix(MAGIC_4)?, true),
        };
        let sig: [u8; 64] = rest.get(..64)?.try_into().ok()?;
        let body = &rest[64..];
        let digest: [u8; 32] = if earlier {
            Sha256::digest(body).into()
        } else {
            *bound
        };
        if !verify(&digest, &sig) {
            return None;
        }
        let mut r = Reader(body);
        let len = r.u64()? as usize;
        let epoch = r.take(len)?.to_vec();
        let n = r.u64()? as usize;
        let mut covered =
            <foldhash::HashMap<_, _> as HashMapExt>::with_capacity(n.min(body.len() / 32));
        for _ in 0..n {
            let rec = Uuid::from_slice(r.take(16)?).ok()?;
            let ver = Uuid::from_slice(r.take(16)?).ok()?;
            covered.insert(rec, ver);
        }
        let n = r.u64()? as usize;
        let mut facts =
            <foldhash::HashMap<_, _> as HashMapExt>::with_capacity(n.min(body.len() / 24));
        for _ in 0..n {
            let rec = Uuid::from_slice(r.take(16)?).ok()?;
            let len = r.u64()? as usize;
            // A fact of a record the index does not hold is not a snapshot this wrote.
            if !covered.contains_key(&rec) {
                return None;
            }
            facts.insert(rec, Fact::from_bytes(r.take(len)?)?);
        }
        let files = r.u64()?;
        let mut parts = Vec::new();
        for _ in 0..files.min(total as u64 / 16) {
            let len = r.u64()? as usize;
            let name = std::str::from_utf8(r.take(len)?).ok()?;
            let path = Path::new(name);
            if path.components().count() != 1 || path.is_absolute() {
                return None;
            }
            let len = r.u64()? as usize;
            let at = total - r.0.len();
            r.take(len)?;
            parts.push((path.to_owned(), at..at + len));
        }
        if parts.len() as u64 != files || !r.0.is_empty() {
            return None;
        }
        // The index's files stay where they lie in the buffer, which the index keeps
        // (and frees, not wiped, like the rest of tantivy's memory: see the crate's
        // notes); what is not a file of it — the facts above all — is wiped first.
        let mut end = 0;
        for (_, range) in &parts {
            bytes[end..range.start].zeroize();
            end = range.end;
        }
        bytes[end..].zeroize();
        let ram = IndexDir::restored(OwnedBytes::new(std::mem::take(&mut *bytes)), parts);
        // tantivy trusts its own files and panics on some malformed ones (a segment's
        // footer length past its start): a snapshot that does not open is rebuilt, never
        // a crash.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let (_, fields) = schema();
            let index = Index::open(ram.clone()).ok()?;
            // The schema is part of the format: a snapshot of another layout is rebuilt.
            if index.schema() != schema().0 {
                return None;
            }
            let mut s = Self::finish(ram, index, fields, covered, facts).ok()?;
            s.epoch = epoch;
            s.earlier_format = earlier;
            // Every record covered must be in the index, and nothing else.
            let docs = s.reader.searcher().num_docs() as usize;
            (docs == s.covered.len()).then_some(s)
        }))
        .ok()
        .flatten()
    }
}

/// The snapshot's format, and of the folding its terms were made with: a snapshot of an
/// earlier one is not read (the index is rebuilt from the records), but for format 4,
/// whose terms and files are format 5's and whose signature covered a SHA-256 of its
/// body instead of its file's key.
const MAGIC: &[u8] = b"custos-search 5\n";

/// Format 4: read, and saved again as format 5.
const MAGIC_4: &[u8] = b"custos-search 4\n";

/// The first line of a search snapshot's plaintext (the fuzz target builds snapshots
/// with it).
pub const SNAPSHOT_MAGIC: &[u8] = MAGIC;

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

fn stored_id(searcher: &Searcher, field: Field, addr: DocAddress) -> Option<Uuid> {
    let doc: TantivyDocument = searcher.doc(addr).ok()?;
    let v = doc.get_first(field)?;
    Uuid::parse_str(v.as_str()?).ok()
}

enum Clause {
    Word(String),
    Phrase(String),
}

/// Splits a query into words and "quoted phrases" (an unclosed quote runs to the end).
fn parse_text(text: &str) -> Vec<Clause> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(['"', '«', '“']) {
        out.extend(
            rest[..start]
                .split_whitespace()
                .map(|w| Clause::Word(w.into())),
        );
        let after = &rest[start..];
        let open = after.chars().next().map_or(1, char::len_utf8);
        let inner = &after[open..];
        match inner.find(['"', '»', '”']) {
            Some(end) => {
                out.push(Clause::Phrase(inner[..end].to_owned()));
                let close = inner[end..].chars().next().map_or(1, char::len_utf8);
                rest = &inner[end + close..];
            }
            None => {
                out.push(Clause::Phrase(inner.to_owned()));
                rest = "";
            }
        }
    }
    out.extend(rest.split_whitespace().map(|w| Clause::Word(w.into())));
    out
}

/// The last bare word when the text ends with one (what is being typed).
fn last_word(text: &str) -> String {
    if text.ends_with(char::is_whitespace) || text.trim_end().ends_with(['"', '»', '”']) {
        return String::new();
    }
    text.split_whitespace().last().unwrap_or("").to_owned()
}

/// Collects the case keys of the matching documents.
struct CaseKeys;

struct CaseKeysSegment {
    column: Option<tantivy::columnar::Column<u64>>,
    keys: HashSet<u64>,
}

impl Collector for CaseKeys {
    type Fruit = HashSet<u64>;
    type Child = CaseKeysSegment;

    fn for_segment(
        &self,
        _: tantivy::SegmentOrdinal,
        segment: &tantivy::SegmentReader,
    ) -> tantivy::Result<CaseKeysSegment> {
        Ok(CaseKeysSegment {
            column: segment.fast_fields().u64("case").ok(),
            keys: HashSet::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<HashSet<u64>>) -> tantivy::Result<HashSet<u64>> {
        let mut all = HashSet::new();
        for f in fruits {
            all.extend(f);
        }
        Ok(all)
    }
}

impl SegmentCollector for CaseKeysSegment {
    type Fruit = HashSet<u64>;

    fn collect(&mut self, doc: tantivy::DocId, _: tantivy::Score) {
        if let Some(k) = self.column.as_ref().and_then(|c| c.first(doc)) {
            self.keys.insert(k);
        }
    }

    fn harvest(self) -> HashSet<u64> {
        self.keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_removes_case_and_diacritics_in_four_languages() {
        assert_eq!(fold("École Élève"), "ecole eleve");
        assert_eq!(
            fold("Detención en Querétaro, año"),
            "detencion en queretaro, ano"
        );
        assert_eq!(fold("DETAINED"), "detained");
        // Short vowels and shadda go; the hamza on the alef goes; ta marbuta → ha.
        assert_eq!(fold("مَدْرَسَة"), fold("مدرسه"));
        assert_eq!(fold("أحمد"), "احمد");
        assert_eq!(fold("إسلام"), "اسلام");
        assert_eq!(fold("آمنة"), "امنه");
        assert_eq!(fold("مصطفى"), "مصطفي");
        assert_eq!(fold("جــميل"), "جميل");
        // Persian: its yeh and kaf are the Arabic letters, the non-joiner goes, digits
        // are ASCII.
        assert_eq!(fold("کرمانشاه"), fold("كرمانشاه"));
        assert_eq!(fold("ایران"), "ايران");
        assert_eq!(fold("می‌روم"), fold("میروم"));
        assert_eq!(fold("۱۴۰۲ ١٤٠٢"), "1402 1402");
    }

    #[test]
    fn queries_split_into_words_and_phrases() {
        let c = parse_text(r#"arrest "night raid" «ليلة» ecole "unclosed phrase"#);
        let shown: Vec<String> = c
            .iter()
            .map(|c| match c {
                Clause::Word(w) => format!("w:{w}"),
                Clause::Phrase(p) => format!("p:{p}"),
            })
            .collect();
        assert_eq!(
            shown,
            [
                "w:arrest",
                "p:night raid",
                "p:ليلة",
                "w:ecole",
                "p:unclosed phrase"
            ]
        );
        assert_eq!(last_word("night ra"), "ra");
        assert_eq!(last_word("night ra "), "");
        assert_eq!(last_word("\"night raid\""), "");
    }

    #[test]
    fn a_snapshot_restores_the_same_index_and_refuses_tampering() {
        let mut idx = SearchIndex::new().unwrap();
        let case = Uuid::new_v4();
        let rec = Record::Case(custos_model::Case {
            title: "Arrestation à l'école".into(),
            summary: "Détenu la nuit".into(),
            status: CaseStatus::Open,
            tags: vec!["détention".into()],
            confidentiality: custos_model::Confidentiality::Restricted,
            owner: String::new(),
        });
        let note = Uuid::new_v4();
        let memo = Record::Note(custos_model::Note {
            case_id: case,
            text: "Seen at the gate".into(),
            about: Vec::new(),
        });
        idx.apply(
            &[(case, Uuid::new_v4(), rec), (note, Uuid::new_v4(), memo)],
            &[],
        )
        .unwrap();
        // The figures' fact of the case is kept; a note has none.
        assert_eq!(idx.facts().get(&case), Some(&Fact::Case));
        assert_eq!(idx.facts().len(), 1);
        let sign = |d: &[u8; 32]| {
            let mut s = [0u8; 64];
            s[..32].copy_from_slice(d);
            s
        };
        let verify = |d: &[u8; 32], s: &[u8; 64]| s[..32] == d[..];
        // The digest binding the key of the file the snapshot is sealed in.
        let bound = [0x5au8; 32];
        let snap = idx.to_snapshot(b"epoch", &sign(&bound)).unwrap();
        let resolve = |id: Uuid| (id == case).then(|| (Kind::Case, None, "Arrestation".to_owned()));
        let q = SearchQuery {
            text: "ecole detenu".into(),
            ..Default::default()
        };
        let mut back = SearchIndex::from_snapshot(snap.clone(), &bound, &verify).expect("restores");
        assert!(!back.earlier_format());
        let (hits, total) = back.search(&q, &resolve).unwrap();
        assert_eq!((hits.len(), total), (1, 1));
        assert_eq!(hits[0].record_id, case);
        assert_eq!(back.covered().len(), 2);
        assert_eq!(back.facts(), idx.facts());
        assert_eq!(back.epoch, b"epoch");
        // Any changed byte, a cut or a bad signature: not restored.
        for at in [MAGIC.len() + 3, MAGIC.len() + 70, snap.len() - 1] {
            let mut bad = snap.to_vec();
            bad[at] ^= 1;
            assert!(
                SearchIndex::from_snapshot(Zeroizing::new(bad), &bound, &verify).is_none(),
                "{at}"
            );
        }
        assert!(SearchIndex::from_snapshot(
            Zeroizing::new(snap[..snap.len() - 10].to_vec()),
            &bound,
            &verify
        )
        .is_none());
        assert!(SearchIndex::from_snapshot(snap.clone(), &bound, &|_, _| false).is_none());
        // The same bytes read from a file under another key (sealed again by someone
        // who knows the vault's public recipient): its signature binds the first key.
        assert!(SearchIndex::from_snapshot(snap.clone(), &[0x5bu8; 32], &verify).is_none());
        // Format 4, signed over the SHA-256 of its body, is restored (its terms and files
        // are this format's), says so, and only with that signature.
        let body = &snap[MAGIC.len() + 64..];
        let digest: [u8; 32] = Sha256::digest(body).into();
        let mut four = MAGIC_4.to_vec();
        four.extend_from_slice(&sign(&digest));
        four.extend_from_slice(body);
        let restored =
            SearchIndex::from_snapshot(Zeroizing::new(four.clone()), &[0u8; 32], &verify)
                .expect("format 4 restores");
        assert!(restored.earlier_format());
        assert_eq!(restored.covered(), back.covered());
        let mut forged = four.clone();
        forged[MAGIC_4.len()..MAGIC_4.len() + 64].copy_from_slice(&sign(&bound));
        assert!(
            SearchIndex::from_snapshot(Zeroizing::new(forged), &bound, &verify).is_none(),
            "format 4 with format 5's signature"
        );
        // A snapshot folded the earlier way (format 2, before Persian) or without the
        // figures' facts (format 3), however well signed, is not restored: its terms
        // would miss the queries folded now, its figures would have to read every record.
        for older in [&b"custos-search 2\n"[..], b"custos-search 3\n"] {
            let mut older = older.to_vec();
            older.extend_from_slice(&snap[MAGIC.len()..]);
            assert!(
                SearchIndex::from_snapshot(Zeroizing::new(older.clone()), &bound, &verify)
                    .is_none()
            );
        }

        // The restored index keeps its files where they lie in the snapshot: written to
        // until its restored segment is merged away (its files deleted), then saved and
        // restored again, it still finds every record, the old one and the new.
        let restored: Vec<PathBuf> = back
            .index
            .directory()
            .list_managed_files()
            .into_iter()
            .collect();
        let mut ids = vec![case];
        for i in 0..12 {
            let id = Uuid::new_v4();
            let rec = Record::Case(custos_model::Case {
                title: format!("Convocation {i}"),
                summary: "Détenu au poste".into(),
                status: CaseStatus::Open,
                tags: Vec::new(),
                confidentiality: custos_model::Confidentiality::Restricted,
                owner: String::new(),
            });
            back.apply(&[(id, Uuid::new_v4(), rec)], &[]).unwrap();
            ids.push(id);
        }
        let now: HashSet<PathBuf> = back.index.directory().list_managed_files();
        assert!(
            restored
                .iter()
                .any(|f| f.extension().is_some_and(|e| e != "json") && !now.contains(f)),
            "no restored segment was merged away: {restored:?}"
        );
        let again = back.to_snapshot(b"epoch 2", &sign(&bound)).unwrap();
        let mut twice = SearchIndex::from_snapshot(again, &bound, &verify).expect("restores");
        let all = |id: Uuid| ids.contains(&id).then(|| (Kind::Case, None, String::new()));
        let detenu = SearchQuery {
            text: "detenu".into(),
            ..Default::default()
        };
        assert_eq!(twice.search(&detenu, &all).unwrap().1, 13);
        assert_eq!(twice.search(&q, &all).unwrap().1, 1);
    }

    /// The layout before interventions kept their status and follow-up date: a snapshot
    /// of it, however well signed, is not restored (the vault rebuilds the index, so the
    /// follow-up filters never miss an intervention indexed before them).
    fn layout_before_follow_up() -> (Schema, Fields) {
        let text = |positions: bool| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(TOKENIZER)
                    .set_index_option(if positions {
                        IndexRecordOption::WithFreqsAndPositions
                    } else {
                        IndexRecordOption::WithFreqs
                    }),
            )
        };
        let mut b = Schema::builder();
        let id = b.add_text_field("id", STRING | STORED);
        let case = b.add_u64_field("case", FAST);
        let kind = b.add_text_field("kind", STRING);
        let title = b.add_text_field("title", text(true));
        let body = b.add_text_field("body", text(true));
        let status = b.add_text_field("status", STRING);
        let tag = b.add_text_field("tag", STRING);
        let act = b.add_text_field("act", STRING);
        let role = b.add_text_field("role", STRING);
        let start = b.add_i64_field("start", INDEXED | FAST);
        let end = b.add_i64_field("end", INDEXED | FAST);
        let place = b.add_text_field("place", text(false));
        let (_, current) = schema();
        let fields = Fields {
            id,
            case,
            kind,
            title,
            body,
            status,
            tag,
            act,
            role,
            start,
            end,
            place,
            ..current
        };
        (b.build(), fields)
    }

    #[test]
    fn a_snapshot_of_the_layout_before_follow_up_is_rebuilt() {
        let (old, fields) = layout_before_follow_up();
        assert_ne!(old, schema().0, "the layout changed");
        let ram = IndexDir::default();
        let index = Index::create(ram.clone(), old, Default::default()).unwrap();
        let mut idx =
            SearchIndex::finish(ram, index, fields, Default::default(), Default::default())
                .unwrap();
        let case = Uuid::new_v4();
        let mut doc = TantivyDocument::default();
        doc.add_text(fields.id, case.to_string());
        doc.add_u64(fields.case, case_key(case));
        doc.add_text(fields.kind, "case");
        let mut writer: IndexWriter<TantivyDocument> =
            idx.index.writer_with_num_threads(1, 15_000_000).unwrap();
        writer.add_document(doc).unwrap();
        writer.commit().unwrap();
        writer.wait_merging_threads().unwrap();
        idx.reader.reload().unwrap();
        idx.covered.insert(case, Uuid::new_v4());
        let snap = idx.to_snapshot(b"epoch", &[7u8; 64]).unwrap();
        assert!(
            SearchIndex::from_snapshot(snap.clone(), &[0u8; 32], &|_, _| true).is_none(),
            "restored a snapshot whose interventions lack their follow-up"
        );
    }
}
