//! Near-duplicate detection at scale on synthetic articles.
//!
//! `cargo bench --bench dedup [-- MAX_N]` (default 100 000) generates articles of about 400
//! words from a fixed-seed Zipf-distributed vocabulary of 50 000 words, with stock phrases
//! sprinkled in (so unrelated articles share some shingles, as agency copy does) and 10% near
//! duplicates of a recent article (new lead, dropped paragraph, shuffled paragraphs, truncation,
//! digest of two stories; a fifth of them published *before* their original, which moves the
//! cluster head). It prints, single-threaded:
//! 1. the pure per-article cost (shingles + MinHash + band keys), no index;
//! 2. the full path on the in-memory store (`MemStore`);
//! 3. the full path as the pipeline runs it (`NearIndex`: in-memory index, rows committed to
//!    the SQLite state every 50 articles like the sink's flush), with the index size per
//!    article, and at N = 10 000, 100 000, 1 000 000 (those within MAX_N) the cost of the next
//!    1 000 articles and of loading the index from SQLite (what each run pays on open).
//!
//! Text generation is excluded from every timing (texts are generated in chunks beforehand).
//! Peak RSS: run the built binary under `/usr/bin/time -v`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use newsmill::dedup::link::{self, NearStore, Plan, ShingleSource, Thresholds};
use newsmill::dedup::minhash::Signature;
use newsmill::dedup::{IndexedDoc, MemStore, NearDoc, Rank, ShingleCache, ShingleSet};
use newsmill::pipeline::near::{NearError, NearIndex};
use newsmill::state::State;

const VOCAB: usize = 50_000;
const STOCK: usize = 300;
const CHUNK: usize = 10_000;
const CHECKPOINTS: [usize; 3] = [10_000, 100_000, 1_000_000];

/// splitmix64: the bench's only randomness, seeded per article so any article regenerates alone.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Vocabulary, its Zipf–Mandelbrot CDF, and stock phrases.
struct Language {
    words: Vec<String>,
    cdf: Vec<f64>,
    stock: Vec<String>,
}

impl Language {
    fn new() -> Self {
        const SYL: [&str; 24] = [
            "ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "bel", "dor", "gra", "zen", "pol",
            "ter", "um", "an", "is", "ov", "sk", "ya", "lin", "mar", "tos", "ev",
        ];
        let mut rng = Rng(42);
        let words: Vec<String> = (0..VOCAB)
            .map(|r| {
                let n = 1 + usize::from(r > 50) + usize::from(r > 2000) + rng.below(2);
                let w: String = (0..n).map(|_| SYL[rng.below(SYL.len())]).collect();
                format!(
                    "{w}{}",
                    if r > 20_000 {
                        r.to_string()
                    } else {
                        String::new()
                    }
                )
            })
            .collect();
        let mut acc = 0.0;
        let cdf = (0..VOCAB)
            .map(|r| {
                acc += 1.0 / (r as f64 + 2.7).powf(1.05);
                acc
            })
            .collect::<Vec<_>>();
        let total = acc;
        let cdf = cdf.into_iter().map(|c| c / total).collect();
        let mut lang = Self {
            words,
            cdf,
            stock: Vec::new(),
        };
        lang.stock = (0..STOCK)
            .map(|_| {
                let len = 6 + rng.below(5);
                lang.sentence(&mut rng, len)
            })
            .collect();
        lang
    }

    fn word(&self, rng: &mut Rng) -> &str {
        let u = rng.unit();
        let i = self.cdf.partition_point(|c| *c < u).min(VOCAB - 1);
        &self.words[i]
    }

    fn sentence(&self, rng: &mut Rng, len: usize) -> String {
        let mut s: Vec<&str> = (0..len).map(|_| self.word(rng)).collect();
        if !self.stock.is_empty() && rng.below(7) == 0 {
            s.push(&self.stock[rng.below(self.stock.len())]);
        }
        s.join(" ")
    }

    /// The article an id would be if it were an original: 6–10 paragraphs, ~400 words.
    fn original(&self, i: usize) -> Vec<String> {
        let mut rng = Rng(i as u64 ^ 0xa5a5_0000_0000);
        let paras = 6 + rng.below(5);
        (0..paras)
            .map(|_| {
                let sentences = 2 + rng.below(3);
                let s: Vec<String> = (0..sentences)
                    .map(|_| {
                        let len = 8 + rng.below(14);
                        self.sentence(&mut rng, len)
                    })
                    .collect();
                s.join(". ") + "."
            })
            .collect()
    }
}

