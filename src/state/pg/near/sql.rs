//! The statements of the shared near-duplicate index: the reads a batch starts with or makes
//! on demand (each row loaded into the batch's overlay), the bulk writes of its commit, and
//! the index-wide reads of [`PgState`] (parameters, texts, clusters, size).

use std::collections::HashMap;

use postgres::{Client, Row};

use crate::dedup::keys::min_matches;
use crate::dedup::{DocInfo, FactTag, IndexedDoc, Rank};

use super::super::{PgError, PgState, q};
use super::overlay::Overlay;

/// Columns of a record, its canonical record's id and its cluster's record number, as
/// [`read`] takes them (`r`: the record, `h`: its canonical record).
pub(super) const COLUMNS: &str = "r.doc, r.id, r.published, r.republished, r.source, r.url_len, \
     r.shingles, h.id, r.cluster, r.facts0, r.facts1";
/// Columns in [`COLUMNS`]: a query's own columns after them start at this index.
pub(super) const AFTER_COLUMNS: usize = columns_in(COLUMNS);

/// Columns of a list like [`COLUMNS`] (its commas and one).
const fn columns_in(list: &str) -> usize {
    let (bytes, mut i, mut n) = (list.as_bytes(), 0, 1);
    while i < bytes.len() {
        if bytes[i] == b',' {
            n += 1;
        }
        i += 1;
    }
    n
}

/// Size of the shared index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgNearSize {
    /// Rows of `near_record`.
    pub records: i64,
    /// Rows of `near_band`.
    pub postings: i64,
    /// Bytes of both tables with their indexes and TOAST.
    pub bytes: i64,
}

/// A u32 band key as the INTEGER column stores it (the same bits).
pub(super) fn key(k: u32) -> i32 {
    i32::from_ne_bytes(k.to_ne_bytes())
}

/// A band key read back from an INTEGER column.
pub(super) fn unkey(k: i32) -> u32 {
    u32::from_ne_bytes(k.to_ne_bytes())
}

/// Loads a row of [`COLUMNS`] into `overlay`; returns its record number.
pub(super) fn read(r: &Row, overlay: &mut Overlay) -> Result<i64, postgres::Error> {
    let url_len: i32 = r.try_get(5)?;
    let shingles: i32 = r.try_get(6)?;
    let info = DocInfo {
        rank: Rank {
            id: r.try_get(1)?,
            published_us: r.try_get(2)?,
            republished: r.try_get(3)?,
            source_id: r.try_get(4)?,
            url_len: u32::try_from(url_len).unwrap_or(0),
        },
        shingles: u32::try_from(shingles).unwrap_or(0),
        facts: FactTag::from_stored([r.try_get(9)?, r.try_get(10)?]),
    };
    let doc = r.try_get(0)?;
    let found = IndexedDoc {
        info,
        cluster: r.try_get(7)?,
    };
    overlay.load(doc, found, r.try_get(8)?);
    Ok(doc)
}

/// The next record number.
pub(super) fn next_doc(c: &mut Client) -> Result<i64, PgError> {
    Ok(
        c.query_one("SELECT COALESCE(max(doc) + 1, 0) FROM near_record", &[])
            .map_err(q("numbering records"))?
            .get(0),
    )
}

