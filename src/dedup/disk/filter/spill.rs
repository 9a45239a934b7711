//! A run filter too large to hold while it is built, and kept as it was stored. Once a sealed
//! partition is stored (`near_part`, by `crate::dedup::disk::resume`), its fingerprint bytes
//! are dropped from memory ([`FilterBuilder::spill`]). When the run is registered the
//! partitions not yet stored are stored too, and the run's row gets the filter's header alone,
//! in the partitioned form ([`FilterBuilder::register`]): the partitions are the filter. It is
//! read whole only once the run is registered ([`load`]), when a merge's inputs have been let
//! go, and on open. The partitions of a run a merge replaced are deleted with its buckets
//! (`crate::dedup::disk::drop`).
//!
//! A merge's output filter is about the size of its inputs' filters together (~100 MB at the
//! top of a 10 M index): held while it was built, it sat beside them for the whole merge and
//! doubled them at its end. Copied into the run's row when the run was registered (indexes
//! written before 2026-12-03), it was written twice more (the copy, the partitions'
//! deletion) and read twice at the merge's end: that add was the slowest of the 10 M bench.

use super::sealed::stored_part;
use super::{FilterBuilder, Header, KeyFilter, MAGIC, PARTS_MAGIC, header_len};
use crate::dedup::disk::backend::{NearBackend, RunInfo};

impl FilterBuilder {
    /// Drops the fingerprint bytes of the first `parts` partitions (stored), but the byte
    /// the next one starts in.
    pub fn spill(&mut self, parts: usize) {
        let header = header_len(self.filter.part_bits);
        let keep = self
            .filter
            .parts
            .get(parts)
            .map_or(self.bits, |p| p.bit_base)
            / 8;
        let keep = keep as usize - self.spilled;
        if keep > header {
            self.filter.bytes.drain(header..keep);
            self.spilled += keep - header;
        }
    }

    /// Registers `out`, its buckets written and the first `stored` partitions of this filter
    /// stored, and forgets the `near_tail` rows before `tail_from` ([`NearBackend::put_run`]).
    /// The partitions left are sealed and stored; the run's row holds the header in the
    /// partitioned form. A filter of keys that came out of order (one that passes every key)
    /// has partitions that do not match its header: [`load`] rebuilds it from the buckets.
    ///
    /// # Errors
    /// Storage failures.
    pub fn register<B: NearBackend>(
        mut self,
        backend: &mut B,
        out: &RunInfo,
        stored: usize,
        tail_from: u32,
    ) -> Result<(), B::Error> {
        self.seal_all();
        for part in stored..self.sealed() {
            let part_no = u32::try_from(part).unwrap_or(u32::MAX);
            backend.put_part(out.run, part_no, &self.sealed_part(part))?;
        }
        let mut header = self.filter.bytes[..header_len(self.filter.part_bits)].to_vec();
        header[..8].copy_from_slice(&PARTS_MAGIC);
        backend.put_run(out, &header, tail_from)
    }
}

/// The filter of run `r` from its row's `header` in the partitioned form and its stored
/// partitions; `None` when the header does not parse or a partition is missing, cut, out of
/// order or not the one the header names.
///
/// # Errors
/// Storage failures.
pub(super) fn from_parts<B: NearBackend>(
    backend: &mut B,
    r: &RunInfo,
    header: &[u8],
) -> Result<Option<KeyFilter>, B::Error> {
    let Some(head) = Header::parse(header, PARTS_MAGIC) else {
        return Ok(None);
    };
    let len = header_len(head.part_bits);
    // The data holds the partitions' slots and a padding byte, and no more than a byte a
    // posting (a filter takes about a byte a far key, and far keys are a quarter of the
    // postings): a length past either is refused before it is allocated.
    let end = head.parts.iter().map(|p| p.end_bit()).max().unwrap_or(0);
    let most = (end.div_ceil(8).saturating_sub(len as u64) + 1).min(r.postings + 64);
    if head.data_len > most || header.len() != len {
        return Ok(None);
    }
    let mut bytes = vec![0u8; len + head.data_len as usize];
    bytes[..len].copy_from_slice(header);
    bytes[..8].copy_from_slice(&MAGIC);
    let mut next = 0usize;
    let mut ok = true;
    backend.parts(r.run, &mut |part, stored| {
        ok &= part as usize == next;
        let fits = stored_part(stored).filter(|(fuse, _)| Some(fuse) == head.parts.get(next));
        let at = fits
            .and_then(|(fuse, data)| Some((bytes.get_mut(fuse.bit_base as usize / 8..)?, data)));
        match at {
            Some((to, data)) if ok => to.iter_mut().zip(data).for_each(|(b, d)| *b |= d),
            _ => ok = false,
        }
        next += 1;
    })?;
    ok &= next == head.parts.len();
    Ok(ok.then(|| KeyFilter::from_bytes(bytes)).flatten())
}

