//! newsmill: a news-ingestion pipeline for agency copy.
//!
//! # Data flow
//! ```text
//! config ──► pipeline
//!              │ discovery: feed (RSS/Atom/JSON Feed, sitemaps, section pages)
//!              ▼
//!            fetch ──► raw_store (WARC/1.1 under raw/) ──► normalize ──► dedup ──► corpus (JSONL under normalized/)
//!              ▲                                                                     │
//!              └──────── frontier (every URL's life; SQLite under state/) ◄──────────┘
//! ```
//! Stages talk only through the types in [`model`]; only [`pipeline`] knows them all (and
//! [`worker`], which drives the same stages from leases on a shared frontier).
//! `feed`, `html` (the HTML parser), `normalize` and `dedup` are pure and sync; `fetch` is the
//! only network code towards the sources, `raw_store` the only writer of raw/, `corpus` the only
//! writer of normalized/; when those live on S3 they call [`storage`], and nothing else does.

pub mod app;
pub mod canonical;
pub mod cli;
pub mod config;
pub mod corpus;
pub mod dedup;
pub mod demo;
pub mod export;
pub mod feed;
pub mod fetch;
pub mod frontier;
pub mod html;
pub mod malloc;
pub mod model;
pub mod normalize;
pub mod pipeline;
pub mod priority;
pub mod raw_store;
pub mod report;
pub mod shutdown;
pub mod state;
pub mod stats;
pub mod storage;
pub mod telemetry;
pub mod textcodec;
pub mod verify;
pub mod worker;