/// `(doc, id)` of those of `ids` already indexed.
pub(super) fn indexed_ids(c: &mut Client, ids: &[&str]) -> Result<Vec<(i64, String)>, PgError> {
    let rows = c
        .query(
            "SELECT doc, id FROM near_record WHERE id = ANY($1)",
            &[&ids],
        )
        .map_err(q("looking records up in the near-duplicate index"))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The record number of `id`.
pub(super) fn doc_of(c: &mut Client, id: &str) -> Result<Option<i64>, PgError> {
    let row = c
        .query_opt("SELECT doc FROM near_record WHERE id = $1", &[&id])
        .map_err(q("looking a record up in the near-duplicate index"))?;
    Ok(row.map(|r| r.get(0)))
}

/// For each band list (by position), the stored records numbered above `after` sharing at
/// least `dedup::keys::min_matches` keys with it, `(doc, keys shared)` by record number, loaded into
/// `overlay`: one query for the whole batch.
///
/// The postings are first filtered by `key = ANY(keys)` (PostgreSQL hashes the array, so a
/// sequential scan tests each posting in constant time), in a subquery (`OFFSET 0`) the
/// planner cannot fold into the join: joined directly, it built a hash over all of
/// `near_band`, which cost most of the query. Still a scan of the postings, so it grows with
/// the index, at about a third of the cost: on 192,000 postings (synthetic, load 8) 40–43
/// against 106–119 ms with distinct keys, 47–67 against 118–134 ms with ~1.5 records per
/// key, 200–205 against 223–363 ms with ~10. Probing each key through the primary key
/// (`CROSS JOIN LATERAL (… OFFSET 0)`) is fast only for distinct keys (43 ms) and was slower
/// in the crawl bench, whose texts share one small vocabulary (450–820 against 150–230 ms per
/// batch).
pub(super) fn batch_candidates(
    c: &mut Client,
    bands: &[&[u32]],
    after: i64,
    overlay: &mut Overlay,
) -> Result<HashMap<usize, Vec<(i64, usize)>>, PgError> {
    let (mut keys, mut idx, mut need) = (Vec::new(), Vec::new(), Vec::new());
    for (i, b) in bands.iter().enumerate() {
        let mut own: Vec<u32> = b.to_vec();
        own.sort_unstable();
        own.dedup();
        let i = i32::try_from(i).unwrap_or(i32::MAX);
        let min = i32::try_from(min_matches(b)).unwrap_or(i32::MAX);
        idx.extend(std::iter::repeat_n(i, own.len()));
        need.extend(std::iter::repeat_n(min, own.len()));
        keys.extend(own.into_iter().map(key));
    }
    let mut out: HashMap<usize, Vec<(i64, usize)>> = HashMap::new();
    if keys.is_empty() {
        return Ok(out);
    }
    // Each list's own minimum of shared keys (`dedup::keys::min_matches`: three near keys, or
    // two far keys), the same for every row of the list.
    let rows = c
        .query(
            &format!(
                "SELECT {COLUMNS}, m.idx, m.matches FROM (
                     SELECT b.idx, n.doc, count(*) AS matches
                     FROM unnest($1::int4[], $2::int4[], $3::int4[]) AS b(key, idx, need)
                     JOIN (SELECT key, doc FROM near_band
                           WHERE key = ANY($1) AND doc > $4 OFFSET 0) n ON n.key = b.key
                     GROUP BY b.idx, n.doc HAVING count(*) >= min(b.need)) m
                 JOIN near_record r ON r.doc = m.doc
                 JOIN near_record h ON h.doc = r.cluster
                 ORDER BY m.idx, r.doc"
            ),
            &[&keys, &idx, &need, &after],
        )
        .map_err(q("looking up near-duplicate candidates"))?;
    for row in &rows {
        let doc = read(row, overlay).map_err(q("reading near-duplicate candidates"))?;
        let (i, matches): (i32, i64) = (row.get(AFTER_COLUMNS), row.get(AFTER_COLUMNS + 1));
        out.entry(usize::try_from(i).unwrap_or(usize::MAX))
            .or_default()
            .push((doc, usize::try_from(matches).unwrap_or(0)));
    }
    Ok(out)
}

