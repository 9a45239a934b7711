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
        self.spill_into(parts, &mut |_, _| ());
    }

    /// [`FilterBuilder::spill`], giving the bytes dropped to `keep(at, bytes)` first (`at`:
    /// where they start in the stored form). They are final: no later partition touches them.
    pub fn spill_into(&mut self, parts: usize, keep: &mut dyn FnMut(u64, &[u8])) {
        let header = header_len(self.filter.part_bits);
        let end = self
            .filter
            .parts
            .get(parts)
            .map_or(self.bits, |p| p.bit_base)
            / 8;
        let end = end as usize - self.spilled;
        if end > header {
            keep(
                (header + self.spilled) as u64,
                &self.filter.bytes[header..end],
            );
            self.filter.bytes.drain(header..end);
            self.spilled += end - header;
        }
    }

    /// Bytes of the stored form dropped so far, header included (where the next spilled
    /// bytes start).
    pub fn spilled_end(&self) -> u64 {
        (header_len(self.filter.part_bits) + self.spilled) as u64
    }

    /// Registers `out`, its buckets written and the first `stored` partitions of this filter
    /// stored, and forgets the `near_tail` rows before `tail_from` ([`NearBackend::put_run`]).
    /// The partitions left are sealed and stored; the run's row holds the header in the
    /// partitioned form. A filter of keys that came out of order (one that passes every key)
    /// has partitions that do not match its header: [`load`] rebuilds it from the buckets.
    /// Returns what is held of the filter ([`Registered`]).
    ///
    /// # Errors
    /// Storage failures.
    pub fn register<B: NearBackend>(
        mut self,
        backend: &mut B,
        out: &RunInfo,
        stored: usize,
        tail_from: u32,
    ) -> Result<Registered, B::Error> {
        self.seal_all();
        for part in stored..self.sealed() {
            let part_no = u32::try_from(part).unwrap_or(u32::MAX);
            backend.put_part(out.run, part_no, &self.sealed_part(part))?;
        }
        let mut header = self.filter.bytes[..header_len(self.filter.part_bits)].to_vec();
        header[..8].copy_from_slice(&PARTS_MAGIC);
        backend.put_run(out, &header, tail_from)?;
        Ok(Registered {
            spilled_end: self.spilled_end(),
            header: header.len(),
            ordered: !self.disordered,
            held: self.filter.bytes,
        })
    }
}

/// What a builder held of a filter it registered: the stored form's header and the bytes
/// after those it spilled.
#[derive(Debug)]
pub struct Registered {
    held: Vec<u8>,
    header: usize,
    spilled_end: u64,
    ordered: bool,
}

impl Registered {
    /// The filter, from the bytes its builder spilled (`spilled`: the stored form's first
    /// [`Registered::spilled_end`] bytes, the header's not read) and those held; `None` when
    /// `spilled` is not that long or the keys came out of order (see [`FilterBuilder::register`]).
    pub fn with_spilled(self, mut spilled: Vec<u8>) -> Option<KeyFilter> {
        let len = self.header;
        if !self.ordered || spilled.len() as u64 != self.spilled_end || spilled.len() < len {
            return None;
        }
        spilled[..len].copy_from_slice(&self.held[..len]);
        spilled.extend_from_slice(&self.held[len..]);
        KeyFilter::from_bytes(spilled)
    }

    /// Bytes of the stored form spilled, header included.
    pub fn spilled_end(&self) -> u64 {
        self.spilled_end
    }

    /// Bytes of the whole stored form.
    pub fn stored_len(&self) -> usize {
        self.spilled_end as usize + self.held.len() - self.header
    }
}

/// The filter of run `r`, just registered by a job that kept every byte its builder spilled
/// beside the index ([`NearBackend::keep_spilled`]; `left`: what it held, `None` when not
/// kept): read back in one piece with what was held, instead of from the run's partitions
/// (scattered through the index file: at 10 M records the ~100 MB filter of a level-3 merge
/// took up to 1.6 s to read cold). Loaded as stored ([`load`]) when that fails.
///
/// # Errors
/// Storage failures.
pub fn load_registered<B: NearBackend>(
    backend: &mut B,
    r: &RunInfo,
    left: Option<Registered>,
) -> Result<KeyFilter, B::Error> {
    let kept = left.and_then(|left| {
        let spilled = backend.spilled(r, left.spilled_end(), left.stored_len())?;
        left.with_spilled(spilled)
    });
    match kept {
        Some(filter) => Ok(filter),
        None => load(backend, r),
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
mod tests;
