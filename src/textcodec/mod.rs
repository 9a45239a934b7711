//! Text codecs shared by discovery (`feed`) and the normalizer (`normalize`): bytes → text
//! ([`charset`]) and text → publication dates ([`dates`]).
//!
//! A leaf: it imports nothing of ours (not even `model`), does no I/O and keeps no state, so
//! both stages read the same page and the same date the same way. One decoder and one month
//! table live here; neither stage keeps its own.

pub mod charset;
pub mod dates;