/// `(id, text)` of stored records `docs`.
pub(super) fn texts(c: &mut Client, docs: &[i64]) -> Result<Vec<(String, String)>, PgError> {
    if docs.is_empty() {
        return Ok(Vec::new());
    }
    let rows = c
        .query(
            "SELECT id, text FROM near_record WHERE doc = ANY($1)",
            &[&docs],
        )
        .map_err(q("reading indexed texts"))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Loads the stored records `cond` (on `r`, with `$1` = `arg`) selects.
pub(super) fn load<A: postgres::types::ToSql + Sync>(
    c: &mut Client,
    cond: &str,
    arg: A,
    overlay: &mut Overlay,
) -> Result<(), PgError> {
    let rows = c
        .query(
            &format!(
                "SELECT {COLUMNS} FROM near_record r JOIN near_record h ON h.doc = r.cluster
                 WHERE {cond}"
            ),
            &[&arg],
        )
        .map_err(q("reading near-duplicate records"))?;
    for row in &rows {
        read(row, overlay).map_err(q("reading near-duplicate records"))?;
    }
    Ok(())
}

/// The stored digest relations of record `doc`: (stories it contains, digests containing
/// it), every other record named in `overlay`.
pub(super) fn relations(
    c: &mut Client,
    doc: i64,
    overlay: &mut Overlay,
) -> Result<(Vec<i64>, Vec<i64>), PgError> {
    let rows = c
        .query(
            "SELECT c.digest, c.story, r.id FROM near_contains c
             JOIN near_record r ON r.doc = CASE WHEN c.digest = $1 THEN c.story ELSE c.digest END
             WHERE c.digest = $1 OR c.story = $1",
            &[&doc],
        )
        .map_err(q("reading digest relations"))?;
    let (mut contains, mut contained_in) = (Vec::new(), Vec::new());
    for row in &rows {
        let (d, s, id): (i64, i64, String) = (row.get(0), row.get(1), row.get(2));
        if d == doc {
            overlay.name(s, &id);
            contains.push(s);
        } else {
            overlay.name(d, &id);
            contained_in.push(d);
        }
    }
    Ok((contains, contained_in))
}

/// Writes what the batch in `overlay` changed, one statement per table: new records (owned by
/// `worker`, with their filed keys, listed as not posted yet: their postings are written
/// after the lock, `since.rs`), stored records moved (or taken over), new relations.
pub(super) fn write(c: &mut Client, overlay: &Overlay, worker: &str) -> Result<(), PgError> {
    let added = overlay.added();
    if !added.is_empty() {
        insert_records(c, &added, worker)?;
        let docs: Vec<i64> = added.iter().map(|a| a.doc).collect();
        c.execute(
            "INSERT INTO near_unposted (doc, queued)
             SELECT unnest($1::int8[]), clock_timestamp()",
            &[&docs],
        )
        .map_err(q("listing records to post"))?;
    }
    let changed = overlay.changed();
    if !changed.is_empty() {
        let docs: Vec<i64> = changed.iter().map(|c| c.0).collect();
        let clusters: Vec<i64> = changed.iter().map(|c| c.1).collect();
        let adopted: Vec<bool> = changed.iter().map(|c| c.2).collect();
        c.execute(
            "UPDATE near_record n SET cluster = u.cluster,
                 worker_id = CASE WHEN u.adopted THEN $4 ELSE n.worker_id END
             FROM unnest($1::int8[], $2::int8[], $3::bool[]) AS u(doc, cluster, adopted)
             WHERE n.doc = u.doc",
            &[&docs, &clusters, &adopted, &worker],
        )
        .map_err(q("moving records between near-duplicate clusters"))?;
    }
    let (digests, stories): (Vec<i64>, Vec<i64>) = overlay.new_relations().copied().unzip();
    if !digests.is_empty() {
        c.execute(
            "INSERT INTO near_contains (digest, story)
             SELECT * FROM unnest($1::int8[], $2::int8[]) ON CONFLICT DO NOTHING",
            &[&digests, &stories],
        )
        .map_err(q("storing digest relations"))?;
    }
    Ok(())
}

fn insert_records(
    c: &mut Client,
    added: &[super::overlay::Added<'_>],
    worker: &str,
) -> Result<(), PgError> {
    let col = |f: &dyn Fn(&super::overlay::Added<'_>) -> i64| -> Vec<i64> {
        added.iter().map(f).collect()
    };
    let docs = col(&|a| a.doc);
    let clusters = col(&|a| a.entry.cluster);
    let ids: Vec<&str> = added.iter().map(|a| a.entry.info.id()).collect();
    let published: Vec<Option<i64>> = added
        .iter()
        .map(|a| a.entry.info.rank.published_us)
        .collect();
    let republished: Vec<bool> = added
        .iter()
        .map(|a| a.entry.info.rank.republished)
        .collect();
    let sources: Vec<&str> = added
        .iter()
        .map(|a| a.entry.info.rank.source_id.as_str())
        .collect();
    let url_lens: Vec<i32> = added
        .iter()
        .map(|a| i32::try_from(a.entry.info.rank.url_len).unwrap_or(i32::MAX))
        .collect();
    let shingles: Vec<i32> = added
        .iter()
        .map(|a| i32::try_from(a.entry.info.shingles).unwrap_or(i32::MAX))
        .collect();
    let texts: Vec<&str> = added.iter().map(|a| a.text).collect();
    let facts: Vec<[i64; 2]> = added.iter().map(|a| a.entry.info.facts.stored()).collect();
    let facts0: Vec<i64> = facts.iter().map(|f| f[0]).collect();
    let facts1: Vec<i64> = facts.iter().map(|f| f[1]).collect();
    // Each record's filed keys as one array literal (a nested array would need every
    // record to have as many keys).
    let filed: Vec<String> = added.iter().map(|a| int_array(a.bands)).collect();
    c.execute(
        "INSERT INTO near_record (doc, id, cluster, published, republished, source, url_len,
             shingles, worker_id, text, filed, facts0, facts1)
         SELECT d, i, c, p, rp, s, u, sh, $9, t, f::int4[], f0, f1 FROM unnest($1::int8[],
             $2::text[], $3::int8[], $4::int8[], $5::bool[], $6::text[], $7::int4[],
             $8::int4[], $10::text[], $11::text[], $12::int8[], $13::int8[])
             AS x(d, i, c, p, rp, s, u, sh, t, f, f0, f1)",
        &[
            &docs,
            &ids,
            &clusters,
            &published,
            &republished,
            &sources,
            &url_lens,
            &shingles,
            &worker,
            &texts,
            &filed,
            &facts0,
            &facts1,
        ],
    )
    .map(drop)
    .map_err(q("indexing records"))
}

/// `keys` as a PostgreSQL `int4[]` literal (`{1,-2,3}`), each as the column stores it.
fn int_array(keys: &[u32]) -> String {
    let mut s = String::with_capacity(keys.len() * 12 + 2);
    s.push('{');
    for (i, &k) in keys.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&key(k).to_string());
    }
    s.push('}');
    s
}

