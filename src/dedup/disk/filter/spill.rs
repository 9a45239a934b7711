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
    /// in pieces: header, the spilled bytes as the partitions stored for `out` hold them,
    /// then the bytes held. Partitions missing or cut leave a filter that does not parse
    /// (rebuilt from the buckets by [`load`]), never one that would miss a key.
    ///
    /// # Errors
    /// Storage failures.
    pub fn register<B: NearBackend>(
        mut self,
        backend: &mut B,
        out: &RunInfo,
        tail_from: u32,
    ) -> Result<(), B::Error> {
        self.seal_all();
        let header = header_len(self.filter.part_bits);
        let end = header + self.spilled;
        let len = (self.filter.bytes.len() + self.spilled) as u64;
        backend.put_run_sized(out, len, tail_from)?;
        backend.write_filter(out.run, 0, &self.filter.bytes[..header])?;
        // Neighbouring partitions share the byte where one ends and the next starts.
        let (mut covered, mut last) = (header, None::<(usize, u8)>);
        for part in 0..self.filter.parts.len() {
            if covered >= end {
                break;
            }
            let Some(stored) = backend.part(out.run, part as u32)? else {
                break;
            };
            let Some((base, data)) = stored_bytes(&stored) else {
                break;
            };
            let start = (base / 8) as usize;
            if start > covered || start < header {
                break;
            }
            let mut piece = data[..data.len().min(end.saturating_sub(start))].to_vec();
            if let (Some((at, byte)), Some(first)) = (last, piece.first_mut())
                && at == start
            {
                *first |= byte;
            }
            if let Some(&byte) = piece.last() {
                last = Some((start + piece.len() - 1, byte));
                covered = covered.max(start + piece.len());
            }
            backend.write_filter(out.run, start as u64, &piece)?;
        }
        backend.write_filter(out.run, end as u64, &self.filter.bytes[header..])?;
        if covered < end {
            backend.write_filter(out.run, 0, &[0; 8])?;
        }
        Ok(())
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

    #[test]
    fn a_spilled_filter_is_registered_as_the_filter_built_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = NearDb::open(dir.path()).unwrap();
        let mut keys: Vec<u32> = (0..1_400_000).map(key).collect();
        keys.sort_unstable();
        let postings = 1_400_000 * FILED as u64 / FAR_BANDS as u64;
        let whole = build(&mut keys, postings);
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
}
