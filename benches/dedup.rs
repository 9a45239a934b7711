//! Near-duplicate detection at scale on synthetic articles.
//!
//! `cargo bench --bench dedup [-- MAX_N] [--disk-only]` (default 100 000) generates articles of
//! about 400 words from a fixed-seed Zipf-distributed vocabulary of 50 000 words, with stock
//! phrases sprinkled in (so unrelated articles share some shingles, as agency copy does), 8 %
//! near copies of a recent article (new lead, dropped paragraph, moved paragraphs, truncation; a
//! fifth of them published *before* their original, which moves the cluster head), 2 % digests
//! quoting 2–3 recent stories whole, and 2 % daily notes (one per template a day) whose figures
//! change from note to note (`dedup/synth.rs`), published at 20 000 articles a day
//! (`--per-day N` to change it). It prints, single-threaded:
//! 1. the pure per-article cost (shingles + MinHash + band keys), no index;
//! 2. (not with `--disk-only`) the full path on the in-memory store (`MemStore`, at most
//!    100 000 articles), whether every copy and every digest–quoted story pair ended in one
//!    cluster and how many template notes were linked to anything (`dedup/quality.rs`), and the
//!    resident-set growth of holding the index;
//! 3. the full path as the pipeline runs it: the on-disk index (`DiskStore` on `NearDb`, a
//!    SQLite file in a temp folder under `$TMPDIR`), committed every 50 articles like the sink's
//!    flush; at N = 100 000, 1 000 000, 3 000 000 and 10 000 000 (those with N + 1 000 ≤ MAX_N)
//!    the cost of the next 1 000 articles, the index bytes per article and the time to open the
//!    index and then to add the next 1 000 articles to the index just opened, as a cron `run`
//!    does (a second handle on the committed file, in a child process, `--open DIR AT`, so
//!    that it does not count in the bench's peak RSS; it commits nothing), as one batch read
//!    ahead first (`link::warm`, as a library caller adding a batch may; with `NEWSMILL_BENCH_NO_WARM` set each
//!    lookup reads as it goes, as the crawl's adds do); at the end the same
//!    quality figures, read back from the index, and the peak RSS.
//!
//! Text generation is excluded from every timing (texts are generated in chunks beforehand).
//! Times are thread CPU time (the per-core figure) with wall time beside it; an open, which
//! reads the run filters on a second thread too, also prints the CPU time of all threads.
//! Peak RSS: run the built binary under `/usr/bin/time -v` (with `--disk-only` it is the disk
//! path's). `--no-stock` generates the corpus without stock phrases. `-- N --dump FILE` writes
//! the first N texts as JSON lines for `dedup/datasketch_bench.py` (the comparison in the
//! README). `--pair A B` prints what the index sees of articles A and B; `--window A B I…` adds
//! articles A..B alone to an in-memory index and prints the cluster each article I ends in
//! (whether a miss the quality check lists at scale happens among its neighbours alone). `N --far-keys`
//! prints how many note pairs and copy pairs bands of 2, 3 and 4 rows would make far
//! candidates, and how many the far keys do (`far_keys`: salted with the figures after their
//! shingles, `dedup::keys`). `--runs-of R` closes and reopens the on-disk index every R
//! articles, as cron `run`s of R articles each would (the lookup counts printed then cover
//! the current run only). `--keep DIR` builds the on-disk index in DIR and keeps it: the same
//! command later goes on from the articles it holds (rates and counts then cover the articles
//! added by this call), and creating the file `DIR/stop` ends a call cleanly at the next
//! 1 000 articles, so a 10 M index can be built over several sittings. `--compact DIR`
//! compacts the index in DIR (`newsmill compact`'s work) and prints what it took; an open
//! with a cold page cache before and after (`echo 3 > /proc/sys/vm/drop_caches`, then
//! `--open DIR AT`) shows what it is for.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use newsmill::dedup::disk::{DiskStore, Memory, NearBackend, Shape};
use newsmill::dedup::keys;
use newsmill::dedup::link::{self, Hit, NearStore, Plan, Relations, ShingleSource, Thresholds};
use newsmill::dedup::minhash::{BANDS, MIN_BAND_MATCHES};
use newsmill::dedup::screen::LookupCounts;
use newsmill::dedup::{IndexedDoc, MemStore, NearDoc, Rank, ShingleCache, ShingleSet};
use newsmill::pipeline::near::{NearError, NearIndex};
use newsmill::state::NearDb;

#[path = "common/proc.rs"]
mod proc;
#[path = "dedup/quality.rs"]
mod quality;
#[path = "common/rng.rs"]
mod rng;
#[path = "dedup/synth.rs"]
mod synth;

