//! newsmill integration tests: one binary, modules by kind. Every HTTP server is started by
//! the test itself on 127.0.0.1; nothing touches the internet.

// Test helpers panic on setup failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agency;
mod util;

mod attribution_set;
mod bounds;
mod cli;
mod compact;
mod crash;
mod crash_property;
mod dedup;
mod dedup_realworld;
mod demo;
mod discovery_window;
mod exit_codes;
mod fetch;
mod fetch_body;
mod fetch_robots;
mod fetch_run;
mod fetch_targets;
mod first_hour;
mod frontier;
mod hostile;
mod malloc;
mod near_shared;
mod postgres;
mod reader_overlay;
mod report;
mod reprocess_shared;
mod robustness;
mod s3;
mod storage;
mod workers;
