//! Text-level cleaning of extracted blocks ([`boilerplate`]) and the helpers for the
//! normalizer's fixed text patterns ([`patterns`]) that boilerplate, attribution and the
//! generic extractor's line filter share.

pub mod boilerplate;
pub(crate) mod patterns;
