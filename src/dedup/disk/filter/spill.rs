//! A run filter too large to hold while it is built. Once a sealed partition is stored
//! (`near_part`, by `crate::dedup::disk::resume`), its fingerprint bytes are dropped from
//! memory ([`FilterBuilder::spill`]); the finished filter is written into the run's row in
//! pieces, the dropped bytes read back from the stored partitions
//! ([`FilterBuilder::register`]), and read whole only once the run is registered ([`load`]),
//! when a merge's inputs have been let go. A merge's output filter is about the size of its
//! inputs' filters together (~100 MB at the top of a 10 M index): held while it was built, it
//! sat beside them for the whole merge and doubled them at its end.

use super::sealed::stored_bytes;
use super::{FilterBuilder, KeyFilter, header_len};
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

    /// Registers `out`, its buckets written, with the finished filter, and forgets the
    /// `near_tail` rows before `tail_from` ([`NearBackend::put_run`]). The filter is written
    /// in pieces: header, the spilled bytes as the partitions stored for `out` hold them
    /// (gathered into writes of [`WRITE_BATCH`] bytes), then the bytes held. Partitions missing
    /// or cut leave a filter that does not parse (rebuilt from the buckets by [`load`]), never
    /// one that would miss a key.
    ///
    /// # Errors
    /// Storage failures.
    pub fn register<B: NearBackend>(
        self,
        backend: &mut B,
        out: &RunInfo,
        tail_from: u32,
    ) -> Result<(), B::Error> {
        self.register_in(backend, out, tail_from, WRITE_BATCH)
    }

    /// [`FilterBuilder::register`], the stored partitions written `batch` bytes or more a call.
    fn register_in<B: NearBackend>(
        mut self,
        backend: &mut B,
        out: &RunInfo,
        tail_from: u32,
        batch: usize,
    ) -> Result<(), B::Error> {
        self.seal_all();
        let header = header_len(self.filter.part_bits);
        let end = header + self.spilled;
        let len = (self.filter.bytes.len() + self.spilled) as u64;
        backend.put_run_sized(out, len, tail_from)?;
        backend.write_filter(out.run, 0, &self.filter.bytes[..header])?;
        let mut pending = Pending {
            at: header,
            bytes: Vec::new(),
        };
        for part in 0..self.filter.parts.len() {
            if pending.end() >= end {
                break;
            }
            let Some(stored) = backend.part(out.run, part as u32)? else {
                break;
            };
            let Some((base, data)) = stored_bytes(&stored) else {
                break;
            };
            let start = (base / 8) as usize;
            let piece = &data[..data.len().min(end.saturating_sub(start))];
            if !pending.append(start, piece) {
                break;
            }
            if pending.bytes.len() >= batch {
                pending.write(backend, out.run)?;
            }
        }
        let covered = pending.end();
        pending.write_all(backend, out.run)?;
        backend.write_filter(out.run, end as u64, &self.filter.bytes[header..])?;
        if covered < end {
            backend.write_filter(out.run, 0, &[0; 8])?;
        }
        Ok(())
    }
}

/// Bytes of stored partitions gathered before they are written into a run's filter: each
/// write opens the filter blob again, and SQLite finds an offset in it by walking the blob's
/// pages from its start, so ~400 writes of one partition each into the ~100 MB filter of a
/// 10 M index's top run took seconds of one add (the slowest 1 000 adds of the 10 M bench).
const WRITE_BATCH: usize = 16 << 20;

/// Filter bytes gathered from stored partitions, from byte `at` of the filter, not yet written.
struct Pending {
    at: usize,
    bytes: Vec<u8>,
}

impl Pending {
    /// One past the last byte gathered.
    fn end(&self) -> usize {
        self.at + self.bytes.len()
    }

    /// Appends a partition's bytes starting at byte `start`: where the last one ended, or in
    /// its last byte (neighbouring partitions share the byte where one ends and the next
    /// starts: OR-ed). `false` (nothing appended) when `start` leaves a gap or overlaps more.
    fn append(&mut self, start: usize, piece: &[u8]) -> bool {
        let Some((first, rest)) = piece.split_first() else {
            return start <= self.end();
        };
        match (start + 1).checked_sub(self.end()) {
            Some(1) => self.bytes.extend_from_slice(piece),
            Some(0) if !self.bytes.is_empty() => {
                if let Some(last) = self.bytes.last_mut() {
                    *last |= first;
                }
                self.bytes.extend_from_slice(rest);
            }
            _ => return false,
        }
        true
    }