use synth::{Language, article};

const CHUNK: usize = 2_000;
const CHECKPOINTS: [usize; 4] = [100_000, 1_000_000, 3_000_000, 10_000_000];

/// Shingles by id: the pipeline's cache in front of regeneration (standing in for corpus reads).
struct Texts<'a> {
    lang: &'a Language,
    cache: ShingleCache,
    misses: u64,
    lookups: u64,
}

impl<'a> Texts<'a> {
    fn new(lang: &'a Language) -> Self {
        Self {
            lang,
            cache: ShingleCache::new(4 << 20),
            misses: 0,
            lookups: 0,
        }
    }

    /// Adds article `i` to `store` as the pipeline does, keeping its shingles in the cache.
    fn add<S: Store>(&mut self, store: &mut S, i: usize, text: &str, rank: Rank) -> Plan {
        self.add_doc(store, i, NearDoc::new(rank, text))
    }

    fn add_doc<S: Store>(&mut self, store: &mut S, i: usize, doc: NearDoc) -> Plan {
        store.begin(i);
        let plan = link::add(store, self, &doc, &Thresholds::DEFAULT).expect("index write");
        self.cache.insert(&doc.info.rank.id, doc.shingles.clone());
        plan
    }
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

/// [`MemStore`] with the pipeline's error type, so both stores run through the same code.
struct Mem(MemStore);

impl NearStore for Mem {
    type Error = NearError;
    fn candidates(
        &mut self,
        bands: &[u32],
        keep: &mut dyn FnMut(Hit) -> bool,
    ) -> Result<Vec<(IndexedDoc, Hit)>, NearError> {
        self.0.candidates(bands, keep).map_err(|e| match e {})
    }
    fn find(&mut self, id: &str) -> Result<Option<IndexedDoc>, NearError> {
        self.0.find(id).map_err(|e| match e {})
    }
    fn relations(&mut self, id: &str) -> Result<Relations, NearError> {
        self.0.relations(id).map_err(|e| match e {})
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
    /// Article `i` is about to be added.
    fn begin(&mut self, _i: usize) {}
    /// The lookups' tally so far, when the store keeps one.
    fn tally(&self) -> Option<Tally> {
        None
    }
    /// What the index holds in memory, when it is the on-disk one.
    fn memory(&self) -> Option<Memory> {
        None
    }
    /// The store's own count of what its lookups found.
    fn counts(&self) -> LookupCounts;
    /// The store after a cron `run`'s end and the next one's start (`--runs-of`).
    fn reopened(self) -> Self
    where
        Self: Sized,
    {
        self
    }
}

impl Store for Mem {
    fn counts(&self) -> LookupCounts {
        self.0.counts()
    }
}

/// What the pipeline runs: the on-disk index, with a tally of its lookups by path and by the
/// kind of the article being added ([`Tally`]).
struct Disk(NearIndex, Tally);

/// The lookups of one path (near or far) for one kind of article.
#[derive(Debug, Clone, Copy, Default)]
struct PathTally {
    candidates: u64,
    screened: u64,
    ns: u128,
    bucket_reads: u64,
    /// Postings gathered before counting (`LookupCounts::postings`).
    postings: u64,
}

/// Postings, candidates (≥ 3 equal keys), screened candidates and wall time of the lookups,
/// split by path (near = `candidates_within`, far = `candidates`) and by whether the article
/// being added is a daily template note; and the wall time of the adds (`apply`: writes, run
/// writes and merges). Wall time (`Instant`), so it includes waiting for the other processes
/// of a loaded machine: read it as shares, not as CPU time.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    note: bool,
    /// `[note][far]`.
    by: [[PathTally; 2]; 2],
    /// Articles added, notes among them.
    articles: [u64; 2],
    apply_ns: u128,
}

impl Tally {
    /// Notes a lookup of the `far` path that began at `t` with the store's counts `before`.
    fn lookup(&mut self, far: bool, before: LookupCounts, after: LookupCounts, t: Instant) {
        let slot = &mut self.by[usize::from(self.note)][usize::from(far)];
        slot.candidates += after.candidates - before.candidates;
        slot.screened += after.screened - before.screened;
        slot.ns += t.elapsed().as_nanos();
        slot.bucket_reads += after.bucket_reads - before.bucket_reads;
        slot.postings += after.postings - before.postings;
    }

