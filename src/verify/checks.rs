//! Corpus ↔ state and raw ↔ state checks over lists already read from the stores: pure except
//! for looking at WARC files (their size, and at [`Depth::Full`] the member at each record's
//! offset).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::corpus::RecordRef;
use crate::raw_store;
use crate::state::UrlRow;

use super::StoreProblem;

/// How closely raw responses are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Each WARC file exists and is long enough for every member it should hold (one `stat` per
    /// file): what `stats` checks before it warns.
    Quick,
    /// Also reads every record's member back and checks it is a response (`verify`).
    Full,
}

/// Problems found, and how many distinct WARC files were looked at.
#[derive(Debug, Default)]
pub(super) struct StoreCheck {
    pub(super) problems: Vec<StoreProblem>,
    pub(super) raw_files: usize,
}

/// Compares records with state rows and both with raw/.
pub(super) fn check(
    records: &[RecordRef],
    rows: &[UrlRow],
    raw: &Path,
    depth: Depth,
) -> StoreCheck {
    let mut out = StoreCheck::default();
    let ids: HashSet<&str> = records.iter().map(|r| r.id.as_str()).collect();
    let mut referenced = HashSet::new();
    let mut sizes = FileSizes::new(raw);
    for row in rows {
        referenced.extend(row.record_id.as_deref());
        if let (true, Some(id)) = (row.is_ingested(), row.record_id.as_deref())
            && !ids.contains(id)
        {
            out.problems.push(StoreProblem::RecordMissing {
                url: row.url.clone(),
                id: id.to_owned(),
            });
        } else if let (true, Some(loc)) = (row.is_fetched(), &row.raw) {
            let (url, file) = (row.url.clone(), loc.file.display().to_string());
            out.problems.push(match sizes.get(&loc.file) {
                Some(_) => StoreProblem::PendingRecovery { url, file },
                None => StoreProblem::FetchedRawMissing { url, file },
            });
        }
    }
    for rec in records {
        if let Some(p) = check_raw(rec, raw, &mut sizes, depth) {
            // Its URLs were queued for refetch when the raw loss was found, so the state no
            // longer names the record: one problem, not two.
            out.problems.push(p);
        } else if !referenced.contains(rec.id.as_str()) {
            out.problems.push(StoreProblem::NotInState {
                id: rec.id.clone(),
                url: rec.urls.first().cloned().unwrap_or_default(),
                segment: rec.segment.clone(),
                source_id: rec.source_id.as_str().to_owned(),
                raw: rec.raw.clone(),
            });
        }
    }
    out.raw_files = sizes.sizes.len();
    out
}

fn check_raw(
    rec: &RecordRef,
    raw: &Path,
    sizes: &mut FileSizes,
    depth: Depth,
) -> Option<StoreProblem> {
    let url = rec.urls.first().cloned().unwrap_or_default();
    let file = rec.raw.file.display().to_string();
    let damaged = |reason: String| StoreProblem::RawDamaged {
        id: rec.id.clone(),
        url: url.clone(),
        file: file.clone(),
        offset: rec.raw.offset,
        reason,
    };
    let Some(size) = sizes.get(&rec.raw.file) else {
        return Some(StoreProblem::RawMissing {
            id: rec.id.clone(),
            url: url.clone(),
            file: file.clone(),
        });
    };
    let end = rec.raw.offset.saturating_add(rec.raw.length);
    if end > size {
        return Some(damaged(format!(
            "the file has {size} bytes, the member ends at byte {end}"
        )));
    }
    if depth == Depth::Full
        && let Err(e) = raw_store::read_at(raw, &rec.raw)
    {
        return Some(damaged(crate::pipeline::report::error_chain(&e)));
    }
    None
}

/// Sizes of WARC files, one `stat` each (`None`: missing or not a file).
struct FileSizes<'a> {
    root: &'a Path,
    sizes: HashMap<PathBuf, Option<u64>>,
}

impl<'a> FileSizes<'a> {
    fn new(root: &'a Path) -> Self {
        Self {
            root,
            sizes: HashMap::new(),
        }
    }

