//! The carry-over step of `reprocess`: every record of the old corpus either came out of the
//! raw walk again (by its raw location, or by its URL fetched again elsewhere in raw/) or is
//! carried into the new corpus unchanged and named. A sighting (`also_seen_at`) the walk did
//! not reproduce is put back on the record that now holds its text.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::corpus::{self, CorpusError};
use crate::dedup::Verdict;
use crate::model::{CorpusRecord, NearLink, Sighting};

use super::Ingest;

/// A raw location: WARC file (relative to raw/) and member offset.
pub(super) type At = (PathBuf, u64);

/// What the raw walk did.
#[derive(Debug, Default)]
pub(super) struct Walked {
    /// Raw locations that produced a record or a sighting → that record's id.
    ingested: HashMap<At, String>,
    /// Canonical URLs ingested by the walk → their record id.
    urls: HashMap<String, String>,
    /// Raw locations whose page no longer normalizes → the failure kind.
    pub(super) failed: HashMap<At, String>,
    /// Raw locations read but not articles (discovery documents, non-2xx).
    pub(super) skipped: HashSet<At>,
}

impl Walked {
    /// Notes that the page at `at`, canonical URL `url`, went into record `id`.
    pub(super) fn note(&mut self, at: At, url: &str, id: &str) {
        self.ingested.insert(at, id.to_owned());
        self.urls.insert(url.to_owned(), id.to_owned());
    }
}

/// Why a record was not reprocessed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum NotReprocessed {
    /// Its WARC file is gone.
    RawMissing {
        /// The file, relative to raw/.
        file: PathBuf,
    },
    /// Its WARC file exists but the member could not be read (truncated, torn, corrupt).
    RawDamaged {
        /// The file, relative to raw/.
        file: PathBuf,
        /// Offset of the member.
        offset: u64,
    },
    /// The raw response was read but the current normalizer gives no article for it (for
    /// example, its source was removed from the config).
    NotNormalized {
        /// The failure kind.
        kind: String,
    },
    /// The raw response was read but is not an article response.
    NotAnArticle,
    /// The old corpus line itself does not parse, so there is nothing to carry.
    UnreadableLine {
        /// What is wrong with the line (names the segment and line).
        reason: String,
    },
}

impl NotReprocessed {
    /// Whether fetching the URL again can bring its raw response back.
    pub(super) fn refetch(&self) -> bool {
        matches!(self, Self::RawMissing { .. } | Self::RawDamaged { .. })
    }
}

impl fmt::Display for NotReprocessed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RawMissing { file } => write!(
                f,
                "raw response missing (raw/{} does not exist); queued for refetch",
                file.display()
            ),
            Self::RawDamaged { file, offset } => write!(
                f,
                "raw response unreadable (raw/{} at offset {offset}); queued for refetch",
                file.display()
            ),
            Self::NotNormalized { kind } => {
                write!(f, "the raw response no longer normalizes ({kind})")
            }
            Self::NotAnArticle => write!(f, "the raw response is not an article response"),
            Self::UnreadableLine { reason } => write!(f, "lost: {reason}"),
        }
    }
}

/// A record carried over unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Kept {
    /// Its id.
    pub(super) id: String,
    /// Its canonical URL.
    pub(super) url: String,
    /// Why.
    pub(super) why: NotReprocessed,
}

/// Checks every record of the old corpus in `old_dir` against `walked` and carries the ones
/// not reproduced into `ingest`'s corpus. Lines of the old corpus that do not parse cannot be
/// carried; they come back as [`Kept`] entries with id `?` (and the segment as URL) so they
/// are named too.
///
/// # Errors
/// `Io` when an old segment cannot be read at all.
pub(super) fn carry_over(
    old_dir: &Path,
    raw_dir: &Path,
    walked: &Walked,
    ingest: &mut impl Carrier,
) -> Result<Vec<Kept>, CorpusError> {
    let mut kept = Vec::new();
    for file in corpus::segment_files(old_dir)? {
        for line in corpus::segment_lines(old_dir, &file)? {
            match line {
                Ok(rec) => {
                    if let Some(k) = carry_one(rec, raw_dir, walked, ingest) {
                        kept.push(k);
                    }
                }
                Err(damage) => kept.push(Kept {
                    id: "?".into(),
                    url: file.clone(),
                    why: NotReprocessed::UnreadableLine {
                        reason: damage.to_string(),
                    },
                }),
            }
        }
    }
    Ok(kept)
}

fn carry_one(
    rec: CorpusRecord,
    raw_dir: &Path,
    walked: &Walked,
    ingest: &mut impl Carrier,
) -> Option<Kept> {
    let at = (rec.raw.file.clone(), rec.raw.offset);
    let url = rec.article.canonical_url.to_string();
    let holder = walked
        .ingested
        .get(&at)
        .or_else(|| walked.urls.get(&url))
        .cloned();
    if let Some(holder) = holder {
        restore_sightings(ingest, &holder, &rec.also_seen_at, walked);
        return None;
    }
    let why = if let Some(kind) = walked.failed.get(&at) {
        NotReprocessed::NotNormalized { kind: kind.clone() }
    } else if walked.skipped.contains(&at) {
        NotReprocessed::NotAnArticle
    } else if raw_dir.join(&rec.raw.file).is_file() {
        NotReprocessed::RawDamaged {
            file: rec.raw.file.clone(),
            offset: rec.raw.offset,
        }
    } else {
        NotReprocessed::RawMissing {
            file: rec.raw.file.clone(),
        }
    };
    let kept = Kept {
        id: rec.id.clone(),
        url: url.clone(),
        why,
    };
    let own = Sighting {
        url: rec.article.canonical_url.clone(),
        source_id: rec.article.source_id.clone(),
        fetched_at: rec.fetched_at,
    };
    let also = rec.also_seen_at.clone();
    if let Some(of) = ingest.carry(rec) {
        // The same text came out of the walk under another URL: this URL and its
        // sightings become sightings of that record.
        restore_sightings(ingest, &of, &[own], walked);
        restore_sightings(ingest, &of, &also, walked);
    }
    Some(kept)
}

/// Puts back on record `id` every sighting the walk did not reproduce anywhere.
fn restore_sightings(ingest: &mut impl Carrier, id: &str, sightings: &[Sighting], walked: &Walked) {
    for s in sightings {
        if !walked.urls.contains_key(s.url.as_str()) {
            ingest.add_sighting(id, s.clone());
        }
    }
}

/// Where carried records go: one corpus (`reprocess` on one machine), or the folders of
/// every worker (on a shared state, `shared.rs`).
pub(super) trait Carrier {
    /// Puts sighting `s` on record `id`, wherever it is held.
    fn add_sighting(&mut self, id: &str, s: Sighting);
    /// Carries `rec` in unchanged (without its near-duplicate link, found again), or returns
    /// the id of the record that holds its text already.
    fn carry(&mut self, rec: CorpusRecord) -> Option<String>;
}

impl Carrier for Ingest {
    fn add_sighting(&mut self, id: &str, s: Sighting) {
        self.corpus.add_sighting(id, s);
    }

    fn carry(&mut self, mut rec: CorpusRecord) -> Option<String> {
        match self.deduper.check(&rec.content_sha256) {
            // On a shared state: another writer's record holds the text.
            Verdict::New { .. } if self.carried_elsewhere(&rec) => Some(rec.id),
            Verdict::New { .. } => {
                rec.near = NearLink::default();
                let source = rec.article.source_id.clone();
                self.append_linked(rec);
                self.stats.entry(source).or_default().new_articles += 1;
                None
            }
            Verdict::Duplicate { of } => Some(of),
        }
    }
}