    /// Per-article figures of `self − earlier` for one line of the progress output.
    fn line(&self, earlier: &Self) -> String {
        let mut out = String::new();
        for (note, name) in [(0, "others"), (1, "notes")] {
            let n = (self.articles[note] - earlier.articles[note]).max(1) as f64;
            let part = |far: usize| {
                let (a, b) = (self.by[note][far], earlier.by[note][far]);
                format!(
                    "{:.1} postings / {:.2} cand / {:.2} screened / {:.2} bucket reads / {:.0} µs",
                    (a.postings - b.postings) as f64 / n,
                    (a.candidates - b.candidates) as f64 / n,
                    (a.screened - b.screened) as f64 / n,
                    (a.bucket_reads - b.bucket_reads) as f64 / n,
                    (a.ns - b.ns) as f64 / n / 1e3
                )
            };
            out += &format!(" {name} ({n}): near {} | far {};", part(0), part(1));
        }
        let all = (self.articles[0] + self.articles[1] - earlier.articles[0] - earlier.articles[1])
            .max(1) as f64;
        out + &format!(
            " apply {:.0} µs",
            (self.apply_ns - earlier.apply_ns) as f64 / all / 1e3
        )
    }
}

impl NearStore for Disk {
    type Error = NearError;
    fn candidates(
        &mut self,
        bands: &[u32],
        keep: &mut dyn FnMut(Hit) -> bool,
    ) -> Result<Vec<(IndexedDoc, Hit)>, NearError> {
        let (before, t) = (self.0.counts(), Instant::now());
        let out = self.0.candidates(bands, keep)?;
        self.1.lookup(true, before, self.0.counts(), t);
        Ok(out)
    }
    fn candidates_within(
        &mut self,
        bands: &[u32],
        span: Option<(i64, i64)>,
        keep: &mut dyn FnMut(Hit) -> bool,
    ) -> Result<Vec<(IndexedDoc, Hit)>, NearError> {
        let (before, t) = (self.0.counts(), Instant::now());
        let out = self.0.candidates_within(bands, span, keep)?;
        self.1.lookup(false, before, self.0.counts(), t);
        Ok(out)
    }
    fn warm(&mut self, adds: usize, lookups: &mut [link::Lookup<'_>]) {
        self.0.warm(adds, lookups);
    }
    fn find(&mut self, id: &str) -> Result<Option<IndexedDoc>, NearError> {
        Ok(self.0.find(id)?)
    }
    fn relations(&mut self, id: &str) -> Result<Relations, NearError> {
        Ok(self.0.relations(id)?)
    }
    fn members(&mut self, head: &str) -> Result<Vec<IndexedDoc>, NearError> {
        Ok(self.0.members(head)?)
    }
    fn apply(&mut self, plan: &Plan) -> Result<(), NearError> {
        let t = Instant::now();
        self.0.apply(plan)?;
        self.1.apply_ns += t.elapsed().as_nanos();
        Ok(())
    }
}

impl Store for Disk {
    fn begin(&mut self, i: usize) {
        self.1.note = matches!(synth::kind(i), synth::Kind::Template(_));
        self.1.articles[usize::from(self.1.note)] += 1;
    }
    fn tally(&self) -> Option<Tally> {
        Some(self.1)
    }
    fn memory(&self) -> Option<Memory> {
        Some(self.0.memory())
    }
    fn commit(&mut self) {
        self.0.commit().expect("index commit");
    }
    fn counts(&self) -> LookupCounts {
        self.0.counts()
    }
    /// Commits, closes the index, and opens it again (its lookup counts start from zero).
    fn reopened(self) -> Self {
        let Disk(mut index, tally) = self;
        index.commit().expect("index commit");
        let dir = index
            .backend()
            .path()
            .parent()
            .expect("state dir")
            .to_path_buf();
        drop(index);
        let db = NearDb::open(&dir).expect("index db");
        let (index, ok) = DiskStore::open(db, Shape::DEFAULT).expect("open");
        assert!(ok, "a committed index reopens consistent");
        Disk(index, tally)
    }
}

fn texts(lang: &Language, range: std::ops::Range<usize>) -> Vec<(String, Rank)> {
    range.map(|i| article(lang, i)).collect()
}

/// Thread CPU time (from `/proc/thread-self/schedstat`, nanoseconds) and wall time. CPU time
/// is the per-core figure: other processes on the machine do not inflate it.
#[derive(Debug, Clone, Copy, Default)]
struct Meter {
    cpu: Duration,
    wall: Duration,
}

impl Meter {
    fn now() -> Self {
        static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        let ns = std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        Self {
            cpu: Duration::from_nanos(ns),
            wall: ORIGIN.get_or_init(Instant::now).elapsed(),
        }
    }
    fn minus(self, o: Self) -> Self {
        Self {
            cpu: self.cpu.saturating_sub(o.cpu),
            wall: self.wall.saturating_sub(o.wall),
        }
    }
    fn plus(self, o: Self) -> Self {
        Self {
            cpu: self.cpu + o.cpu,
            wall: self.wall + o.wall,
        }
    }
    fn rate(self, n: usize) -> String {
        let per = |d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
        format!(
            "{:.0} articles/s of CPU ({:.1} µs/article; wall {:.0}/s)",
            per(self.cpu),
            self.cpu.as_secs_f64() * 1e6 / n as f64,
            per(self.wall)
        )
    }
}

fn pure_core(lang: &Language, n: usize) {
    let batch = texts(lang, 0..n.min(CHUNK * 2));
    let words: usize = batch
        .iter()
        .map(|(t, _)| t.split_whitespace().count())
        .sum();
    let t = Meter::now();
    let mut sum = 0u64;
    for (text, _) in &batch {
        let s = ShingleSet::of_text(text);
        let k = keys::record_keys(&s);
        sum = sum.wrapping_add(u64::from(k[0] ^ k[keys::FILED - 1]));
    }
    println!(
        "1. shingles+minhash+keys, {} articles (mean {} words): {} [{sum:x}]",
        batch.len(),
        words / batch.len(),
        Meter::now().minus(t).rate(batch.len())
    );
}

/// `--runs-of R`: articles a cron `run` adds before the index is committed, closed and
/// opened again (0: one run).
fn runs_of() -> usize {
    (std::env::args().skip_while(|a| a != "--runs-of").nth(1))
        .and_then(|a| a.parse().ok())
        .unwrap_or(0)
}

/// Adds articles `from..n` to `store` (`from`: the articles it already holds); calls
/// `window(N, time)` with the dedup time of articles `N..N+1000` for every checkpoint N (the
/// time spent in `window` is not counted). Returns the store and the articles it then holds:
/// fewer than `n` when `stop` (a file, `--keep`) appeared, which is looked for every 1 000.
fn run_index<S: Store>(
    label: &str,
    lang: &Language,
    (from, n): (usize, usize),
    store: S,
    stop: Option<&std::path::Path>,
    mut window: impl FnMut(usize, Meter),
) -> (S, usize) {
    let mut store = store;
    let mut src = Texts::new(lang);
    let mut linked = 0u64;
    let (mut busy, mut window_open) = (Meter::default(), Meter::default());
    // Time spent in `window` (opening a second index handle), kept out of the rates.
    let mut paused = Meter::default();
    let mut heads: HashMap<bool, u64> = HashMap::new();
    // The slowest aligned block of 1 000 articles (merges included), and where it started.
    let (mut worst, mut block_paused) = ((Meter::default(), 0usize), Meter::default());
    let mut tally_at = Tally::default();
    let (mut start, runs_of) = (from, runs_of());
    let mut held = n;
    'chunks: while start < n {
        let end = (start + CHUNK).min(n);
        let batch = texts(lang, start..end);
        let chunk = Meter::now();
        let mut block = chunk;
        for (k, (text, rank)) in batch.into_iter().enumerate() {
            let i = start + k;
            let plan = src.add(&mut store, i, &text, rank);
            if i % 50 == 49 || i + 1 == n {
                store.commit();
            }
            if runs_of > 0 && (i + 1).is_multiple_of(runs_of) && i + 1 < n {
                store = store.reopened();
            }
            linked += u64::from(plan.links[0].1.near_duplicate_of.is_some());
            *heads.entry(plan.links.len() > 1).or_default() += 1;
            // The window is articles N..N+1000: it opens after article N-1, closes after N+999.
            if CHECKPOINTS.contains(&(i + 1)) {
                window_open = busy.plus(Meter::now().minus(chunk));
            } else if i >= 1000 && CHECKPOINTS.contains(&(i + 1 - 1000)) {
                let close = busy.plus(Meter::now().minus(chunk));
                let aside = Meter::now();
                window(i + 1 - 1000, close.minus(window_open));
                paused = paused.plus(Meter::now().minus(aside));
                block_paused = block_paused.plus(Meter::now().minus(aside));
            }
            if i % 1000 == 999 {
                let took = Meter::now().minus(block).minus(block_paused);
                if took.cpu > worst.0.cpu {
                    worst = (took, i + 1 - 1000);
                }
                (block, block_paused) = (Meter::now(), Meter::default());
                // Not where a checkpoint's window opens: it would close in another call.
                let window_opens = CHECKPOINTS.contains(&(i + 1));
                if stop.is_some_and(std::path::Path::exists) && i + 1 < n && !window_opens {
                    store.commit();
                    println!("{label}: stopped after article {} (stop file)", i + 1);
                    busy = busy.plus(Meter::now().minus(chunk)).minus(paused);
                    held = i + 1;
                    break 'chunks;
                }
            }
            if (i + 1).is_multiple_of(100_000) {
                eprintln!(
                    "   [{label}] {} articles, {:.0} s CPU so far, candidates {:.2}/article ({:.2} past the screen)",
                    i + 1,
                    busy.plus(Meter::now().minus(chunk))
                        .minus(paused)
                        .cpu
                        .as_secs_f64(),
                    store.counts().candidates as f64 / (i + 1 - from) as f64,
                    store.counts().screened as f64 / (i + 1 - from) as f64,
                );
                if let Some(t) = store.tally() {
                    eprintln!("     last 100 000 per article:{}", t.line(&tally_at));
                    tally_at = t;
                }
                if let Some(m) = store.memory() {
                    let mb = |b: usize| b as f64 / 1e6;
                    eprintln!(
                        "     index memory {:.1} MB: tail {:.1}, frozen tail {:.1}, kept near {:.1}, \
                         run filters {:.1}, merges {:.1}, sizes {:.1}; {}",
                        mb(m.total()),
                        mb(m.tail),
                        mb(m.frozen),
                        mb(m.live),
                        mb(m.filters),
                        mb(m.merges),
                        mb(m.sizes),
                        status("VmRSS:")
                    );
                }
            }
        }
        busy = busy.plus(Meter::now().minus(chunk)).minus(paused);
        paused = Meter::default();
        start = end;
    }
    let added = (held - from).max(1);
    println!(
        "{label}: articles {from}..{held}: {}; linked {linked}, records relinked by a head change in {} adds; \
         candidates (≥ {MIN_BAND_MATCHES} band keys) {:.2}/article ({:.2} past the screen), shingle lookups {:.2}/article, \
         cache misses {}; slowest 1 000 articles: {}.. in {:.3} s CPU ({:.3} s wall)",
        busy.rate(added),
        heads.get(&true).copied().unwrap_or(0),
        store.counts().candidates as f64 / added as f64,
        store.counts().screened as f64 / added as f64,
        src.lookups as f64 / added as f64,
        src.misses,
        worst.1,
        worst.0.cpu.as_secs_f64(),
        worst.0.wall.as_secs_f64()
    );
    (store, held)
}

/// A line of `/proc/self/status` (`VmHWM:` peak RSS, `VmRSS:` current RSS).
fn status(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_owned))
        .unwrap_or_default()
}