    fn get(&mut self, rel: &Path) -> Option<u64> {
        let root = self.root;
        *self.sizes.entry(rel.to_owned()).or_insert_with(|| {
            fs::metadata(root.join(rel))
                .ok()
                .filter(fs::Metadata::is_file)
                .map(|m| m.len())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RawLocation, SourceId};

    fn loc(file: &str, offset: u64, length: u64) -> RawLocation {
        RawLocation {
            file: file.into(),
            offset,
            length,
        }
    }

    fn rec(id: &str, raw: RawLocation) -> RecordRef {
        RecordRef {
            id: id.into(),
            segment: "part-000001.jsonl".into(),
            source_id: SourceId::new("s").unwrap(),
            urls: vec![format!("https://x.org/{id}")],
            raw,
        }
    }

    fn row(url: &str, state: &str, id: Option<&str>, raw: Option<RawLocation>) -> UrlRow {
        UrlRow {
            url: url.into(),
            source_id: "s".into(),
            state: state.into(),
            record_id: id.map(str::to_owned),
            raw,
        }
    }

    #[test]
    fn every_disagreement_is_named() {
        let raw = tempfile::tempdir().unwrap();
        std::fs::write(raw.path().join("a.warc.gz"), vec![0u8; 100]).unwrap();
        let records = [
            rec("a1", loc("a.warc.gz", 0, 50)),
            rec("a2", loc("a.warc.gz", 60, 50)),
            rec("a3", loc("gone.warc.gz", 0, 10)),
            rec("a4", loc("a.warc.gz", 0, 10)),
        ];
        let rows = [
            row("u1", "ingested", Some("a1"), None),
            row("u2", "ingested", Some("a2"), None),
            row("u3", "ingested", Some("a3"), None),
            row("u5", "ingested", Some("a5"), None),
            row("u6", "fetched", None, Some(loc("gone.warc.gz", 0, 1))),
            row("u7", "discovered", None, Some(loc("gone.warc.gz", 0, 1))),
            row("u8", "failed", None, Some(loc("a.warc.gz", 0, 1))),
            row("u9", "fetched", None, Some(loc("a.warc.gz", 0, 1))),
        ];
        let out = check(&records, &rows, raw.path(), Depth::Quick);
        let text: Vec<String> = out.problems.iter().map(ToString::to_string).collect();
        assert!(
            matches!(&out.problems[0], StoreProblem::RecordMissing { url, id } if url == "u5" && id == "a5"),
            "{text:#?}"
        );
        assert!(
            matches!(&out.problems[1], StoreProblem::FetchedRawMissing { url, .. } if url == "u6"),
            "{text:#?}"
        );
        let expect: [fn(&StoreProblem) -> bool; 4] = [
            |p| matches!(p, StoreProblem::PendingRecovery { url, .. } if url == "u9"),
            |p| matches!(p, StoreProblem::RawDamaged { id, offset: 60, .. } if id == "a2"),
            |p| matches!(p, StoreProblem::RawMissing { id, .. } if id == "a3"),
            |p| matches!(p, StoreProblem::NotInState { id, .. } if id == "a4"),
        ];
        for (i, ok) in expect.iter().enumerate() {
            assert!(ok(&out.problems[i + 2]), "{i}: {text:#?}");
        }
        assert_eq!(out.problems.len(), 6, "{text:#?}");
        assert_eq!(out.raw_files, 2);
        assert!(text[3].contains("the file has 100 bytes, the member ends at byte 110"));
    }

    #[test]
    fn full_depth_reads_members_back() {
        let raw = tempfile::tempdir().unwrap();
        std::fs::write(raw.path().join("a.warc.gz"), vec![0u8; 100]).unwrap();
        let records = [rec("a1", loc("a.warc.gz", 0, 50))];
        let rows = [row("u1", "ingested", Some("a1"), None)];
        assert!(
            check(&records, &rows, raw.path(), Depth::Quick)
                .problems
                .is_empty()
        );
        let full = check(&records, &rows, raw.path(), Depth::Full);
        assert!(
            matches!(&full.problems[..], [StoreProblem::RawDamaged { .. }]),
            "{:?}",
            full.problems
        );
    }
}
