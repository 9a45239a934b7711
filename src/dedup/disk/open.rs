//! Opening the index: the run list, the run filters, the sizes, the tail and the kept near
//! postings, read back from the backend.
//!
//! The filters are most of what an open reads (~230 MB of ~390 MB at 10 M records), then the
//! kept near postings (~67 MB) and the sizes (~60 MB), then the tail (10–35 MB), all as files
//! beside the index where the backend keeps copies. When the backend offers
//! second handles ([`NearBackend::reader`]), one thread reads filters, largest first, another
//! the sizes and kept postings, while this one rebuilds the tail; each then reads the filters
//! left. What is loaded does not depend on which thread loads what.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::filter::{self, KeyFilter};
use super::live::stored::StoredSegment;
use super::live::{self, LiveNear};
use super::{
    DiskStore, LookupCounts, NONE_DATED, NearBackend, RECORDS_GROWTH, RunInfo, SIZE_ENTRY, Shape,
    minute, saturate,
};
use crate::dedup::bands::BandTable;
use crate::dedup::keys::FILED;

/// Runs whose filters are still to be read, with their stored filter bytes; the last is the
/// largest.
type Queue = Mutex<Vec<(RunInfo, Vec<u8>)>>;

/// A filter read: run number, filter, whether it was rebuilt from the run's buckets.
type Loaded = (u32, KeyFilter, bool);

/// What an open reads besides the run list and the filters.
struct Rows {
    /// Whether the stored rows fit together.
    ok: bool,
    next_doc: u32,
    tail_start: u32,
    sizes: Vec<u16>,
    minutes: Vec<i32>,
    tail: BandTable,
    digest: Option<u64>,
    live: LiveNear,
    tail_minutes: (i64, i64),
}

/// The rows of the records in runs, read as files beside the index where the backend keeps
/// copies: their sizes and minutes (with whether those rows followed each other) and the kept
/// near postings.
struct ColumnRows {
    sizes: Vec<u16>,
    minutes: Vec<i32>,
    fit: bool,
    kept: Vec<StoredSegment>,
}

/// The tail rebuilt from `near_tail`: its table, its records' sizes and minutes, and whether
/// its rows were the records from the last run's end to the committed count.
struct Tail {
    table: BandTable,
    sizes: Vec<u16>,
    minutes: Vec<i32>,
    fit: bool,
}

impl<B: NearBackend> DiskStore<B> {
    /// Opens the index held by `backend`: reads the run list, the run filters, the sizes and
    /// the kept near postings, and rebuilds the tail from `near_tail`, nothing else. The second
    /// value is `false` when the stored rows do not fit together (runs not contiguous, tail
    /// rows missing, count not the committed one): the caller must then [`DiskStore::clear`]
    /// and rebuild.
    ///
    /// # Errors
    /// Storage failures.
    pub fn open(mut backend: B, shape: Shape) -> Result<(Self, bool), B::Error> {
        let mut listed = backend.runs()?;
        let mut runs: Vec<RunInfo> = listed.iter().map(|(r, _)| *r).collect();
        runs.sort_by_key(|r| r.run);
        let copied: Vec<u32> = runs.iter().map(|r| r.run).collect();
        backend.sweep_copies(&copied);
        listed.sort_by_key(|(r, _)| (r.postings, r.run));
        let (rows, loaded) = read_all(&mut backend, listed, &runs, shape)?;
        let mut refiltered: Vec<u32> = loaded.iter().filter(|l| l.2).map(|l| l.0).collect();
        refiltered.sort_unstable();
        let filters: HashMap<u32, KeyFilter> = loaded.into_iter().map(|(r, f, _)| (r, f)).collect();
        let ok = rows.ok;
        let store = Self {
            backend,
            shape,
            runs,
            filters,
            tail: rows.tail,
            tail_minutes: rows.tail_minutes,
            tail_start: rows.tail_start,
            next_doc: rows.next_doc,
            digest: rows.digest.unwrap_or(0),
            resolved: HashMap::new(),
            sizes: rows.sizes,
            minutes: rows.minutes,
            run_spans: HashMap::new(),
            flushing: None,
            live: rows.live,
            counts: LookupCounts::default(),
            jobs: Vec::new(),
            next_run: 0,
            orphans: Vec::new(),
            refiltered,
            drops: Vec::new(),
            copied,
        };
        let store = store.resume_jobs()?;
        Ok((store, ok))
    }
}

