//! The kept near postings on disk (`near_live`): each segment is written when it is kept, in
//! chunks of `CHUNK` postings, and read back on open, so that the near lookups of a cron
//! `run` read no run either.

use super::super::DiskStore;
use super::super::backend::NearBackend;
use super::{LiveNear, newest_of};

/// Postings per stored chunk (8 bytes each: 512 KiB rows).
const CHUNK: usize = 1 << 16;

/// A stored segment: its records `first..end` and their sorted near postings.
pub type StoredSegment = (u32, u32, Vec<u64>);

impl<B: NearBackend> DiskStore<B> {
    /// Stores the segment just kept and drops the rows of segments no longer kept (called in
    /// the transaction that registers the segment's run).
    ///
    /// # Errors
    /// Storage failures.
    pub(in crate::dedup::disk) fn store_live(&mut self) -> Result<(), B::Error> {
        let Some((first, end, sorted)) = self.live.newest_segment() else {
            return self.backend.delete_live_outside(u32::MAX, 0);
        };
        let oldest = self.live.first_doc().unwrap_or(first);
        self.backend.delete_live_outside(oldest, first)?;
        let mut bytes = Vec::with_capacity(CHUNK * 8);
        for (i, chunk) in sorted.chunks(CHUNK).enumerate() {
            bytes.clear();
            chunk
                .iter()
                .for_each(|p| bytes.extend_from_slice(&p.to_le_bytes()));
            self.backend.put_live((first, end), i as u32, &bytes)?;
        }
        Ok(())
    }
}

/// Reads the stored segments; empty unless they are whole, contiguous and end at `tail_start`
/// (any other rows are ignored, and dropped at the next segment kept).
///
/// # Errors
/// Storage failures.
pub fn load<B: NearBackend>(
    backend: &mut B,
    tail_start: u32,
) -> Result<Vec<StoredSegment>, B::Error> {
    let mut segs: Vec<StoredSegment> = Vec::new();
    let mut ok = true;
    backend.live(&mut |first, end, blob| {
        if segs.last().is_none_or(|s| s.0 != first) {
            ok &= segs.last().is_none_or(|s| s.1 == first);
            segs.push((first, end, Vec::new()));
        }
        let seg = segs.last_mut().expect("pushed above");
        ok &= seg.1 == end && blob.len().is_multiple_of(8);
        let packed = blob
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        seg.2.extend(packed);
    })?;
    ok &= segs.last().is_none_or(|s| s.1 == tail_start);
    ok &= segs.iter().all(|(first, end, sorted)| {
        first <= end
            && sorted.is_sorted()
            && sorted.iter().all(|&p| (*first..*end).contains(&(p as u32)))
    });
    if !ok {
        segs.clear();
    }
    Ok(segs)
}

/// The kept near postings after an open: the segments `kept` (records up to `tail_start`),
/// every earlier record older than the minute they start covering; records published at
/// `minutes`, the newest of them in runs at `in_runs`.
pub fn restore(
    kept: Vec<StoredSegment>,
    tail_start: u32,
    minutes: &[i32],
    in_runs: i64,
    max_docs: u32,
) -> LiveNear {
    let before = kept.first().map_or(tail_start, |s| s.0) as usize;
    let mut live = LiveNear::new(
        newest_of(&minutes[..before.min(minutes.len())]).saturating_add(1),
        newest_of(minutes).max(in_runs),
        max_docs,
    );
    for (first, end, sorted) in kept {
        live.restore(first, end, sorted, &minutes[first as usize..end as usize]);
    }
    live
}
