//! What `verify` and `reprocess` need of the state database: every URL row that points at a
//! record or a raw response, and the one transition they make, "queue for refetch".
//!
//! Queuing a URL for refetch sets its outcome to [`OUTCOME_REFETCH`] (not ingested, so the next
//! run that meets the URL fetches it) and drops its stored validators,
//! so the request is unconditional and a `304 Not Modified` cannot stand in for content that
//! newsmill no longer has.

use std::path::PathBuf;

use rusqlite::params;

use super::{State, StateError, q};
use crate::model::RawLocation;

/// Outcome of a URL whose record or raw response was lost and that must be fetched again.
pub const OUTCOME_REFETCH: &str = "refetch";

/// One row of the `urls` table, as `verify` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlRow {
    /// Canonical URL (the state key).
    pub url: String,
    /// Source id.
    pub source_id: String,
    /// Latest outcome ("ingested", "duplicate", a failure kind, …).
    pub outcome: Option<String>,
    /// Record holding the URL's text, once ingested.
    pub article_id: Option<String>,
    /// Where its latest raw response is.
    pub raw: Option<RawLocation>,
}

impl UrlRow {
    /// Whether the state says the URL's text is in the corpus.
    pub fn is_ingested(&self) -> bool {
        matches!(self.outcome.as_deref(), Some("ingested" | "duplicate"))
    }
}