/// Whether article `i` is a near duplicate, and of which earlier original.
fn base_of(i: usize) -> Option<usize> {
    let mut rng = Rng(i as u64 ^ 0x5151);
    if i < 100 || rng.below(10) != 0 {
        return None;
    }
    let mut j = i - 1 - rng.below(2000.min(i - 1));
    while j > 0 && base_of_shallow(j) {
        j -= 1;
    }
    Some(j)
}

fn base_of_shallow(j: usize) -> bool {
    j >= 100 && Rng(j as u64 ^ 0x5151).below(10) == 0
}

/// Text and rank of article `i`.
fn article(lang: &Language, i: usize) -> (String, Rank) {
    let mut rng = Rng(i as u64 ^ 0x7777);
    let mut published = i as i64 * 60_000_000;
    let text = match base_of(i) {
        None => lang.original(i).join("\n\n"),
        Some(b) => {
            let mut p = lang.original(b);
            match rng.below(5) {
                0 => p.insert(0, lang.sentence(&mut rng, 25)),
                1 => drop(p.remove(rng.below(p.len()))),
                2 => {
                    let last = p.len() - 1;
                    p.swap(1, last);
                }
                3 => p.truncate(p.len() / 2 + 1),
                _ => p.extend(lang.original(i)),
            }
            if rng.below(5) == 0 {
                published = b as i64 * 60_000_000 - 1;
            }
            p.join("\n\n")
        }
    };
    let rank = Rank {
        published_us: Some(published),
        republished: false,
        source_id: if i.is_multiple_of(3) {
            "sb_en"
        } else {
            "belta_en"
        }
        .into(),
        url_len: 40 + (i % 37) as u32,
        id: id(i),
    };
    (text, rank)
}

fn id(i: usize) -> String {
    format!("d{i:012}")
}

/// Shingles by id: the pipeline's cache in front of regeneration (standing in for corpus reads).
struct Texts<'a> {
    lang: &'a Language,
    cache: ShingleCache,
    misses: u64,
    lookups: u64,
}

impl ShingleSource for Texts<'_> {
    type Error = NearError;
    fn shingles(&mut self, id: &str) -> Result<Option<Arc<ShingleSet>>, NearError> {
        self.lookups += 1;
        if let Some(s) = self.cache.get(id) {
            return Ok(Some(s));
        }
        self.misses += 1;
        let i: usize = id.get(1..).and_then(|n| n.parse().ok()).unwrap_or(0);
        let set = Arc::new(ShingleSet::of_text(&article(self.lang, i).0));
        self.cache.insert(id, set.clone());
        Ok(Some(set))
    }
}

/// Counts the band candidates a store returns.
struct Counting<S> {
    inner: S,
    candidates: u64,
}

impl<S: NearStore> NearStore for Counting<S> {
    type Error = S::Error;
    fn candidates(&mut self, bands: &[u32]) -> Result<Vec<IndexedDoc>, S::Error> {
        let c = self.inner.candidates(bands)?;
        self.candidates += c.len() as u64;
        Ok(c)
    }
    fn members(&mut self, head: &str) -> Result<Vec<IndexedDoc>, S::Error> {
        self.inner.members(head)
    }
    fn apply(&mut self, plan: &Plan) -> Result<(), S::Error> {
        self.inner.apply(plan)
    }
}

/// [`MemStore`] with the pipeline's error type, so both stores run through the same code.
struct Mem(MemStore);

impl NearStore for Mem {
    type Error = NearError;
    fn candidates(&mut self, bands: &[u32]) -> Result<Vec<IndexedDoc>, NearError> {
        self.0.candidates(bands).map_err(|e| match e {})
    }
    fn members(&mut self, head: &str) -> Result<Vec<IndexedDoc>, NearError> {
        self.0.members(head).map_err(|e| match e {})
    }
    fn apply(&mut self, plan: &Plan) -> Result<(), NearError> {
        self.0.apply(plan).map_err(|e| match e {})
    }
}

/// A store the bench can drive; `commit` runs where the sink flushes (every 50 articles).
trait Store: NearStore<Error = NearError> {
    fn commit(&mut self) {}
}

impl Store for Mem {}

/// What the pipeline runs: the in-memory index with rows committed to SQLite.
struct Persisted<'a> {
    index: NearIndex,
    state: &'a State,
}

impl NearStore for Persisted<'_> {
    type Error = NearError;
    fn candidates(&mut self, bands: &[u32]) -> Result<Vec<IndexedDoc>, NearError> {
        self.index.candidates(bands)
    }
    fn members(&mut self, head: &str) -> Result<Vec<IndexedDoc>, NearError> {
        self.index.members(head)
    }
    fn apply(&mut self, plan: &Plan) -> Result<(), NearError> {
        self.index.apply(plan)
    }
}

impl Store for Persisted<'_> {
    fn commit(&mut self) {
        self.index.commit(self.state).expect("index commit");
    }
}