/// Index bytes per article, the cost of opening the committed index and of adding the next
/// 1 000 articles to the index just opened (what a cron `run` pays), in a child process
/// (`--open DIR AT`) so that its second copy of the index does not count in this one's peak
/// RSS. The child commits nothing.
fn checkpoint(dir: &std::path::Path, at: usize, took: Meter) {
    let exe = std::env::current_exe().expect("bench binary");
    let mut child = std::process::Command::new(exe);
    child.arg("--open").arg(dir).arg((at + 1000).to_string());
    if let Some(per_day) = std::env::args().skip_while(|a| a != "--per-day").nth(1) {
        child.args(["--per-day", &per_day]);
    }
    if std::env::args().any(|a| a == "--no-stock") {
        child.arg("--no-stock");
    }
    let out = child
        .output()
        .expect("opening the index in a child process");
    println!(
        "   N = {at:>9}: next 1 000 articles {:.3} s CPU ({}); {}; {}",
        took.cpu.as_secs_f64(),
        took.rate(1000),
        status("VmRSS:"),
        String::from_utf8_lossy(&out.stdout).trim()
    );
}

/// `--open DIR AT`: opens the committed index in `DIR` (holding articles `0..AT`), prints its
/// size and what opening cost, then adds articles `AT..AT + 1000` to it, uncommitted.
fn open_index(lang: &Language, dir: &str, at: usize) {
    let (t, threads) = (Meter::now(), proc::process_cpu());
    let db = NearDb::open(std::path::Path::new(dir)).expect("index db");
    let (opened, ok) = DiskStore::open(db, Shape::DEFAULT).expect("open");
    let open = Meter::now().minus(t);
    let threads = proc::process_cpu().saturating_sub(threads).as_secs_f64();
    let mut store = Disk(opened, Tally::default());
    let size = store.0.backend().size().expect("index size");
    print!(
        "index {} B/article ({} runs, tail {}); opening the index: {} records in {:.3} s CPU \
         ({:.2} s CPU of all threads; {:.3} s wall){}",
        size.bytes / size.records.max(1),
        store.0.runs().len(),
        store.0.tail_len(),
        store.0.len(),
        open.cpu.as_secs_f64(),
        threads,
        open.wall.as_secs_f64(),
        if ok { "" } else { " (INCONSISTENT)" }
    );
    let mut src = Texts::new(lang);
    let batch = texts(lang, at..at + 1000);
    let t = Meter::now();
    let docs: Vec<NearDoc> = (batch.into_iter())
        .map(|(text, rank)| NearDoc::new(rank, &text))
        .collect();
    // As a batch read ahead (`NEWSMILL_BENCH_NO_WARM` set: one lookup's reads at a time).
    let warmed = if std::env::var_os("NEWSMILL_BENCH_NO_WARM").is_none() {
        let w = Meter::now();
        link::warm(&mut store, &docs, &Thresholds::DEFAULT);
        Some(Meter::now().minus(w).wall.as_secs_f64())
    } else {
        None
    };
    for (i, doc) in docs.into_iter().enumerate() {
        src.add_doc(&mut store, at + i, doc);
    }
    let cold = Meter::now().minus(t);
    let counts = store.0.counts();
    println!(
        "; then the next 1 000 articles {:.3} s CPU ({:.3} s wall{}; {} bucket reads, {} records \
         past the screen); {} of the opening process",
        cold.cpu.as_secs_f64(),
        cold.wall.as_secs_f64(),
        warmed.map_or(String::new(), |w| format!(", {w:.3} s of it reading ahead")),
        counts.bucket_reads,
        counts.screened,
        status("VmHWM:"),
    );
}