/// Reads the rows and the filters of `listed` (sorted by size). When the backend offers
/// second handles ([`NearBackend::reader`]), one thread reads filters, largest first, and
/// another the columns ([`read_columns`]), while this one rebuilds the tail; each then reads
/// the filters left. Read in turn on one thread, a cold open of a 10 M index waited on the
/// columns (~130 MB) after the tail.
fn read_all<B: NearBackend>(
    backend: &mut B,
    mut listed: Vec<(RunInfo, Vec<u8>)>,
    runs: &[RunInfo],
    shape: Shape,
) -> Result<(Rows, Vec<Loaded>), B::Error> {
    let (chained, tail_start) = chained_end(runs);
    let next_doc = backend.next_doc()?;
    // No runs (a new or small index): nothing to share.
    let mut readers: Vec<B> = Vec::new();
    while !listed.is_empty() && readers.len() < 2 {
        let Some(rd) = backend.reader() else { break };
        readers.push(rd);
    }
    // The filters' thread starts with the largest filter, so that it always reads one.
    let first = readers.first().and_then(|_| listed.pop());
    let queue: &Queue = &Mutex::new(listed);
    let stop = || queue.lock().unwrap_or_else(PoisonError::into_inner).clear();
    std::thread::scope(|s| {
        let columns = match (readers.len() == 2).then(|| readers.pop()).flatten() {
            Some(mut rd) => Columns::Aside(s.spawn(move || {
                let read = read_columns(&mut rd, tail_start, next_doc)
                    .and_then(|c| Ok((c, load_filters(queue, None, &mut rd)?)));
                read.inspect_err(|_| stop())
            })),
            None => Columns::Here,
        };
        let filters = readers.pop().map(|mut rd| {
            s.spawn(move || load_filters(queue, first, &mut rd).inspect_err(|_| stop()))
        });
        let mine = read_tail(backend, tail_start, next_doc)
            .and_then(|tail| Ok((tail, load_filters(queue, None, backend)?)));
        if mine.is_err() {
            stop();
        }
        let theirs = filters.map(join).transpose();
        let cols = match columns {
            Columns::Aside(h) => join(h).map(Some),
            Columns::Here => Ok(None),
        };
        let (tail, mut loaded) = mine?;
        loaded.extend(theirs?.into_iter().flatten());
        let cols = match cols? {
            Some((cols, more)) => {
                loaded.extend(more);
                cols
            }
            None => read_columns(backend, tail_start, next_doc)?,
        };
        let rows = joined(backend, (chained, tail_start, next_doc), cols, tail, shape)?;
        Ok((rows, loaded))
    })
}

/// Where an open reads the columns: on a thread of their own (which then reads filters
/// too), or on the first thread once the tail and the filters are read.
enum Columns<'s, E> {
    Aside(std::thread::ScopedJoinHandle<'s, Result<(ColumnRows, Vec<Loaded>), E>>),
    Here,
}

