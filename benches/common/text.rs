//! Filler prose for the benches' synthetic articles: sentences drawn from one small newsy
//! vocabulary with the shared [`Rng`](super::rng::Rng). Shared by the export and report benches
//! through `#[path]` (each declares `mod rng;` beside it).

use super::rng::Rng;

const WORDS: [&str; 24] = [
    "minister",
    "said",
    "the",
    "agreement",
    "cooperation",
    "visit",
    "economy",
    "regional",
    "development",
    "growth",
    "export",
    "agency",
    "government",
    "meeting",
    "president",
    "talks",
    "project",
    "investment",
    "industry",
    "energy",
    "forum",
    "delegation",
    "trade",
    "partners",
];

/// `words` random words and a full stop.
pub fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut s = String::with_capacity(words * 9);
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[rng.below(WORDS.len())]);
    }
    s.push('.');
    s
}
