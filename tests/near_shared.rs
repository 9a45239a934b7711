//! The shared near-duplicate index (PostgreSQL, `state::pg::PgNearIndex`) against the
//! in-memory one on the labelled real-world set (`fixtures/dedup/realworld/`): every plan
//! (links, similarities, merges) equal record by record, and the same clusters in reverse
//! order and when two connections (two workers) add alternately. The server comes from
//! `NEWSMILL_TEST_DATABASE_URL` (skipped without it, failing under `CI=true`).
// See: issue 12.

use std::collections::HashMap;
use std::sync::Arc;

use newsmill::dedup::link::ShingleSource;
use newsmill::dedup::{MemStore, MemTexts, NearDoc, ShingleSet, Thresholds, link};
use newsmill::state::pg::{PgError, PgNearIndex, PgState};

use crate::postgres::Schema;
use crate::util::realworld;

mod bench;

/// Texts from memory with the shared index's error type.
#[derive(Default)]
struct Texts(HashMap<String, Arc<ShingleSet>>);

impl ShingleSource for Texts {
    type Error = PgError;

    fn shingles(&mut self, id: &str) -> Result<Option<Arc<ShingleSet>>, PgError> {
        Ok(self.0.get(id).cloned())
    }
}

fn open(db: &Schema, worker: &str) -> PgNearIndex {
    let config: postgres::Config = db.conninfo().parse().unwrap();
    PgState::migrate_with(config.clone()).unwrap();
    PgNearIndex::new(Arc::new(PgState::open_with(config).unwrap()), worker)
}

/// Adds `batch` (records with their texts) to `index` in one locked transaction, as a worker
/// adds a flush; the plans in batch order. `texts` gets each record's shingles as soon as it
/// is added, so the next records of the batch are verified against it.
fn add_batch<T: ShingleSource<Error = PgError> + Own>(
    index: &mut PgNearIndex,
    texts: &mut T,
    batch: &[(NearDoc, &str)],
) -> Vec<link::Plan> {
    let pairs: Vec<(&NearDoc, &str)> = batch.iter().map(|(d, t)| (d, *t)).collect();
    index.begin(&pairs).unwrap();
    let plans = batch
        .iter()
        .map(|(d, _)| {
            let plan = link::add(index, texts, d, &Thresholds::DEFAULT).unwrap();
            texts.own(d);
            plan
        })
        .collect();
    index.commit().unwrap();
    plans
}

/// A text source that learns the records its worker adds.
trait Own {
    fn own(&mut self, d: &NearDoc);
}

impl Own for Texts {
    fn own(&mut self, d: &NearDoc) {
        self.0.insert(d.info.id().to_owned(), d.shingles.clone());
    }
}

impl Own for TextsOrDb<'_> {
    fn own(&mut self, d: &NearDoc) {
        self.own.own(d);
    }
}

/// Every plan on the shared index equals the in-memory one, record by record, whether the
/// records come one per transaction or in batches (the batch overlay sees the records before
/// it exactly as the database would have).
#[test]
fn issue12_shared_index_plans_equal_in_memory_plans() {
    for batch in [1, 50] {
        let Some(db) = Schema::new(&format!("near_shared_plans_{batch}")) else {
            return;
        };
        let w = realworld::texts();
        let mut shared = open(&db, "w1");
        let (mut mem, mut mem_texts, mut texts) =
            (MemStore::default(), MemTexts::default(), Texts::default());
        let ids: Vec<&String> = w.keys().collect();
        let mut within = 0;
        for (c, chunk) in ids.chunks(batch).enumerate() {
            let docs: Vec<(NearDoc, &str)> = chunk
                .iter()
                .map(|id| (realworld::doc(&w, id), w[*id].0.as_str()))
                .collect();
            let on_pg = add_batch(&mut shared, &mut texts, &docs);
            // Plans that link to (or relink) another record of the same batch.
            let in_chunk = |id: &String| chunk.contains(&id);
            within += on_pg
                .iter()
                .filter(|p| {
                    let own = &p.links[0].1;
                    p.links.iter().skip(1).any(|(id, _)| in_chunk(id))
                        || own.near_duplicate_of.as_ref().is_some_and(in_chunk)
                })
                .count();
            for (k, ((d, _), on_pg)) in docs.iter().zip(on_pg).enumerate() {
                let in_mem = link::add(&mut mem, &mut mem_texts, d, &Thresholds::DEFAULT).unwrap();
                mem_texts.insert(d.info.id(), d.shingles.clone());
                let i = c * batch + k;
                assert_eq!(
                    on_pg,
                    in_mem,
                    "batch size {batch}, record {i} ({})",
                    d.info.id()
                );
            }
        }
        assert!(
            batch == 1 || within > 20,
            "records linked within their batch: {within}: the overlay is not tested"
        );
        let state = shared.db().clone();
        let clusters = state.near_clusters().unwrap();
        assert_eq!(clusters.len(), w.len());
        let linked = clusters.iter().filter(|(id, head)| id != head).count();
        assert!(linked > 100, "the set has many near duplicates: {linked}");
        for (id, head) in &clusters {
            assert_eq!(mem.cluster_of(id), Some(head.as_str()), "{id}");
        }
    }
}

