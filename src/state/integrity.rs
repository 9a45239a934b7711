//! What `verify`, `reprocess` and the start of a run need to compare the state database with
//! the corpus and raw/: every frontier row that names a record or a raw response. Reads only;
//! every change of a URL's state goes through the frontier's transitions.

use std::path::PathBuf;

use super::{State, StateError, q};
use crate::frontier::UrlKey;
use crate::model::{RawLocation, SourceId};

/// One frontier row, as `verify` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlRow {
    /// The frontier key (canonical URL).
    pub url: String,
    /// Source id.
    pub source_id: String,
    /// Stored state name ("ingested", "fetched", "discovered", …).
    pub state: String,
    /// Record holding the URL's text, once ingested.
    pub record_id: Option<String>,
    /// Where its latest raw response is.
    pub raw: Option<RawLocation>,
}

impl UrlRow {
    /// The raw location stored in the `raw_file`, `raw_offset`, `raw_length` columns (the same
    /// in both backends), when all three are set.
    pub(crate) fn raw_from_columns(
        file: Option<String>,
        offset: Option<i64>,
        length: Option<i64>,
    ) -> Option<RawLocation> {
        match (file, offset, length) {
            (Some(f), Some(o), Some(l)) => Some(RawLocation {
                file: PathBuf::from(f),
                offset: u64::try_from(o).unwrap_or(0),
                length: u64::try_from(l).unwrap_or(0),
            }),
            _ => None,
        }
    }

    /// Whether the frontier says the URL's text is in the corpus.
    pub fn is_ingested(&self) -> bool {
        self.state == "ingested"
    }

    /// Whether the URL's response is durable in raw/ and its record is not (yet).
    pub fn is_fetched(&self) -> bool {
        self.state == "fetched"
    }

    /// The frontier key and source, for a transition.
    pub fn key(&self) -> (UrlKey, Option<SourceId>) {
        (
            UrlKey::from_stored(self.url.clone()),
            SourceId::new(&self.source_id).ok(),
        )
    }
}

impl State {
    /// Every frontier row that names a record or a raw response, ordered by URL.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn url_rows(&self) -> Result<Vec<UrlRow>, StateError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT url, source_id, state, record_id, raw_file, raw_offset, raw_length
                 FROM frontier WHERE record_id IS NOT NULL OR raw_file IS NOT NULL ORDER BY url",
            )
            .map_err(q("preparing url rows"))?;
        let rows = stmt
            .query_map([], |r| {
                let raw = UrlRow::raw_from_columns(r.get(4)?, r.get(5)?, r.get(6)?);
                Ok(UrlRow {
                    url: r.get(0)?,
                    source_id: r.get(1)?,
                    state: r.get(2)?,
                    record_id: r.get(3)?,
                    raw,
                })
            })
            .map_err(q("reading url rows"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("reading url rows"))
    }

    /// The URLs (with their source) whose frontier row names one of these record ids: the
    /// record's own URL and the URLs of its exact duplicates.
    ///
    /// # Errors
    /// `Query` on database failure.
    pub fn urls_of_records(&self, ids: &[String]) -> Result<Vec<(UrlKey, SourceId)>, StateError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT url, source_id FROM frontier WHERE record_id = ?1 ORDER BY url")
            .map_err(q("preparing record url query"))?;
        let mut out = Vec::new();
        for id in ids {
            let rows = stmt
                .query_map([id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(q("reading record urls"))?;
            for row in rows {
                let (url, source) = row.map_err(q("reading record urls"))?;
                if let Ok(source) = SourceId::new(&source) {
                    out.push((UrlKey::from_stored(url), source));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontier::{Change, Frontier, FrontierStore, RecordId, RetryPolicy, Transition};
    use crate::model::Validators;

    #[test]
    fn rows_follow_the_frontier_and_name_records_and_raw() {
        let dir = tempfile::tempdir().unwrap();
        let st = std::sync::Arc::new(State::open(dir.path()).unwrap());
        let f = Frontier::new(
            st.clone() as std::sync::Arc<dyn FrontierStore>,
            RetryPolicy::default(),
        );
        let s = SourceId::new("s").unwrap();
        let loc = RawLocation {
            file: "2026/01/01/a.warc.gz".into(),
            offset: 10,
            length: 20,
        };
        let change = |u: &str, t: Transition| Change {
            key: UrlKey::from_stored(u.into()),
            source: s.clone(),
            transition: t,
        };
        let ingested = |dup| Transition::Ingested {
            record: RecordId::new("id1"),
            duplicate: dup,
            validators: Validators::default(),
        };
        f.apply(&[
            change("https://x.org/u1", Transition::Fetched { raw: loc.clone() }),
            change("https://x.org/u1", ingested(false)),
            change("https://x.org/u2", ingested(true)),
            change("https://x.org/u3", Transition::Fetched { raw: loc.clone() }),
        ])
        .unwrap();
        let rows = st.url_rows().unwrap();
        assert_eq!(rows.len(), 3);
        assert!(rows[0].is_ingested() && rows[1].is_ingested() && rows[2].is_fetched());
        assert_eq!(rows[0].raw.as_ref(), Some(&loc));
        assert_eq!(rows[0].record_id.as_deref(), Some("id1"));
        let urls = st.urls_of_records(&["id1".into()]).unwrap();
        let keys: Vec<&str> = urls.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["https://x.org/u1", "https://x.org/u2"]);
        f.apply(&[change("https://x.org/u1", Transition::Requeue)])
            .unwrap();
        let rows = st.url_rows().unwrap();
        assert_eq!(rows[0].state, "discovered");
        assert_eq!(rows[0].record_id, None);
    }
}