impl PgState {
    /// Records `params` as the index's parameters when it has none, and checks them.
    ///
    /// # Errors
    /// `NearParams` when the index was built with other parameters; `Query`.
    pub fn check_near_params(&self, params: &str) -> Result<(), PgError> {
        let mut c = self.client();
        c.execute(
            "INSERT INTO near_meta (key, value) VALUES ('params', $1) ON CONFLICT DO NOTHING",
            &[&params],
        )
        .map_err(q("recording the near-duplicate index parameters"))?;
        let found: String = c
            .query_one("SELECT value FROM near_meta WHERE key = 'params'", &[])
            .map_err(q("reading the near-duplicate index parameters"))?
            .get(0);
        if found == params {
            Ok(())
        } else {
            Err(PgError::NearParams {
                found,
                expected: params.to_owned(),
            })
        }
    }

    /// The text of indexed record `id`.
    ///
    /// # Errors
    /// `Query`.
    pub fn near_text(&self, id: &str) -> Result<Option<String>, PgError> {
        self.client()
            .query_opt("SELECT text FROM near_record WHERE id = $1", &[&id])
            .map(|r| r.map(|r| r.get(0)))
            .map_err(q("reading an indexed text"))
    }

    /// Every indexed record with its cluster's canonical record id, by record id.
    ///
    /// # Errors
    /// `Query`.
    pub fn near_clusters(&self) -> Result<Vec<(String, String)>, PgError> {
        self.client()
            .query(
                "SELECT r.id, h.id FROM near_record r JOIN near_record h ON h.doc = r.cluster
                 ORDER BY r.id",
                &[],
            )
            .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect())
            .map_err(q("reading near-duplicate clusters"))
    }

    /// Rows and bytes of the shared index.
    ///
    /// # Errors
    /// `Query`.
    pub fn near_size(&self) -> Result<PgNearSize, PgError> {
        let r = self
            .client()
            .query_one(
                "SELECT (SELECT count(*) FROM near_record), (SELECT count(*) FROM near_band),
                     pg_total_relation_size('near_record') + pg_total_relation_size('near_band')",
                &[],
            )
            .map_err(q("measuring the near-duplicate index"))?;
        Ok(PgNearSize {
            records: r.get(0),
            postings: r.get(1),
            bytes: r.get(2),
        })
    }
}