/// The filter in `copy`, a copy of a registered run's filter beside the index
/// ([`NearBackend::copied_filter`]), if its header is the one the run's `row` holds in the
/// partitioned form.
pub(super) fn from_copy(row: &[u8], copy: Vec<u8>) -> Option<KeyFilter> {
    let head = Header::parse(row, PARTS_MAGIC)?;
    let len = header_len(head.part_bits);
    let same = row.len() == len && copy.get(8..len)? == row.get(8..len)?;
    same.then(|| KeyFilter::from_bytes(copy)).flatten()
}

/// The filter of registered run `r` as stored; rebuilt from its buckets (and stored whole,
/// its partitions deleted) when it does not parse.
///
/// # Errors
/// Storage failures.
pub fn load<B: NearBackend>(backend: &mut B, r: &RunInfo) -> Result<KeyFilter, B::Error> {
    let bytes = backend.filter(r.run)?;
    let (f, rebuilt) = super::parsed_or_rebuilt(backend, r, bytes)?;
    if rebuilt {
        store_rebuilt(backend, r.run, &f)?;
    }
    Ok(f)
}

/// Stores `f`, rebuilt from the buckets of registered run `run`, whole in the run's row, and
/// deletes the run's partitions (what was stored of it before).
///
/// # Errors
/// Storage failures.
pub fn store_rebuilt<B: NearBackend>(
    backend: &mut B,
    run: u32,
    f: &KeyFilter,
) -> Result<(), B::Error> {
    backend.set_filter(run, f.as_bytes())?;
    backend.delete_parts(run)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{build, key};
    use super::*;
    use crate::dedup::disk::resume::{Progress, restore_filter};
    use crate::dedup::keys::{FAR_BANDS, FILED};
    use crate::state::NearDb;

    fn run(run: u32, postings: u64) -> RunInfo {
        RunInfo {
            run,
            level: 2,
            first_doc: 0,
            end_doc: 700_000,
            bits: 12,
            postings,
        }
    }

    /// Builds run `r`'s filter of `keys` (sorted) the way a job does: every 40 000 keys the
    /// partitions sealed are stored and spilled ([`Progress::store`]); returns the job and
    /// the most filter bytes it held.
    fn spilled(db: &mut NearDb, keys: &[u32], r: &RunInfo) -> (Progress, usize) {
        let (mut job, mut most) = (Progress::new(r.postings, 1), 0);
        for chunk in keys.chunks(40_000) {
            chunk.iter().for_each(|&k| job.filter.insert(k));
            job.filter.seal_before(u64::from(chunk[chunk.len() - 1]));
            most = most.max(job.filter.filter.bytes.len());
            job.store(db, r.run).unwrap();
        }
        (job, most)
    }

    /// The sorted far keys of a run of 1 400 000 records, its postings and its filter built
    /// whole, in memory.
    fn built_whole() -> (Vec<u32>, u64, KeyFilter) {
        let mut keys: Vec<u32> = (0..1_400_000).map(key).collect();
        keys.sort_unstable();
        let postings = 1_400_000 * FILED as u64 / FAR_BANDS as u64;
        let whole = build(&mut keys, postings);
        (keys, postings, whole)
    }

    fn parts_of(db: &mut NearDb, run: u32) -> Vec<u32> {
        let mut parts = Vec::new();
        db.parts(run, &mut |p, _| parts.push(p)).unwrap();
        parts
    }

    #[test]
    fn a_spilled_filter_is_registered_as_its_partitions_and_loads_as_the_filter_built_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = NearDb::open(dir.path()).unwrap();
        let (keys, postings, whole) = built_whole();
        assert!(whole.part_bits >= 3, "{} partition bits", whole.part_bits);
        let r = run(5, postings);
        let (job, most) = spilled(&mut db, &keys, &r);
        let len = whole.as_bytes().len();
        assert!(most * 4 < len, "held {most} of {len} bytes");
        job.register(&mut db, &r, 0).unwrap();
        let row = db.filter(r.run).unwrap();
        assert_eq!(row.len(), header_len(whole.part_bits), "the header alone");
        assert_eq!(parts_of(&mut db, r.run).len(), 1 << whole.part_bits);
        assert_eq!(load(&mut db, &r).unwrap(), whole);
        assert_eq!(parts_of(&mut db, r.run).len(), 1 << whole.part_bits, "kept");

        // Stored nothing before: every partition stored at registration.
        let all_at_once = run(6, postings);
        let mut job = Progress::new(postings, 1);
        keys.iter().for_each(|&k| job.filter.insert(k));
        job.register(&mut db, &all_at_once, 0).unwrap();
        assert_eq!(load(&mut db, &all_at_once).unwrap(), whole);
    }

    #[test]
    fn a_job_taken_up_from_its_stored_partitions_registers_the_filter_built_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = NearDb::open(dir.path()).unwrap();
        let (keys, postings, whole) = built_whole();
        let r = run(5, postings);
        // Interrupted after half of its keys: an open finds what the job stored and noted.
        let (job, _) = spilled(&mut db, &keys[..keys.len() / 2], &r);
        let state = job.state(r, Vec::new());
        assert!(state.sealed >= 3, "{} partitions sealed", state.sealed);
        drop(job);
        let filter = restore_filter(&mut db, &r, state.sealed).unwrap();
        let mut job = Progress::restored(&state, filter.expect("restored"));
        let from = job.resume_key();
        (keys.iter().filter(|&&k| u64::from(k) >= from)).for_each(|&k| job.filter.insert(k));
        job.register(&mut db, &r, 0).unwrap();
        assert_eq!(load(&mut db, &r).unwrap(), whole);
        // A partition missing or cut: not taken up.
        let second = db.part(r.run, 1).unwrap().unwrap();
        db.put_part(r.run, 1, &second[..second.len() - 1]).unwrap();
        assert!(restore_filter(&mut db, &r, state.sealed).unwrap().is_none());
        db.delete_parts_below(r.run, 2).unwrap();
        assert!(restore_filter(&mut db, &r, state.sealed).unwrap().is_none());
    }

    #[test]
    fn partitions_missing_cut_or_foreign_do_not_make_a_filter() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = NearDb::open(dir.path()).unwrap();
        let (keys, postings, whole) = built_whole();
        let r = run(5, postings);
        let (job, _) = spilled(&mut db, &keys, &r);
        job.register(&mut db, &r, 0).unwrap();
        let header = db.filter(r.run).unwrap();
        let stored = |db: &mut NearDb, part| db.part(r.run, part).unwrap().unwrap();
        let (first, last) = (stored(&mut db, 0), stored(&mut db, 7));
        assert!(from_parts(&mut db, &r, &header).unwrap().is_some());
        assert!(
            from_parts(&mut db, &r, &header[..header.len() - 1])
                .unwrap()
                .is_none()
        );
        for len in [u64::MAX / 16, u64::MAX, 1 << 40] {
            let mut longer = header.clone();
            longer[16..24].copy_from_slice(&len.to_le_bytes());
            assert!(
                from_parts(&mut db, &r, &longer).unwrap().is_none(),
                "length {len}"
            );
        }

        db.put_part(r.run, 7, &last[..last.len() - 1]).unwrap();
        assert!(from_parts(&mut db, &r, &header).unwrap().is_none(), "cut");
        db.put_part(r.run, 7, &first).unwrap();
        assert!(
            from_parts(&mut db, &r, &header).unwrap().is_none(),
            "another's"
        );
        db.put_part(r.run, 7, &last).unwrap();
        db.delete_parts_below(r.run, 1).unwrap();
        assert!(
            from_parts(&mut db, &r, &header).unwrap().is_none(),
            "missing"
        );
        // Rebuilt from the buckets (none here: no key) and stored whole.
        let rebuilt = load(&mut db, &r).unwrap();
        assert!(rebuilt != whole && !rebuilt.may_contain(keys[0]));
        assert!(parts_of(&mut db, r.run).is_empty());
        assert_eq!(
            KeyFilter::from_bytes(db.filter(r.run).unwrap()),
            Some(rebuilt)
        );
    }

    #[test]
    fn a_filter_of_keys_out_of_order_is_rebuilt_from_the_buckets() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = NearDb::open(dir.path()).unwrap();
        let r = run(3, 10);
        let mut job = Progress::new(10, 1);
        job.filter.insert(key(2).max(key(3)));
        job.filter.insert(key(2).min(key(3)));
        job.register(&mut db, &r, 0).unwrap();
        let header = db.filter(r.run).unwrap();
        assert!(from_parts(&mut db, &r, &header).unwrap().is_none());
    }
}
