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
        job.store(db, r).unwrap();
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

/// An index in a new folder, and [`built_whole`]'s keys and filter for run 5.
fn fixture() -> (tempfile::TempDir, NearDb, Vec<u32>, KeyFilter, RunInfo) {
    let dir = tempfile::tempdir().unwrap();
    let db = NearDb::open(dir.path()).unwrap();
    let (keys, postings, whole) = built_whole();
    (dir, db, keys, whole, run(5, postings))
}

fn parts_of(db: &mut NearDb, run: u32) -> Vec<u32> {
    let mut parts = Vec::new();
    db.parts(run, &mut |p, _| parts.push(p)).unwrap();
    parts
}

#[test]
fn a_spilled_filter_is_registered_as_its_partitions_and_loads_as_the_filter_built_whole() {
    let (_dir, mut db, keys, whole, r) = fixture();
    assert!(whole.part_bits >= 3, "{} partition bits", whole.part_bits);
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
    let all_at_once = run(6, r.postings);
    let mut job = Progress::new(r.postings, 1);
    keys.iter().for_each(|&k| job.filter.insert(k));
    job.register(&mut db, &all_at_once, 0).unwrap();
    assert_eq!(load(&mut db, &all_at_once).unwrap(), whole);
}

#[test]
fn a_job_taken_up_from_its_stored_partitions_registers_the_filter_built_whole() {
    let (_dir, mut db, keys, whole, r) = fixture();
    // Interrupted after half of its keys: an open finds what the job stored and noted.
    let (job, _) = spilled(&mut db, &keys[..keys.len() / 2], &r);
    let state = job.state(r, Vec::new());
    assert!(state.sealed >= 3, "{} partitions sealed", state.sealed);
    drop(job);
    let filter = restore_filter(&mut db, &r, state.sealed).unwrap();
    let mut job = Progress::restored(&state, filter.expect("restored"), None);
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
    let (_dir, mut db, keys, whole, r) = fixture();
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

/// The bytes a job spills are kept beside the index (`NearBackend::keep_spilled`) and its end
/// reads the filter back from them and what it held: the filter built whole, with no
/// partition read (they are gone here). Kept bytes cut, or a builder that did not keep all
/// it spilled: read from the partitions, the same filter.
#[test]
fn a_job_that_kept_what_it_spilled_loads_its_filter_from_that_alone() {
    let (_dir, mut db, keys, whole, r) = fixture();
    let (job, most) = spilled(&mut db, &keys, &r);
    assert!(most * 4 < whole.as_bytes().len(), "spilled as it went");
    let held = job.register(&mut db, &r, 0).unwrap().expect("kept");
    let kept = db.spilled_len(&r).unwrap();
    assert_eq!(kept, held.spilled_end());
    assert!(
        kept as usize > whole.as_bytes().len() / 2,
        "{kept} bytes kept"
    );
    db.delete_parts(r.run).unwrap();
    assert_eq!(load_registered(&mut db, &r, Some(held)).unwrap(), whole);

    // Cut: the partitions.
    let other = run(7, r.postings);
    let (job, _) = spilled(&mut db, &keys, &other);
    let held = job.register(&mut db, &other, 0).unwrap().expect("kept");
    let path = build_file(&db, other.run);
    let len = std::fs::metadata(&path).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len - 1).unwrap();
    assert!(
        db.spilled(&other, held.spilled_end(), held.stored_len())
            .is_none()
    );
    assert_eq!(load_registered(&mut db, &other, Some(held)).unwrap(), whole);
    // Not kept: nothing to read but the partitions.
    assert_eq!(load_registered(&mut db, &other, None).unwrap(), whole);
    // Gone once no job builds them.
    db.forget_spilled(&[]);
    assert!(db.spilled_len(&other).is_none() && !path.exists());
}

/// The file of the filter of run `run` being built.
fn build_file(db: &NearDb, run: u32) -> std::path::PathBuf {
    let dir = db.path().parent().unwrap();
    dir.join("near-filters").join(format!("build-{run}.filter"))
}

/// A job taken up at an open goes on keeping what it spills when all it had spilled is
/// kept (as a commit left it), and its end loads the filter built whole from it; when less
/// is kept, it keeps nothing more and its end reads the partitions.
#[test]
fn a_job_taken_up_keeps_what_it_spills_when_all_before_is_kept() {
    let (_dir, mut db, keys, whole, r) = fixture();
    let (half, quarter) = (keys.len() / 2, keys.len() / 4);
    let (job, _) = spilled(&mut db, &keys[..half], &r);
    let state = job.state(r, Vec::new());
    drop(job);
    db.commit().unwrap();
    let kept = db.spilled_len(&r);
    let resume = |db: &mut NearDb, kept| {
        let filter = restore_filter(db, &r, state.sealed)
            .unwrap()
            .expect("restored");
        let mut job = Progress::restored(&state, filter, kept);
        let from = job.resume_key();
        let rest: Vec<u32> = keys
            .iter()
            .copied()
            .filter(|&k| u64::from(k) >= from)
            .collect();
        for chunk in rest.chunks(quarter) {
            chunk.iter().for_each(|&k| job.filter.insert(k));
            job.filter.seal_before(u64::from(chunk[chunk.len() - 1]));
            job.store(db, &r).unwrap();
        }
        db.forget_run(r.run).unwrap();
        job.register(db, &r, 0).unwrap()
    };
    assert!(
        resume(&mut db, kept.map(|k| k - 1)).is_none(),
        "one byte short"
    );
    assert!(resume(&mut db, None).is_none(), "none");
    // A process that ended after spilling more than its last commit noted left bytes past
    // the kept length: the job taken up writes over them.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(build_file(&db, r.run))
        .unwrap();
    std::io::Write::write_all(&mut file, &[0xa5; 4096]).unwrap();
    drop(file);
    let held = resume(&mut db, kept).expect("kept");
    db.delete_parts(r.run).unwrap();
    assert_eq!(load_registered(&mut db, &r, Some(held)).unwrap(), whole);
}