/// Two workers (two connections) add the records alternately, in reverse order, in batches
/// of 1 to 50 records: the clusters are those of one in-memory index fed one by one in the
/// forward order.
#[test]
fn issue12_two_workers_alternating_in_reverse_give_the_same_clusters() {
    let Some(db) = Schema::new("near_shared_two_workers") else {
        return;
    };
    let w = realworld::texts();
    let mut workers = [open(&db, "w1"), open(&db, "w2")];
    // Each worker's texts: its own records only, the others' come from the index.
    let mut texts = [Texts::default(), Texts::default()];
    let ids: Vec<&String> = w.keys().rev().collect();
    let (mut at, mut round) = (0, 0);
    while at < ids.len() {
        let size = [1, 7, 50, 2, 33][round % 5];
        let chunk = &ids[at..(at + size).min(ids.len())];
        let docs: Vec<(NearDoc, &str)> = chunk
            .iter()
            .map(|id| (realworld::doc(&w, id), w[*id].0.as_str()))
            .collect();
        let k = round % 2;
        let (index, own) = (&mut workers[k], &mut texts[k]);
        let mut from_db = TextsOrDb {
            own,
            db: index.db().clone(),
        };
        add_batch(index, &mut from_db, &docs);
        at += chunk.len();
        round += 1;
    }
    let (mut mem, mut mem_texts) = (MemStore::default(), MemTexts::default());
    for id in w.keys() {
        let d = realworld::doc(&w, id);
        link::add(&mut mem, &mut mem_texts, &d, &Thresholds::DEFAULT).unwrap();
        mem_texts.insert(id, d.shingles.clone());
    }
    let clusters = workers[0].db().near_clusters().unwrap();
    assert_eq!(clusters.len(), w.len());
    for (id, head) in &clusters {
        assert_eq!(mem.cluster_of(id), Some(head.as_str()), "{id}");
    }
    let size = workers[1].db().near_size().unwrap();
    assert_eq!(size.records as usize, w.len());
    assert!(size.postings >= 60 * size.records, "{size:?}");
}

/// A batch's stored candidates are read before the lock (`candidate_texts`, with the texts to
/// verify them); records another worker adds between that read and the lock are found all
/// the same, under the lock: copies whose early read found nothing link to the originals
/// committed in between, and the clusters are those of the in-memory index.
#[test]
fn issue12_records_added_between_the_early_read_and_the_lock_are_found() {
    let Some(db) = Schema::new("near_shared_early_read") else {
        return;
    };
    let w = realworld::texts();
    let originals: Vec<(String, String, f64)> = w
        .iter()
        .take(60)
        .map(|(id, (text, day))| (id.clone(), text.clone(), *day))
        .collect();
    let copies: Vec<(String, String, f64)> = originals
        .iter()
        .map(|(id, text, day)| {
            let text = format!("{text} Republished by another outlet today.");
            (format!("{id}-copy"), text, day + 0.1)
        })
        .collect();
    let docs = |items: &[(String, String, f64)]| -> Vec<(NearDoc, String)> {
        items
            .iter()
            .map(|(id, text, day)| (realworld::doc_at(id, text, *day), text.clone()))
            .collect()
    };
    let (first, late) = (docs(&originals), docs(&copies));
    let (first, late) = (borrowed(&first), borrowed(&late));
    let (mut a, mut b) = (open(&db, "w1"), open(&db, "w2"));
    let (mut own_a, mut own_b) = (Texts::default(), Texts::default());
    // w1 reads its batch's candidates: none yet.
    warm(&mut a, &mut own_a, &late);
    // w2 adds the originals in between.
    let db_b = b.db().clone();
    add_batch(
        &mut b,
        &mut TextsOrDb {
            own: &mut own_b,
            db: db_b,
        },
        &first,
    );
    add_late_and_compare(
        &mut a,
        &mut own_a,
        &first,
        &late,
        "the records added since the early read",
    );
}