/// Where article `i` ended in the on-disk index (article number = record number).
fn disk_oracle(
    store: &mut NearIndex,
) -> impl FnMut(usize) -> (Option<usize>, bool, Vec<usize>) + '_ {
    |i| {
        let doc = u32::try_from(i).expect("doc");
        let Some(d) = store.record(doc).expect("record") else {
            return (None, false, Vec::new());
        };
        let others = d.cluster != doc || !store.others(doc).expect("members").is_empty();
        let (contains, _) = store.backend().relations(doc).expect("relations");
        let contains = contains.into_iter().map(|c| c as usize).collect();
        (Some(d.cluster as usize), others, contains)
    }
}

/// `--window A B I…`: adds articles `A..B` alone to an in-memory index and prints the cluster
/// each article `I` ends in (for a pair the quality check lists at scale: whether the records
/// around it are enough to make it).
fn window_clusters(lang: &Language, (a, b): (usize, usize), shown: &[usize]) {
    let mut mem = Mem(MemStore::default());
    let mut src = Texts::new(lang);
    for (k, (text, rank)) in texts(lang, a..b).into_iter().enumerate() {
        src.add(&mut mem, a + k, &text, rank);
    }
    for &i in shown {
        let (_, rank) = article(lang, i);
        let cluster = mem.0.cluster_of(&rank.id).unwrap_or("(not added)");
        println!("{i} ({:?}): cluster {cluster}", synth::kind(i));
    }
}

