//! Immutable runs of postings: how a sorted list of (band key, record) pairs is cut into
//! buckets and stored, how a bucket is searched, and how runs are merged. A posting is packed
//! as `key << 32 | doc`, so sorting the `u64`s sorts by key, then record; in a bucket blob each
//! posting takes 8 bytes (`key u32 LE, doc u32 LE`).
//!
//! Merging streams the key space in chunks ([`merge_chunk`], scheduled by `super::merge`): for
//! each chunk it reads the matching buckets of every input run, sorts them and writes the
//! output buckets, so its memory stays bounded whatever the runs' size, and every write is an
//! append in slot order.

use super::backend::{NearBackend, RunInfo};
use super::filter::{FilterBuilder, KeyFilter};

/// Postings a bucket aims to hold (8 bytes each: 1 KiB blobs, a few per 4 KiB page).
pub const BUCKET_TARGET: u64 = 128;
/// Bytes per posting in a bucket blob.
const ENTRY: usize = 8;

/// `key << 32 | doc`.
pub fn pack(key: u32, doc: u32) -> u64 {
    u64::from(key) << 32 | u64::from(doc)
}

/// Bucket bits for a run of `postings`: buckets of at most about [`BUCKET_TARGET`] postings.
pub fn choose_bits(postings: u64) -> u32 {
    let mut bits = 0;
    while bits < 24 && postings >> bits > BUCKET_TARGET {
        bits += 1;
    }
    bits
}

fn bucket_of(bits: u32, key: u32) -> u32 {
    if bits == 0 { 0 } else { key >> (32 - bits) }
}

/// Calls `f(bucket, blob)` for every non-empty bucket of `sorted` (packed postings, ascending)
/// cut by `bits`, in bucket order.
pub fn for_each_bucket(sorted: &[u64], bits: u32, mut f: impl FnMut(u32, &[u8])) {
    let mut blob = Vec::with_capacity(BUCKET_TARGET as usize * 2 * ENTRY);
    for run in sorted
        .chunk_by(|a, b| bucket_of(bits, (a >> 32) as u32) == bucket_of(bits, (b >> 32) as u32))
    {
        blob.clear();
        for &p in run {
            blob.extend_from_slice(&((p >> 32) as u32).to_le_bytes());
            blob.extend_from_slice(&(p as u32).to_le_bytes());
        }
        f(bucket_of(bits, (run[0] >> 32) as u32), &blob);
    }
}

fn entry(blob: &[u8], i: usize) -> (u32, u32) {
    let e = &blob[i * ENTRY..(i + 1) * ENTRY];
    (
        u32::from_le_bytes([e[0], e[1], e[2], e[3]]),
        u32::from_le_bytes([e[4], e[5], e[6], e[7]]),
    )
}

