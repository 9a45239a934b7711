//! `newsmill demo`: the offline showcase. Two agency sites (a BelTA-like and an SB-like one,
//! bundled in the binary) are served on 127.0.0.1 at random ports; the real pipeline runs
//! against them into a fresh folder; the summary and the corpus location are printed.
//!
//! The demo's config is written into the folder as [`CONFIG_FILE`], so `stats`, `status` and
//! `export` can be pointed at the demo corpus with `-c` and nothing written by hand.

pub mod server;
pub mod site;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::{Config, ConfigError};
use crate::pipeline::{self, RunOptions, report::RunReport};

/// Name of the config file the demo writes into its folder.
pub const CONFIG_FILE: &str = "newsmill.toml";

/// Why the demo could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The demo folder could not be created (a file of that name exists, no permission…).
    #[error("cannot create the demo folder {path}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The demo's config could not be written into its folder.
    #[error("cannot write the demo config {path}")]
    WriteConfig {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A port on 127.0.0.1 could not be bound for the demo sites.
    #[error("cannot serve the demo sites on 127.0.0.1")]
    Sites {
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The generated config did not validate (a bug).
    #[error("the demo config is invalid")]
    Config {
        /// The validation errors.
        #[source]
        source: ConfigError,
    },
}

/// What a demo run left behind.
#[derive(Debug)]
pub struct Finished {
    /// The run report.
    pub report: RunReport,
    /// The folder (absolute).
    pub dir: PathBuf,
    /// The config written into it (storage of the demo folder).
    pub config: PathBuf,
}

/// The demo's config as TOML: two crawled sources plus attribution-only ones, storage under
/// `dir`, feeds pointing at the given base URLs.
pub fn config_toml(dir: &Path, belta: &str, sb: &str) -> String {
    let d = dir.display().to_string().replace('\\', "/");
    format!(
        r#"
[storage]
raw_dir = "{d}/raw"
normalized_dir = "{d}/normalized"
state_dir = "{d}/state"

[fetch]
user_agent = "newsmill-demo/{version} (+https://example.org/contact)"
concurrency = 8
per_host_concurrency = 2
per_host_interval = "20ms"
timeout = "10s"
allow_private_networks = true

[[sources]]
id = "belta_en"
name = "BelTA"
homepage = "{belta}/"
feeds = ["{belta}/rss"]
language = "en"
timezone = "Europe/Minsk"
aliases = ["BelTA", "BELTA", "Belta", "belta", "belta.by", "eng.belta.by", "БелТА", "БЕЛТА", "Belarusian Telegraph Agency"]
[sources.selectors]
title = "h1"
body = "div.js-mediator-article"
date = "div.date_full"
remove = ["div.invite_in_messagers", "div.news_tags_block"]

[[sources]]
id = "sb_en"
name = "SB. Belarus Today"
homepage = "{sb}/"
language = "en"
timezone = "Europe/Minsk"
aliases = ["sb.by", "SB.BY", "SB. Belarus Today", "SB Belarus Today", "Belarus Today", "Belarus Segodnya"]

[[sources]]
id = "tass_en"
name = "TASS"
enabled = false
timezone = "Europe/Moscow"
aliases = ["TASS", "ТАСС", "tass.com"]

[[sources]]
id = "reuters"
name = "Reuters"
enabled = false
aliases = ["Reuters"]

[[sources]]
id = "pul_pervogo"
name = "Pul Pervogo"
enabled = false
timezone = "Europe/Minsk"
aliases = ["Pul Pervogo", "Pool of the First", "Пул Первого"]
"#,
        version = env!("CARGO_PKG_VERSION"),
    )
}

/// [`config_toml`], validated.
///
/// # Errors
/// Only if the generated TOML were invalid (a bug the tests catch).
pub fn config(dir: &Path, belta: &str, sb: &str) -> Result<Config, ConfigError> {
    Config::parse(&config_toml(dir, belta, sb), Path::new("<demo config>"))
}

/// The two running demo sites.
#[derive(Debug, Clone)]
pub struct Sites {
    /// Base URL of the BelTA-like site.
    pub belta: String,
    /// Base URL of the SB-like site.
    pub sb: String,
    /// Paths requested from the BelTA-like site.
    pub belta_log: Arc<Mutex<Vec<String>>>,
    /// Paths requested from the SB-like site.
    pub sb_log: Arc<Mutex<Vec<String>>>,
}

/// Starts both demo sites. They stop when `stop` is cancelled.
///
/// # Errors
/// When a port cannot be bound.
pub async fn start_sites(stop: &CancellationToken) -> std::io::Result<Sites> {
    let (b, s) = (server::bind().await?, server::bind().await?);
    let (belta, sb) = (b.base.clone(), s.base.clone());
    let mut logs = Vec::new();
    for (bound, prefix) in [(b, "belta"), (s, "sb")] {
        let mut site = server::Site::from_files(site::FILES, prefix);
        site.substitute("BELTA", &belta);
        site.substitute("SB", &sb);
        logs.push(site.log.clone());
        server::serve(bound, site, stop.clone());
    }
    let sb_log = logs.pop().unwrap_or_default();
    let belta_log = logs.pop().unwrap_or_default();
    Ok(Sites {
        belta,
        sb,
        belta_log,
        sb_log,
    })
}

/// A new folder for a demo run under the system temp folder.
pub fn fresh_dir() -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
    std::env::temp_dir().join(format!("newsmill-demo-{stamp}-{}", std::process::id()))
}

/// Runs the demo into `dir` (created if needed), writes its config there as [`CONFIG_FILE`],
/// and returns what it left.
///
/// # Errors
/// Setup failures ([`DemoError`], each naming its path) and fatal pipeline errors.
pub async fn run(dir: &Path, shutdown: CancellationToken) -> anyhow::Result<Finished> {
    let folder = |source| DemoError::Folder {
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(folder)?;
    let dir = std::path::absolute(dir).map_err(folder)?;
    let stop = CancellationToken::new();
    let sites = start_sites(&stop)
        .await
        .map_err(|source| DemoError::Sites { source })?;
    let config_path = dir.join(CONFIG_FILE);
    let toml = format!(
        "# Written by `newsmill demo`. Its two sites lived on 127.0.0.1 only while the demo ran:\n# use this file for `stats`, `status`, `export` and `reprocess` on the demo folder.\n{}",
        config_toml(&dir, &sites.belta, &sites.sb)
    );
    let config =
        Config::parse(&toml, &config_path).map_err(|source| DemoError::Config { source })?;
    std::fs::write(&config_path, &toml).map_err(|source| DemoError::WriteConfig {
        path: config_path.clone(),
        source,
    })?;
    let opts = RunOptions {
        // The fixture articles are dated 2025-2026: take every sitemap entry, not just 3 days.
        since: chrono::DateTime::parse_from_rfc3339("1990-01-01T00:00:00Z")
            .ok()
            .map(|d| d.to_utc()),
        max_duration: Some(Duration::from_secs(120)),
        ..RunOptions::default()
    };
    let report = pipeline::run(&config, opts, shutdown).await;
    stop.cancel();
    Ok(Finished {
        report: report?,
        dir,
        config: config_path,
    })
}