/// `--pair A B`: what the index sees of articles A and B (for a pair the quality check lists).
fn explain_pair(lang: &Language, a: usize, b: usize) {
    let (da, db) = (
        NearDoc::new(article(lang, a).1, &article(lang, a).0),
        NearDoc::new(article(lang, b).1, &article(lang, b).0),
    );
    let th = Thresholds::DEFAULT;
    let width = keys::bucket_width_us(th.date_window);
    let bucket = |d: &NearDoc| keys::bucket(d.info.rank.published_us, width);
    let meet = keys::pair_matches((&da.bands, bucket(&da)), (&db.bands, bucket(&db)));
    let matches = meet.map_or(0, keys::Meet::matches);
    let sim = newsmill::dedup::similarity(&da.shingles, &db.shingles);
    let hit = Hit {
        matches,
        shingles: db.info.shingles,
        published_us: db.info.rank.published_us,
    };
    let (ours, at) = (da.shingles.len(), da.info.rank.published_us);
    let screen = match meet {
        Some(keys::Meet::Near(_)) => th.worth_verifying(ours, at, hit),
        Some(keys::Meet::Far(_)) => th.worth_verifying_far(ours, at, hit),
        None => false,
    };
    println!(
        "{a} ({:?}) / {b} ({:?}): {meet:?} equal keys, sizes {} / {}, screen {screen}, {sim:?}, \
         link {:?}",
        synth::kind(a),
        synth::kind(b),
        da.info.shingles,
        db.info.shingles,
        th.reason(&sim, link::date_gap(&da.info.rank, &db.info.rank))
    );
}

/// Equal bands of `rows` one-row keys each, over the first `bands` such bands of two records.
fn equal_bands(a: &[u32], b: &[u32], rows: usize, bands: usize) -> usize {
    fn band(keys: &[u32], rows: usize, i: usize) -> Option<&[u32]> {
        keys.get(i * rows..(i + 1) * rows)
    }
    (0..bands)
        .filter(|&i| band(a, rows, i).is_some_and(|x| Some(x) == band(b, rows, i)))
        .count()
}