impl State {
    /// Every URL row that names a record or a raw response, ordered by URL.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn url_rows(&self) -> Result<Vec<UrlRow>, StateError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT url, source_id, outcome, article_id, raw_file, raw_offset, raw_length
                 FROM urls WHERE article_id IS NOT NULL OR raw_file IS NOT NULL ORDER BY url",
            )
            .map_err(q("preparing url rows"))?;
        let rows = stmt
            .query_map([], |r| {
                let file: Option<String> = r.get(4)?;
                let offset: Option<i64> = r.get(5)?;
                let length: Option<i64> = r.get(6)?;
                let raw = match (file, offset, length) {
                    (Some(f), Some(o), Some(l)) => Some(RawLocation {
                        file: PathBuf::from(f),
                        offset: u64::try_from(o).unwrap_or(0),
                        length: u64::try_from(l).unwrap_or(0),
                    }),
                    _ => None,
                };
                Ok(UrlRow {
                    url: r.get(0)?,
                    source_id: r.get(1)?,
                    outcome: r.get(2)?,
                    article_id: r.get(3)?,
                    raw,
                })
            })
            .map_err(q("reading url rows"))?;
        rows.collect::<Result<_, _>>().map_err(q("reading url rows"))
    }

    /// Queues URLs for refetch (see the module doc). Unknown URLs are ignored. Returns how many
    /// rows changed.
    ///
    /// # Errors
    /// `Query` on database failure; then nothing changed.
    pub fn queue_refetch(&self, urls: &[String]) -> Result<usize, StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(q("starting transaction"))?;
        let mut changed = 0;
        {
            let mut mark = tx
                .prepare("UPDATE urls SET outcome = ?2 WHERE url = ?1")
                .map_err(q("preparing refetch update"))?;
            let mut forget = tx
                .prepare("DELETE FROM validators WHERE url = ?1")
                .map_err(q("preparing validator delete"))?;
            for url in urls {
                changed += mark
                    .execute(params![url, OUTCOME_REFETCH])
                    .map_err(q("queuing url for refetch"))?;
                forget
                    .execute([url])
                    .map_err(q("forgetting validators"))?;
            }
        }
        tx.commit().map_err(q("committing refetch queue"))?;
        Ok(changed)
    }

    /// The URLs whose state names one of these record ids (the record's own URL and its
    /// duplicates).
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn urls_of_records(&self, ids: &[String]) -> Result<Vec<String>, StateError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT url FROM urls WHERE article_id = ?1 ORDER BY url")
            .map_err(q("preparing record url query"))?;
        let mut out = Vec::new();
        for id in ids {
            let rows = stmt
                .query_map([id], |r| r.get::<_, String>(0))
                .map_err(q("reading record urls"))?;
            for row in rows {
                out.push(row.map_err(q("reading record urls"))?);
            }
        }
        Ok(out)
    }

    /// Records that `url` is in the corpus as record `id` (inserting the row if the state
    /// does not know the URL): `verify --repair` uses it for records the state lost track of.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn adopt_record(
        &self,
        url: &str,
        source_id: &str,
        id: &str,
        raw: &RawLocation,
    ) -> Result<(), StateError> {
        self.conn()
            .execute(
                "INSERT INTO urls (url, source_id, first_seen, outcome, article_id, raw_file,
                                   raw_offset, raw_length)
                 VALUES (?1, ?2, ?3, 'ingested', ?4, ?5, ?6, ?7)
                 ON CONFLICT(url) DO UPDATE SET outcome = 'ingested', article_id = ?4",
                params![
                    url,
                    source_id,
                    chrono::Utc::now().to_rfc3339(),
                    id,
                    raw.file.to_string_lossy(),
                    raw.offset as i64,
                    raw.length as i64
                ],
            )
            .map(drop)
            .map_err(q("adopting a corpus record"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceId;
    use crate::state::Validators;

    #[test]
    fn queue_refetch_un_ingests_and_forgets_validators() {
        let dir = tempfile::tempdir().unwrap();
        let st = State::open(dir.path()).unwrap();
        let s = SourceId::new("s").unwrap();
        let loc = RawLocation {
            file: "2026/01/01/a.warc.gz".into(),
            offset: 10,
            length: 20,
        };
        for u in ["u1", "u2"] {
            st.note_fetched(u, &s, 200, Some(&loc), "normalized").unwrap();
            st.set_validators(
                u,
                &Validators {
                    etag: Some("\"e\"".into()),
                    last_modified: None,
                },
            )
            .unwrap();
        }
        st.mark_ingested(&[
            ("u1".into(), "id1".into(), false),
            ("u2".into(), "id1".into(), true),
        ])
        .unwrap();
        assert_eq!(st.urls_of_records(&["id1".into()]).unwrap(), ["u1", "u2"]);
        let rows = st.url_rows().unwrap();
        assert!(rows.iter().all(UrlRow::is_ingested));
        assert_eq!(rows[0].raw.as_ref(), Some(&loc));
        assert_eq!(st.queue_refetch(&["u1".into(), "nope".into()]).unwrap(), 1);
        assert!(!st.is_ingested("u1").unwrap());
        assert!(st.is_ingested("u2").unwrap());
        assert_eq!(st.validators("u1").unwrap(), Validators::default());
        assert!(st.validators("u2").unwrap().etag.is_some());
        let row = &st.url_rows().unwrap()[0];
        assert_eq!(row.outcome.as_deref(), Some(OUTCOME_REFETCH));
        // The record id stays: the record may still be in the corpus (only its raw was lost).
        assert_eq!(row.article_id.as_deref(), Some("id1"));
        // A later fetch overwrites the refetch mark as usual.
        st.note_fetched("u1", &s, 200, None, "normalized").unwrap();
        st.mark_ingested(&[("u1".into(), "id1".into(), false)]).unwrap();
        assert!(st.is_ingested("u1").unwrap());
    }

    #[test]
    fn adopt_record_inserts_or_marks() {
        let dir = tempfile::tempdir().unwrap();
        let st = State::open(dir.path()).unwrap();
        let loc = RawLocation {
            file: "f.warc.gz".into(),
            offset: 0,
            length: 5,
        };
        st.adopt_record("u", "s", "id9", &loc).unwrap();
        assert!(st.is_ingested("u").unwrap());
        assert_eq!(st.url_rows().unwrap()[0].article_id.as_deref(), Some("id9"));
    }
}
