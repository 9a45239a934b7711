//! The writers of a shared reprocess: one ingest step per worker folder, each over its staging
//! folder, the shared text claims and the shared near-duplicate index. One writer works at a
//! time; switching flushes the previous one, so its text claims are durable before another
//! writer meets the same text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, DedupConfig};
use crate::corpus::Corpus;
use crate::model::{RawLocation, RawPage, SourceProfile};
use crate::normalize::Normalizer;
use crate::raw_store;
use crate::state::pg::{PgNearIndex, PgState, SharedCorpus};

use super::super::super::ingest::Ingest;
use super::super::super::near::SharedLinker;
use super::super::super::report::{RunReport, SourceStats};
use super::super::carry::{self, Kept, Walked};
use super::super::{Marks, readable, walk_one};
use super::{FINAL_ROUNDS, FLUSH_EVERY, SharedCarrier, old_workers, writer_of};

/// Every writer of the rebuild, by worker id.
pub(super) struct Writers {
    staging: PathBuf,
    profiles: Vec<SourceProfile>,
    dedup: DedupConfig,
    ttl: std::time::Duration,
    db: Arc<PgState>,
    near_db: Arc<PgState>,
    by_id: BTreeMap<String, Ingest>,
    current: Option<String>,
}

impl Writers {
    pub(super) fn new(
        config: &Config,
        staging: &Path,
        db: Arc<PgState>,
        near_db: Arc<PgState>,
    ) -> Self {
        let mut profiles = config.profiles();
        let adhoc = super::super::super::adhoc_profile();
        if !profiles.iter().any(|p| p.id == adhoc.id) {
            profiles.push(adhoc);
        }
        Self {
            staging: staging.to_owned(),
            profiles,
            dedup: config.dedup.clone(),
            ttl: config.worker.lease_ttl,
            db,
            near_db,
            by_id: BTreeMap::new(),
            current: None,
        }
    }

    /// The ingest step of writer `id`, opened (its staging folder created) on first use. The
    /// writer working until now is flushed first.
    pub(super) fn ingest(&mut self, id: &str) -> anyhow::Result<&mut Ingest> {
        if self.current.as_deref() != Some(id) {
            if let Some(prev) = self.current.take()
                && let Some(ingest) = self.by_id.get_mut(&prev)
            {
                ingest
                    .flush()
                    .with_context(|| format!("writing the rebuilt folder of {prev}"))?;
            }
            self.current = Some(id.to_owned());
        }
        if !self.by_id.contains_key(id) {
            let dir = self.staging.join(id);
            let corpus =
                Corpus::open(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let ingest = Ingest::for_worker(
                Normalizer::new(&self.profiles),
                corpus,
                SharedCorpus::new(self.db.clone(), id, self.ttl),
                SharedLinker::new(PgNearIndex::new(self.near_db.clone(), id), &self.dedup),
            );
            self.by_id.insert(id.to_owned(), ingest);
        }
        Ok(self.by_id.get_mut(id).expect("inserted above"))
    }

    /// The writer whose folder holds record `id`.
    pub(super) fn holding(&mut self, id: &str) -> Option<&mut Ingest> {
        self.by_id.values_mut().find(|i| i.corpus.contains(id))
    }

    /// Walks raw/ in order, each response into its worker's writer.
    pub(super) fn walk(
        &mut self,
        config: &Config,
        shutdown: &CancellationToken,
        errors: &mut Vec<String>,
    ) -> anyhow::Result<(Walked, Marks)> {
        let mut walked = Walked::default();
        let mut marks = Vec::new();
        for item in raw_store::scan(&config.storage.raw_dir) {
            if shutdown.is_cancelled() {
                break;
            }
            let Some((loc, page)) = readable(item, errors) else {
                continue;
            };
            self.one(loc, &page, &mut walked, &mut marks)?;
        }
        Ok((walked, marks))
    }

    fn one(
        &mut self,
        loc: RawLocation,
        page: &RawPage,
        walked: &mut Walked,
        marks: &mut Marks,
    ) -> anyhow::Result<()> {
        let writer = writer_of(&loc);
        let ingest = self.ingest(&writer)?;
        walk_one(ingest, loc, page, walked, marks);
        if ingest.pending() >= FLUSH_EVERY {
            ingest
                .flush()
                .with_context(|| format!("writing the rebuilt folder of {writer}"))?;
        }
        Ok(())
    }

    /// Carries into each worker's new folder the records of its old folder (under `root`) the
    /// walk did not reproduce.
    pub(super) fn carry_all(
        &mut self,
        root: &Path,
        raw_dir: &Path,
        walked: &Walked,
    ) -> anyhow::Result<Vec<Kept>> {
        let mut kept = Vec::new();
        for worker in old_workers(root)? {
            self.ingest(&worker)?;
            let mut carrier = SharedCarrier {
                writers: self,
                own: worker.clone(),
            };
            let old = root.join(&worker);
            kept.extend(
                carry::carry_over(&old, raw_dir, walked, &mut carrier)
                    .with_context(|| format!("reading the old folder {}", old.display()))?,
            );
        }
        Ok(kept)
    }

    /// Flushes every writer until none has updates queued by another left.
    pub(super) fn finish(&mut self) -> anyhow::Result<()> {
        self.current = None;
        for _ in 0..FINAL_ROUNDS {
            for (id, ingest) in &mut self.by_id {
                ingest
                    .flush()
                    .with_context(|| format!("writing the rebuilt folder of {id}"))?;
            }
            if self
                .db
                .rebuild_updates_left()
                .context("reading queued updates")?
                == 0
            {
                break;
            }
        }
        Ok(())
    }

    /// The run's report: every writer's counts.
    pub(super) fn report(
        &mut self,
        config: &Config,
        started: DateTime<Utc>,
        interrupted: bool,
        errors: Vec<String>,
    ) -> RunReport {
        let mut sources: BTreeMap<_, SourceStats> = BTreeMap::new();
        let mut records = 0;
        for ingest in self.by_id.values_mut() {
            for (source, stats) in std::mem::take(&mut ingest.stats) {
                sources.entry(source).or_default().merge(&stats);
            }
            records += ingest.corpus.manifest().records;
        }
        RunReport::reprocess(
            started,
            interrupted,
            sources,
            errors,
            config.storage.normalized_dir.display().to_string(),
            records,
        )
    }
}