    /// Writes all but the last byte gathered (the next partition may share it).
    fn write<B: NearBackend>(&mut self, backend: &mut B, run: u32) -> Result<(), B::Error> {
        let keep = self.bytes.len().saturating_sub(1);
        backend.write_filter(run, self.at as u64, &self.bytes[..keep])?;
        self.bytes.drain(..keep);
        self.at += keep;
        Ok(())
    }

    /// Writes everything gathered.
    fn write_all<B: NearBackend>(self, backend: &mut B, run: u32) -> Result<(), B::Error> {
        backend.write_filter(run, self.at as u64, &self.bytes)
    }
}

/// The filter of registered run `r` as stored; rebuilt from its buckets (and stored) when
/// it does not parse.
///
/// # Errors
/// Storage failures.
pub fn load<B: NearBackend>(backend: &mut B, r: &RunInfo) -> Result<KeyFilter, B::Error> {
    let bytes = backend.filter(r.run)?;
    let (f, rebuilt) = super::parsed_or_rebuilt(backend, r, bytes)?;
    if rebuilt {
        backend.set_filter(r.run, f.as_bytes())?;
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{build, key};
    use super::*;
    use crate::dedup::disk::resume::Progress;
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
    /// partitions sealed are stored and spilled ([`Progress::store`]); returns the builder
    /// and the most filter bytes it held.
    fn spilled(db: &mut NearDb, keys: &[u32], r: &RunInfo) -> (FilterBuilder, usize) {
        let (mut job, mut most) = (Progress::new(r.postings, 1), 0);
        for chunk in keys.chunks(40_000) {
            chunk.iter().for_each(|&k| job.filter.insert(k));
            job.filter.seal_before(u64::from(chunk[chunk.len() - 1]));
            most = most.max(job.filter.filter.bytes.len());
            job.store(db, r.run).unwrap();
        }
        (job.filter, most)
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

    #[test]
    fn a_spilled_filter_is_registered_as_the_filter_built_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = NearDb::open(dir.path()).unwrap();
        let (keys, postings, whole) = built_whole();
        assert!(whole.part_bits >= 3, "{} partition bits", whole.part_bits);
        let r = run(5, postings);
        let (b, most) = spilled(&mut db, &keys, &r);
        let len = whole.as_bytes().len();
        assert!(most * 4 < len, "held {most} of {len} bytes");
        b.register(&mut db, &r, 0).unwrap();
        assert!(
            db.filter(r.run).unwrap() == whole.as_bytes(),
            "stored bytes differ"
        );
        assert_eq!(load(&mut db, &r).unwrap(), whole);

        // A partition lost: the filter stored does not parse (rebuilt, never missing keys).
        let lost = run(6, postings);
        let (b, _) = spilled(&mut db, &keys, &lost);
        db.delete_parts(lost.run).unwrap();
        b.register(&mut db, &lost, 0).unwrap();
        assert_eq!(KeyFilter::from_bytes(db.filter(lost.run).unwrap()), None);
    }

    #[test]
    fn partitions_gathered_share_the_byte_where_one_ends_and_leave_no_gap() {
        let mut p = Pending {
            at: 100,
            bytes: Vec::new(),
        };
        assert!(!p.append(99, &[1]), "before the first byte");
        assert!(p.append(100, &[0b0001, 0b0010]));
        assert!(p.append(101, &[0b0100, 0b1000]), "shares byte 101");
        assert!(p.append(103, &[0b1_0000]), "right after");
        assert_eq!(
            (p.at, p.bytes.as_slice()),
            (100, &[1, 0b0110, 0b1000, 0b1_0000][..])
        );
        assert!(!p.append(105, &[1]), "a gap");
        assert!(!p.append(102, &[1, 1]), "overlapping more than a byte");
        assert_eq!(p.end(), 104);
    }

    #[test]
    fn a_filter_registered_in_small_writes_is_the_filter_built_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = NearDb::open(dir.path()).unwrap();
        let (keys, postings, whole) = built_whole();
        // Batches smaller than a partition, and of a size that ends them anywhere in one.
        for (run_no, batch) in [(7, 1), (8, 4_099), (9, 70_001)] {
            let r = run(run_no, postings);
            let (b, _) = spilled(&mut db, &keys, &r);
            b.register_in(&mut db, &r, 0, batch).unwrap();
            assert!(
                db.filter(r.run).unwrap() == whole.as_bytes(),
                "stored bytes differ, batch {batch}"
            );
        }
    }
}