/// A batch's postings are written after the lock is released, so records can be committed
/// without them: then they are found by their filed keys, under the lock. A worker that died
/// between its commit and its postings leaves its records listed as unposted: copies added
/// later still link to them, and once they have been listed for longer than the stuck limit
/// the next batch's early read writes their postings.
#[test]
fn issue12_records_committed_without_their_postings_are_found() {
    let Some(db) = Schema::new("near_shared_unposted") else {
        return;
    };
    let w = realworld::texts();
    let items = |suffix: &str, extra: &str, shift: f64| -> Vec<(NearDoc, String)> {
        w.iter()
            .take(60)
            .map(|(id, (text, day))| {
                let (id, text) = (format!("{id}{suffix}"), format!("{text}{extra}"));
                (realworld::doc_at(&id, &text, day + shift), text)
            })
            .collect()
    };
    let first = items("", "", 0.0);
    let late = items("-copy", " Republished by another outlet today.", 0.1);
    let (first, late) = (borrowed(&first), borrowed(&late));
    let (mut a, mut b) = (open(&db, "w1"), open(&db, "w2"));
    let (mut own_a, mut own_b) = (Texts::default(), Texts::default());
    add_batch(&mut b, &mut own_b, &first);
    // w2 "dies" between its commit and its postings: its records are committed and listed,
    // their postings not written.
    let mut c = db.client();
    let gone = c.execute("DELETE FROM near_band", &[]).unwrap();
    assert!(gone >= 60 * 60, "{gone} postings");
    c.execute(
        "INSERT INTO near_unposted (doc, queued) SELECT doc, now() FROM near_record",
        &[],
    )
    .unwrap();
    warm(&mut a, &mut own_a, &late);
    add_late_and_compare(
        &mut a,
        &mut own_a,
        &first,
        &late,
        "the records without postings",
    );
    // w1 wrote its own postings; w2's stay missing until they are stuck.
    let count =
        |c: &mut postgres::Client, sql: &str| -> i64 { c.query_one(sql, &[]).unwrap().get(0) };
    let filed = "SELECT sum(cardinality(filed))::int8 FROM near_record";
    let posted = "SELECT count(*) FROM near_band";
    assert!(count(&mut c, posted) < count(&mut c, filed));
    c.execute(
        "UPDATE near_unposted SET queued = now() - interval '1 hour'",
        &[],
    )
    .unwrap();
    warm(&mut a, &mut own_a, &late);
    assert_eq!(count(&mut c, posted), count(&mut c, filed));
    assert_eq!(count(&mut c, "SELECT count(*) FROM near_unposted"), 0);
}

/// Worker `a` adds the `late` copies of `first` (texts: its own, then the index's): at least
/// 9 in 10 link to their original (else `missed` were missed), and the clusters are those of
/// the in-memory index fed `first`, then `late`.
fn add_late_and_compare(
    a: &mut PgNearIndex,
    own_a: &mut Texts,
    first: &[(NearDoc, &str)],
    late: &[(NearDoc, &str)],
    missed: &str,
) {
    let db_a = a.db().clone();
    let plans = add_batch(
        a,
        &mut TextsOrDb {
            own: own_a,
            db: db_a,
        },
        late,
    );
    let linked = plans
        .iter()
        .filter(|p| p.links[0].1.near_duplicate_of.is_some())
        .count();
    assert!(
        linked * 10 >= late.len() * 9,
        "{linked} of {} copies linked: {missed} were missed",
        late.len()
    );
    let (mut mem, mut mem_texts) = (MemStore::default(), MemTexts::default());
    for (d, _) in first.iter().chain(late) {
        link::add(&mut mem, &mut mem_texts, d, &Thresholds::DEFAULT).unwrap();
        mem_texts.insert(d.info.id(), d.shingles.clone());
    }
    for (id, head) in &a.db().near_clusters().unwrap() {
        assert_eq!(mem.cluster_of(id), Some(head.as_str()), "{id}");
    }
}

/// `docs` with their texts borrowed, as `add_batch` takes them.
fn borrowed(docs: &[(NearDoc, String)]) -> Vec<(NearDoc, &str)> {
    docs.iter().map(|(n, t)| (n.clone(), t.as_str())).collect()
}

/// A worker's own texts, then the index's (another worker's records).
struct TextsOrDb<'a> {
    own: &'a mut Texts,
    db: Arc<PgState>,
}

impl ShingleSource for TextsOrDb<'_> {
    type Error = PgError;

    fn shingles(&mut self, id: &str) -> Result<Option<Arc<ShingleSet>>, PgError> {
        if let Some(s) = self.own.0.get(id) {
            return Ok(Some(s.clone()));
        }
        Ok(self
            .db
            .near_text(id)?
            .map(|t| Arc::new(ShingleSet::of_text(&t))))
    }
}

/// What a worker does before it takes the lock for a batch: read and shingle the texts of
/// the stored candidates it will verify (into `texts`, the cache here).
fn warm(index: &mut PgNearIndex, texts: &mut Texts, docs: &[(NearDoc, &str)]) {
    let refs: Vec<&NearDoc> = docs.iter().map(|(d, _)| d).collect();
    let th = Thresholds::DEFAULT;
    let found = index
        .candidate_texts(
            &refs,
            &mut |d, hit| th.worth_verifying(d.shingles.len(), d.info.rank.published_us, hit),
            &|id| texts.0.contains_key(id),
        )
        .unwrap();
    for (id, text) in found {
        texts.0.insert(id, Arc::new(ShingleSet::of_text(&text)));
    }
}