fn texts(lang: &Language, range: std::ops::Range<usize>) -> Vec<(String, Rank)> {
    range.map(|i| article(lang, i)).collect()
}

fn rate(n: usize, d: Duration) -> String {
    format!(
        "{:.0} articles/s ({:.1} µs/article)",
        n as f64 / d.as_secs_f64(),
        d.as_secs_f64() * 1e6 / n as f64
    )
}

fn pure_core(lang: &Language, n: usize) {
    let batch = texts(lang, 0..n.min(CHUNK * 2));
    let words: usize = batch
        .iter()
        .map(|(t, _)| t.split_whitespace().count())
        .sum();
    let t = Instant::now();
    let mut keys = 0u64;
    for (text, _) in &batch {
        let s = ShingleSet::of_text(text);
        keys = keys.wrapping_add(u64::from(Signature::of(&s).band_keys()[0]));
    }
    println!(
        "1. shingles+minhash+bands, {} articles (mean {} words): {} [{keys:x}]",
        batch.len(),
        words / batch.len(),
        rate(batch.len(), t.elapsed())
    );
}

/// Adds articles `0..n` to `store`; calls `window(N, time)` with the dedup time of articles
/// `N..N+1000` for every checkpoint N.
fn run_index<S: Store>(
    label: &str,
    lang: &Language,
    n: usize,
    store: S,
    mut window: impl FnMut(usize, Duration),
) {
    let mut store = Counting {
        inner: store,
        candidates: 0,
    };
    let mut src = Texts {
        lang,
        cache: ShingleCache::new(4 << 20),
        misses: 0,
        lookups: 0,
    };
    let (th, mut busy, mut linked) = (Thresholds::DEFAULT, Duration::ZERO, 0u64);
    let mut heads: HashMap<bool, u64> = HashMap::new();
    let mut window_start = Duration::ZERO;
    let mut start = 0;
    while start < n {
        let end = (start + CHUNK).min(n);
        for (k, (text, rank)) in texts(lang, start..end).into_iter().enumerate() {
            let i = start + k;
            let t = Instant::now();
            let doc = NearDoc::new(rank, &text);
            let plan = link::add(&mut store, &mut src, &doc, &th).expect("index write");
            src.cache.insert(&doc.info.rank.id, doc.shingles.clone());
            if i % 50 == 49 || i + 1 == n {
                store.inner.commit();
            }
            busy += t.elapsed();
            linked += u64::from(plan.links[0].1.near_duplicate_of.is_some());
            *heads.entry(plan.links.len() > 1).or_default() += 1;
            if CHECKPOINTS.contains(&i) {
                window_start = busy;
            } else if i >= 1000 && CHECKPOINTS.contains(&(i - 1000)) {
                window(i - 1000, busy - window_start);
            }
        }
        start = end;
    }
    println!(
        "{label}: {n} articles: {}; linked {linked}, records relinked by a head change in {} adds; \
         band candidates {:.2}/article, shingle lookups {:.2}/article, cache misses {}",
        rate(n, busy),
        heads.get(&true).copied().unwrap_or(0),
        store.candidates as f64 / n as f64,
        src.lookups as f64 / n as f64,
        src.misses
    );
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let lang = Language::new();
    println!("synthetic corpus: {n} articles, 10% near duplicates, seed-fixed");
    pure_core(&lang, n);
    let mem = n.min(100_000);
    run_index(
        "2. full path, MemStore",
        &lang,
        mem,
        Mem(MemStore::default()),
        |_, _| {},
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let state = State::open(dir.path()).expect("state");
    let store = Persisted {
        index: NearIndex::default(),
        state: &state,
    };
    run_index(
        "3. full path, SQLite-backed",
        &lang,
        n,
        store,
        |at, took| {
            let size = state.near_index_size().expect("dbstat");
            let t = Instant::now();
            let (loaded, ok) = NearIndex::load(&state).expect("load");
            let load = t.elapsed();
            println!(
                "   N = {at:>9}: next 1 000 articles {:.3} s ({}); index {} B/article; \
             loading the index on open: {} records in {:.3} s{}",
                took.as_secs_f64(),
                rate(1000, took),
                size.bytes / size.records.max(1),
                loaded.len(),
                load.as_secs_f64(),
                if ok { "" } else { " (INCONSISTENT)" }
            );
        },
    );
    let size = state.near_index_size().expect("dbstat");
    let file = std::fs::metadata(dir.path().join("newsmill.sqlite"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "   index: {} records, {} bytes in near_record pages = {} B/article (database file {} B)",
        size.records,
        size.bytes,
        size.bytes / size.records.max(1),
        file
    );
}