/// Calls `f` with every record filed under `key` in a bucket blob (binary search).
pub fn search(blob: &[u8], key: u32, mut f: impl FnMut(u32)) {
    let n = blob.len() / ENTRY;
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if entry(blob, mid).0 < key {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for i in lo..n {
        let (k, doc) = entry(blob, i);
        if k != key {
            break;
        }
        f(doc);
    }
}

/// Calls `f` with the key of every posting of a bucket blob, in order.
pub fn for_each_key(blob: &[u8], mut f: impl FnMut(u32)) {
    (0..blob.len() / ENTRY).for_each(|i| f(entry(blob, i).0));
}

/// Appends the packed postings of a bucket blob with keys in `lo..=hi` to `out`.
fn decode_range(blob: &[u8], lo: u32, hi: u32, out: &mut Vec<u64>) {
    for i in 0..blob.len() / ENTRY {
        let (k, doc) = entry(blob, i);
        if (lo..=hi).contains(&k) {
            out.push(pack(k, doc));
        }
    }
}

/// Writes `sorted` (packed postings, ascending) as the buckets of `run` and registers it;
/// `near_tail` rows before `tail_from` are dropped with it. Returns the run's key filter.
///
/// # Errors
/// Storage failures.
pub fn write<B: NearBackend>(
    backend: &mut B,
    sorted: &[u64],
    run: &RunInfo,
    tail_from: u32,
) -> Result<KeyFilter, B::Error> {
    let mut filter = FilterBuilder::with_capacity(run.postings);
    put_buckets(backend, sorted, run, &mut filter)?;
    let filter = filter.finish();
    backend.put_run(run, filter.as_bytes(), tail_from)?;
    Ok(filter)
}

/// Stores `sorted` as buckets of `run` and adds their keys to `filter`.
pub fn put_buckets<B: NearBackend>(
    backend: &mut B,
    sorted: &[u64],
    run: &RunInfo,
    filter: &mut FilterBuilder,
) -> Result<(), B::Error> {
    for p in sorted {
        filter.insert((p >> 32) as u32);
    }
    let mut result = Ok(());
    for_each_bucket(sorted, run.bits, |bucket, blob| {
        if result.is_ok() {
            result = backend.put_bucket(run.run, bucket, blob);
        }
    });
    result
}

/// The first and last key of chunks `chunks` of `1 << chunk_bits` equal slices of the key
/// space (`chunks` not empty): what [`merge_chunk`] merges, and what a merge reads ahead.
pub fn chunk_keys(chunk_bits: u32, chunks: std::ops::Range<u64>) -> (u32, u32) {
    let shift = 32 - chunk_bits;
    let lo = u32::try_from(chunks.start << shift).unwrap_or(u32::MAX);
    let hi = u32::try_from((chunks.end << shift) - 1).unwrap_or(u32::MAX);
    (lo, hi)
}

/// Merges chunk `chunk` of `1 << chunk_bits` equal slices of the key space of `inputs` into
/// the run `out` being written (its `bits` and `postings` already set), adding the keys to
/// `filter`; `buf` is scratch space. Chunks must be merged in order, each once.
///
/// # Errors
/// Storage failures.
pub fn merge_chunk<B: NearBackend>(
    backend: &mut B,
    inputs: &[RunInfo],
    out: &RunInfo,
    (chunk_bits, chunk): (u32, u64),
    buf: &mut Vec<u64>,
    filter: &mut FilterBuilder,
) -> Result<(), B::Error> {
    let (lo, hi) = chunk_keys(chunk_bits, chunk..chunk + 1);
    buf.clear();
    for run in inputs {
        backend.bucket_range(run.run, run.bucket(lo), run.bucket(hi), &mut |blob| {
            decode_range(blob, lo, hi, buf);
        })?;
    }
    // `buf` is one ascending stretch per input: the stable sort finds them and merges them
    // (a merge of 4 runs costs log₂ 4 passes instead of an unstable sort's log₂ n).
    buf.sort();
    put_buckets(backend, buf, out, filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_round_trip_through_search() {
        let mut sorted: Vec<u64> = (0..1000u32)
            .map(|d| pack(d.wrapping_mul(2_654_435_761), d))
            .collect();
        sorted.push(pack(7, 5000));
        sorted.push(pack(7, 5001));
        sorted.sort_unstable();
        let bits = choose_bits(sorted.len() as u64);
        assert_eq!(bits, 3);
        let mut blobs = std::collections::HashMap::new();
        for_each_bucket(&sorted, bits, |b, blob| {
            assert!(blobs.insert(b, blob.to_vec()).is_none(), "bucket {b} twice");
        });
        let find = |key: u32| {
            let mut out = Vec::new();
            if let Some(blob) = blobs.get(&bucket_of(bits, key)) {
                search(blob, key, |d| out.push(d));
            }
            out
        };
        assert_eq!(find(7), [5000, 5001]);
        assert_eq!(find(123u32.wrapping_mul(2_654_435_761)), [123]);
        assert_eq!(find(8), Vec::<u32>::new());
        let mut all = Vec::new();
        for blob in blobs.values() {
            decode_range(blob, 0, u32::MAX, &mut all);
        }
        all.sort_unstable();
        assert_eq!(all, sorted);
    }
}