/// What thread `h` returned (its panic goes on in this one).
fn join<T>(h: std::thread::ScopedJoinHandle<'_, T>) -> T {
    h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// Whether `runs` follow each other from record 0, and the record after the last.
fn chained_end(runs: &[RunInfo]) -> (bool, u32) {
    let mut by_doc: Vec<&RunInfo> = runs.iter().collect();
    by_doc.sort_by_key(|r| r.first_doc);
    let (mut ok, mut tail_start) = (true, 0);
    for r in by_doc {
        ok &= r.first_doc == tail_start;
        tail_start = r.end_doc;
    }
    (ok, tail_start)
}

/// Reads the filter of `first`, then those of `queue`'s runs, largest first, until none is
/// left.
fn load_filters<B: NearBackend>(
    queue: &Queue,
    mut first: Option<(RunInfo, Vec<u8>)>,
    backend: &mut B,
) -> Result<Vec<Loaded>, B::Error> {
    let mut loaded = Vec::new();
    loop {
        let next = first.take();
        let next = next.or_else(|| queue.lock().unwrap_or_else(PoisonError::into_inner).pop());
        let Some((r, bytes)) = next else {
            return Ok(loaded);
        };
        let (filter, rebuilt) = filter::opened(backend, &r, bytes)?;
        loaded.push((r.run, filter, rebuilt));
    }
}

/// Reads the columns of the records in runs: sizes, minutes and the kept near postings
/// (the segments ending at `tail_start`; whether they fit the rest is checked in [`joined`]).
fn read_columns<B: NearBackend>(
    backend: &mut B,
    tail_start: u32,
    next_doc: u32,
) -> Result<ColumnRows, B::Error> {
    let (sizes, minutes, fit) = read_sizes(backend, next_doc)?;
    let kept = live::stored::load(backend, tail_start)?;
    Ok(ColumnRows {
        sizes,
        minutes,
        fit,
        kept,
    })
}

/// Rebuilds the tail (records `tail_start..next_doc`) from `near_tail`.
fn read_tail<B: NearBackend>(
    backend: &mut B,
    tail_start: u32,
    next_doc: u32,
) -> Result<Tail, B::Error> {
    let n = next_doc.saturating_sub(tail_start) as usize;
    let mut t = Tail {
        table: BandTable::default(),
        sizes: Vec::with_capacity(n),
        minutes: Vec::with_capacity(n),
        fit: true,
    };
    // Exactly: grown by doubling, the rebuilt tail held up to twice its 33 MB.
    t.table.reserve_load(n * FILED);
    let mut expected = tail_start;
    backend.tail(tail_start, &mut |doc, keys, shingles, published| {
        t.fit &= doc == expected;
        expected = doc.saturating_add(1);
        t.sizes.push(saturate(shingles));
        t.minutes.push(minute(published));
        for k in keys {
            t.table.load(k, doc);
        }
    })?;
    t.table.merge();
    t.fit &= expected == next_doc;
    Ok(t)
}

/// The rows of an open from what the threads read, checked against each other and the
/// committed count: `(chained, tail_start, next_doc)` from the run list.
fn joined<B: NearBackend>(
    backend: &mut B,
    (chained, tail_start, next_doc): (bool, u32, u32),
    cols: ColumnRows,
    tail: Tail,
    shape: Shape,
) -> Result<Rows, B::Error> {
    let ColumnRows {
        mut sizes,
        mut minutes,
        fit,
        kept,
    } = cols;
    let mut ok = chained && fit && sizes.len() == tail_start as usize && tail.fit;
    sizes.extend_from_slice(&tail.sizes);
    minutes.extend_from_slice(&tail.minutes);
    let records = backend.meta("records")?.and_then(|v| v.parse::<u32>().ok());
    ok &= records.unwrap_or(0) == next_doc;
    let digest = backend.meta("digest")?;
    let digest = digest.and_then(|v| u64::from_str_radix(&v, 16).ok());
    let in_runs = live::newest_of(&minutes[..(tail_start as usize).min(minutes.len())]);
    let kept = if ok { kept } else { Vec::new() };
    let live = live::stored::restore(kept, tail_start, &minutes, in_runs, shape.live_docs);
    let tail_minutes = (minutes.get(tail_start as usize..))
        .map_or(NONE_DATED, |m| (live::oldest_of(m), live::newest_of(m)));
    Ok(Rows {
        ok,
        next_doc,
        tail_start,
        sizes,
        minutes,
        tail: tail.table,
        digest,
        live,
        tail_minutes,
    })
}

/// The sizes and publication minutes of the records in runs, with room for the tail and
/// [`RECORDS_GROWTH`] more, and whether their rows followed each other.
fn read_sizes<B: NearBackend>(
    backend: &mut B,
    next_doc: u32,
) -> Result<(Vec<u16>, Vec<i32>, bool), B::Error> {
    let expected_len = next_doc as usize + RECORDS_GROWTH;
    let (mut sizes, mut minutes) = (
        Vec::with_capacity(expected_len),
        Vec::with_capacity(expected_len),
    );
    let mut ok = true;
    backend.sizes(&mut |first, bytes| {
        ok &= first as usize == sizes.len() && bytes.len().is_multiple_of(SIZE_ENTRY);
        for c in bytes.chunks_exact(SIZE_ENTRY) {
            sizes.push(u16::from_le_bytes([c[0], c[1]]));
            minutes.push(i32::from_le_bytes([c[2], c[3], c[4], c[5]]));
        }
    })?;
    Ok((sizes, minutes, ok))
}