/// One pair of `--far-keys`: its kind, Jaccard, containment, equal bands of 2, 3 and 4 rows,
/// and equal far keys (two rows each, salted with the figures after their shingles).
type FarPair = (&'static str, f64, f64, [usize; 4]);
/// A group of `--far-keys` pairs: its label and which pairs it holds.
type FarGroup = (&'static str, fn(&FarPair) -> bool);

fn far_pair(kind: &'static str, a: &NearDoc, b: &NearDoc) -> FarPair {
    let s = newsmill::dedup::similarity(&a.shingles, &b.shingles);
    let [r2, r3, r4] =
        [(2, 24), (3, 21), (4, 16)].map(|(r, n)| equal_bands(&a.bands, &b.bands, r, n));
    let (fa, fb) = (a.bands.get(BANDS..), b.bands.get(BANDS..));
    let far = equal_bands(
        fa.unwrap_or_default(),
        fb.unwrap_or_default(),
        1,
        keys::FAR_BANDS,
    );
    (kind, s.jaccard, s.containment, [r2, r3, r4, far])
}

/// `N --far-keys`: how many far candidates bands of more rows would give. Every pair of notes
/// of the first 8 templates up to 30 notes (days) apart, and every 7th near copy with its
/// original, among articles `0..N`: the share with at least 2 (or 3) equal bands of 2, 3 and 4
/// one-row keys (the far path today: 24 bands of 2 rows, 2 equal).
fn far_keys(lang: &Language, n: usize) {
    let doc = |i: usize| {
        let (text, rank) = article(lang, i);
        NearDoc::new(rank, &text)
    };
    let (mut notes, mut pairs): (HashMap<usize, Vec<NearDoc>>, Vec<FarPair>) = Default::default();
    for i in 0..n {
        match synth::kind(i) {
            synth::Kind::Template(t) if t < 8 => notes.entry(t).or_default().push(doc(i)),
            synth::Kind::Copy(b) if i % 7 == 0 => pairs.push(far_pair("copy", &doc(i), &doc(b))),
            _ => {}
        }
    }
    for docs in notes.values() {
        for (k, a) in docs.iter().enumerate() {
            for b in docs.iter().skip(k + 1).take(30) {
                pairs.push(far_pair("note", a, b));
            }
        }
    }
    let groups: [FarGroup; 3] = [
        ("template notes", |p| p.0 == "note"),
        ("copies, J >= 0.8", |p| p.0 == "copy" && p.1 >= 0.8),
        ("copies, J < 0.8 and C >= 0.9", |p| {
            p.0 == "copy" && p.1 < 0.8 && p.2 >= 0.9
        }),
    ];
    for (label, pick) in groups {
        let sel: Vec<&FarPair> = pairs.iter().filter(|p| pick(p)).collect();
        let m = sel.len().max(1) as f64;
        let share = |rows: usize, min: usize| {
            sel.iter().filter(|p| p.3[rows - 2] >= min).count() as f64 / m
        };
        println!(
            "{label}: {} pairs, mean J {:.3}, C {:.3}; at least 2 / 3 equal bands of 2 rows \
             {:.3} / {:.3}, of 3 rows {:.3} / {:.3}, of 4 rows {:.3} / {:.3}; at least 2 / 3 \
             equal far keys {:.3} / {:.3}",
            sel.len(),
            sel.iter().map(|p| p.1).sum::<f64>() / m,
            sel.iter().map(|p| p.2).sum::<f64>() / m,
            share(2, 2),
            share(2, 3),
            share(3, 2),
            share(3, 3),
            share(4, 2),
            share(4, 3),
            share(5, 2),
            share(5, 3),
        );
    }
}

fn main() {
    // As the binary does: the allocator's settings (`NEWSMILL_MALLOC=default` keeps glibc's).
    newsmill::malloc::reexec_tuned().expect("re-executing with the allocator settings");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let valued = |flag: &str| args.iter().position(|a| a == flag).map(|p| p + 1);
    let (per_day_at, runs_of_at) = (valued("--per-day"), valued("--runs-of"));
    let n: usize = (args.iter().enumerate())
        .find_map(|(k, a)| {
            a.parse()
                .ok()
                .filter(|_| Some(k) != per_day_at && Some(k) != runs_of_at)
        })
        .unwrap_or(100_000);
    let disk_only = args.iter().any(|a| a == "--disk-only");
    if let Some(per_day) = args
        .iter()
        .skip_while(|a| *a != "--per-day")
        .nth(1)
        .and_then(|a| a.parse().ok())
    {
        synth::set_per_day(per_day);
    }
    let lang = if args.iter().any(|a| a == "--no-stock") {
        Language::without_stock()
    } else {
        Language::new()
    };
    if let Some(pos) = args.iter().position(|a| a == "--open") {
        let at = args.get(pos + 2).and_then(|a| a.parse().ok()).unwrap_or(0);
        open_index(&lang, &args[pos + 1], at);
        return;
    }
    if let Some(dir) = args.iter().skip_while(|a| *a != "--compact").nth(1) {
        let t = Meter::now();
        let done = newsmill::state::compact_near(std::path::Path::new(dir)).expect("compact");
        let took = Meter::now().minus(t);
        let done = done.expect("an index in DIR");
        println!(
            "compacted {}: {} B before, {} B after, in {:.1} s CPU ({:.1} s wall)",
            done.path.display(),
            done.before,
            done.after,
            took.cpu.as_secs_f64(),
            took.wall.as_secs_f64()
        );
        return;
    }
    if args.iter().any(|a| a == "--far-keys") {
        far_keys(&lang, n);
        return;
    }
    if let Some(pos) = args.iter().position(|a| a == "--window") {
        let num = |k: usize| args.get(pos + k).and_then(|a| a.parse().ok()).unwrap_or(0);
        let shown: Vec<usize> = args[pos + 3..]
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect();
        window_clusters(&lang, (num(1), num(2)), &shown);
        return;
    }
    if let Some(pos) = args.iter().position(|a| a == "--pair") {
        let num = |k: usize| args.get(pos + k).and_then(|a| a.parse().ok()).unwrap_or(0);
        explain_pair(&lang, num(1), num(2));
        return;
    }
    if let Some(path) = args.iter().skip_while(|a| *a != "--dump").nth(1) {
        quality::dump(&lang, n, path).expect("writing the dump");
        println!("wrote {n} articles to {path}");
        return;
    }
    println!(
        "synthetic corpus: {n} articles (8 % near copies, 2 % digests of 2-3 stories, \
         2 % daily notes of {} templates), {} published a day, seed-fixed; {}={}",
        synth::templates(),
        synth::per_day(),
        newsmill::malloc::GLIBC_TUNABLES,
        std::env::var(newsmill::malloc::GLIBC_TUNABLES).unwrap_or_default()
    );
    pure_core(&lang, n);
    if !disk_only {
        let mem_n = n.min(100_000);
        let before = status("VmRSS:");
        let mem = Mem(MemStore::default());
        let (mem, _) = run_index(
            "2. full path, MemStore",
            &lang,
            (0, mem_n),
            mem,
            None,
            |_, _| {},
        );
        quality::report(&mut quality::mem_oracle(&mem.0), mem_n);
        println!(
            "   RSS before step 2 {before}, after (index held) {}",
            status("VmRSS:")
        );
    }
    // `--keep DIR`: the index lives in DIR and is kept; a run continues from what it holds.
    let temp = tempfile::tempdir().expect("temp dir");
    let keep = args.iter().skip_while(|a| *a != "--keep").nth(1);
    let dir = keep.map_or(temp.path().to_path_buf(), std::path::PathBuf::from);
    std::fs::create_dir_all(&dir).expect("index folder");
    let db = NearDb::open(&dir).expect("index db");
    let (store, ok) = DiskStore::open(db, Shape::DEFAULT).expect("index");
    assert!(ok, "a committed index opens consistent");
    // An index that already holds `n` articles or more is only scored (its quality lines).
    let from = store.len().min(n);
    let start = Meter::now();
    let store = Disk(store, Tally::default());
    let stop = keep.map(|_| dir.join("stop"));
    if let Some(stop) = &stop {
        let _ = std::fs::remove_file(stop);
    }
    let (mut disk, held) = run_index(
        "3. full path, on-disk index",
        &lang,
        (from, n),
        store,
        stop.as_deref(),
        |at, took| checkpoint(&dir, at, took),
    );
    let total = Meter::now().minus(start);
    let size = disk.0.backend().size().expect("index size");
    println!(
        "   index: {} records, {} runs, {} bytes of pages = {} B/article; {} (whole step incl. \
         text generation: {:.0} s CPU)",
        size.records,
        disk.0.runs().len(),
        size.bytes,
        size.bytes / size.records.max(1),
        status("VmHWM:"),
        total.cpu.as_secs_f64()
    );
    if held < n {
        println!("   {held} of {n} articles held; the same command goes on from there");
        return;
    }
    quality::report(&mut disk_oracle(&mut disk.0), n);
    println!("   end: {}", status("VmHWM:"));
}
