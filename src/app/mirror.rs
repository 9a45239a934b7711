//! Before a command that reads the stores: when `normalized_dir` / `raw_dir` are on S3, bring
//! the local cache folders the readers use (`state_dir/s3/cache/…`) up to date. Nothing to do
//! for local folders. The copying itself is `corpus::mirror` and `raw_store::mirror`.

use anyhow::Context as _;

use crate::config::Config;

/// Mirrors normalized/ (every worker's folder included) and, when `raw` is set, raw/ into the
/// local cache; logs what was downloaded.
///
/// # Errors
/// When a bucket cannot be listed or an object read; the error names the bucket and key.
pub(super) fn refresh(cfg: &Config, raw: bool) -> anyhow::Result<()> {
    let st = &cfg.storage;
    if let Some(r) = crate::corpus::mirror(st).context("reading the corpus from S3")? {
        tracing::info!(objects = r.objects, downloaded = r.downloaded, removed = r.removed, cache = %st.normalized_dir.display(), "corpus cache up to date");
    }
    if raw && let Some(r) = crate::raw_store::mirror(st).context("reading raw/ from S3")? {
        tracing::info!(objects = r.objects, downloaded = r.downloaded, removed = r.removed, cache = %st.raw_dir.display(), "raw cache up to date");
    }
    Ok(())
}
