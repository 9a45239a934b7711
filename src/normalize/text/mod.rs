//! Text-level cleaning of extracted blocks ([`boilerplate`]), the helpers for the
//! normalizer's fixed text patterns (`patterns`) that boilerplate, attribution and the
//! generic extractor's line filter share, and figure-label recognition (`labels`) shared by
//! that filter and the page scan.

pub mod boilerplate;
pub(crate) mod labels;
pub(crate) mod patterns;
