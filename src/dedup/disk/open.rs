//! Opening the index: the run list, the run filters, the sizes, the tail and the kept near
//! postings, read back from the backend.
//!
//! The filters are most of what an open reads (~230 MB of ~360 MB at 10 M records), and
//! reading them is memory-bound: copying rows out of the backend's pages and filling freshly
//! allocated memory. When the backend offers a second handle ([`NearBackend::reader`]), a
//! second thread reads filters on it, largest first, while this one reads the rest, then
//! joins in. What is loaded does not depend on which thread loads what.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::filter::{self, KeyFilter};
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

/// Reads the rows ([`read_rows`]) and the filters of `listed` (sorted by size), the filters on
/// two connections when the backend has a [`NearBackend::reader`].
fn read_all<B: NearBackend>(
    backend: &mut B,
    mut listed: Vec<(RunInfo, Vec<u8>)>,
    runs: &[RunInfo],
    shape: Shape,
) -> Result<(Rows, Vec<Loaded>), B::Error> {
    // No runs (a new or small index): nothing to share.
    let reader = (!listed.is_empty()).then(|| backend.reader()).flatten();
    // The second thread starts with the largest filter, so that it always reads one.
    let first = reader.as_ref().and_then(|_| listed.pop());
    let queue: &Queue = &Mutex::new(listed);
    std::thread::scope(|s| {
        let helper = reader.map(|mut rd| s.spawn(move || load_filters(queue, first, &mut rd)));
        let read = read_rows(backend, runs, shape)
            .and_then(|rows| Ok((rows, load_filters(queue, None, backend)?)));
        if read.is_err() {
            queue.lock().unwrap_or_else(PoisonError::into_inner).clear();
        }
        let theirs = helper.map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        let (rows, mut loaded) = read?;
        loaded.extend(theirs.transpose()?.into_iter().flatten());
        Ok((rows, loaded))
    })
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

/// Reads the sizes, the tail and the kept near postings, and checks that they fit `runs`.
fn read_rows<B: NearBackend>(
    backend: &mut B,
    runs: &[RunInfo],
    shape: Shape,
) -> Result<Rows, B::Error> {
    let mut ok = true;
    let next_doc = backend.next_doc()?;
    let mut by_doc: Vec<&RunInfo> = runs.iter().collect();
    by_doc.sort_by_key(|r| r.first_doc);
    let mut tail_start = 0;
    for r in by_doc {
        ok &= r.first_doc == tail_start;
        tail_start = r.end_doc;
    }
    let (mut sizes, mut minutes, fit) = read_sizes(backend, next_doc)?;
    ok &= fit && sizes.len() == tail_start as usize;
    let (mut tail, mut expected) = (BandTable::default(), tail_start);
    // Exactly: grown by doubling, the rebuilt tail held up to twice its 33 MB.
    tail.reserve_load(next_doc.saturating_sub(tail_start) as usize * FILED);
    backend.tail(tail_start, &mut |doc, keys, shingles, published| {
        ok &= doc == expected;
        expected = doc.saturating_add(1);
        sizes.push(saturate(shingles));
        minutes.push(minute(published));
        for k in keys {
            tail.load(k, doc);
        }
    })?;
    tail.merge();
    ok &= expected == next_doc;
    let records = backend.meta("records")?.and_then(|v| v.parse::<u32>().ok());
    ok &= records.unwrap_or(0) == next_doc;
    let digest = backend.meta("digest")?;
    let digest = digest.and_then(|v| u64::from_str_radix(&v, 16).ok());
    let in_runs = live::newest_of(&minutes[..(tail_start as usize).min(minutes.len())]);
    let kept = if ok {
        live::stored::load(backend, tail_start)?
    } else {
        Vec::new()
    };
    let live = live::stored::restore(kept, tail_start, &minutes, in_runs, shape.live_docs);
    let tail_minutes = (minutes.get(tail_start as usize..))
        .map_or(NONE_DATED, |m| (live::oldest_of(m), live::newest_of(m)));
    Ok(Rows {
        ok,
        next_doc,
        tail_start,
        sizes,
        minutes,
        tail,
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
