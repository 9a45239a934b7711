//! The bench's synthetic agency corpus: a fixed-seed Zipf vocabulary, stock phrases, near
//! duplicates of recent articles (8 %), digests quoting 2–3 recent stories (2 %) and daily
//! notes whose figures change from note to note (2 %), one note per template a day. Any
//! article regenerates from its number alone.
//!
//! # Publication rate
//! Article `i` is published at `i` times a fixed step: [`ARTICLES_PER_DAY`] = 20 000 by default
//! (a hundred agencies at 200 items a day; 10 M articles are 500 days, "one or two years of a
//! hundred agencies"). The rate decides how many records a lookup's time span holds: the date
//! window (3 days) at 20 000 a day is ~60 000 records, at the old one a minute ~4 300.
//! [`set_per_day`] changes it (`--per-day N` of the bench).

use std::sync::atomic::{AtomicI64, Ordering};

use newsmill::dedup::Rank;

/// Articles published a day by default (see the module doc).
pub const ARTICLES_PER_DAY: i64 = 20_000;
/// Daily notes are 2 % of the articles, one per template a day.
const NOTE_SHARE: i64 = 50;
const DAY_US: i64 = 86_400_000_000;
/// Articles a day in effect.
static PER_DAY: AtomicI64 = AtomicI64::new(ARTICLES_PER_DAY);

/// Sets the articles published a day (at least one).
pub fn set_per_day(n: i64) {
    PER_DAY.store(n.max(1), Ordering::Relaxed);
}

/// Articles published a day in effect.
pub fn per_day() -> i64 {
    PER_DAY.load(Ordering::Relaxed)
}

/// Publication time of article `i`, µs since the epoch.
fn published_at(i: usize) -> i64 {
    i as i64 * (DAY_US / per_day())
}

const VOCAB: usize = 50_000;
const STOCK: usize = 300;

use crate::rng::Rng;

/// Uniform floats on top of the shared generator.
trait Unit {
    fn unit(&mut self) -> f64;
}

impl Unit for Rng {
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Vocabulary, its Zipf–Mandelbrot CDF, and stock phrases.
pub struct Language {
    words: Vec<String>,
    cdf: Vec<f64>,
    stock: Vec<String>,
}

impl Language {
    /// The language without its stock phrases (`--no-stock`: what the candidate count owes
    /// to them).
    pub fn without_stock() -> Self {
        Self {
            stock: Vec::new(),
            ..Self::new()
        }
    }

    pub fn new() -> Self {
        const SYL: [&str; 24] = [
            "ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "bel", "dor", "gra", "zen", "pol",
            "ter", "um", "an", "is", "ov", "sk", "ya", "lin", "mar", "tos", "ev",
        ];
        let mut rng = Rng(42);
        let words: Vec<String> = (0..VOCAB)
            .map(|r| {
                let n = 1 + usize::from(r > 50) + usize::from(r > 2000) + rng.below(2);
                let w: String = (0..n).map(|_| SYL[rng.below(SYL.len())]).collect();
                format!(
                    "{w}{}",
                    if r > 20_000 {
                        r.to_string()
                    } else {
                        String::new()
                    }
                )
            })
            .collect();
        let mut acc = 0.0;
        let cdf = (0..VOCAB)
            .map(|r| {
                acc += 1.0 / (r as f64 + 2.7).powf(1.05);
                acc
            })
            .collect::<Vec<_>>();
        let total = acc;
        let cdf = cdf.into_iter().map(|c| c / total).collect();
        let mut lang = Self {
            words,
            cdf,
            stock: Vec::new(),
        };
        lang.stock = (0..STOCK)
            .map(|_| {
                let len = 6 + rng.below(5);
                lang.sentence(&mut rng, len)
            })
            .collect();
        lang
    }

    fn word(&self, rng: &mut Rng) -> &str {
        let u = rng.unit();
        let i = self.cdf.partition_point(|c| *c < u).min(VOCAB - 1);
        &self.words[i]
    }

    fn sentence(&self, rng: &mut Rng, len: usize) -> String {
        let mut s: Vec<&str> = (0..len).map(|_| self.word(rng)).collect();
        if !self.stock.is_empty() && rng.below(7) == 0 {
            s.push(&self.stock[rng.below(self.stock.len())]);
        }
        s.join(" ")
    }

    /// The article an id would be if it were an original: 6–10 paragraphs, ~400 words.
    fn original(&self, i: usize) -> Vec<String> {
        let mut rng = Rng(i as u64 ^ 0xa5a5_0000_0000);
        let paras = 6 + rng.below(5);
        (0..paras)
            .map(|_| {
                let sentences = 2 + rng.below(3);
                let s: Vec<String> = (0..sentences)
                    .map(|_| {
                        let len = 8 + rng.below(14);
                        self.sentence(&mut rng, len)
                    })
                    .collect();
                s.join(". ") + "."
            })
            .collect()
    }
}

/// What article `i` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// An original story.
    Original,
    /// A near copy of an earlier original (new lead, dropped, moved or cut paragraphs).
    Copy(usize),
    /// A digest quoting 2–3 earlier originals whole.
    Digest(Vec<usize>),
    /// A daily note of template `t` (of [`templates`]) with its own figures.
    Template(usize),
}

/// Templates of the daily notes (exchange rates, weather, market close …): as many as daily
/// notes are published a day, so that each template has one note a day (20 at 1 000 a day).
pub fn templates() -> usize {
    usize::try_from((per_day() / NOTE_SHARE).max(20)).unwrap_or(20)
}

/// Whether article `i` is a near duplicate, and of which earlier original.
fn base_of(i: usize) -> Option<usize> {
    let mut rng = Rng(i as u64 ^ 0x5151);
    if i < 100 || rng.below(10) != 0 {
        return None;
    }
    let mut j = i - 1 - rng.below(2000.min(i - 1));
    while j > 0 && !is_original(j) {
        j -= 1;
    }
    Some(j)
}

fn template_of(i: usize) -> Option<usize> {
    let mut rng = Rng(i as u64 ^ 0x7e3f);
    (i >= 100 && rng.below(NOTE_SHARE as usize) == 0).then(|| rng.below(templates()))
}

fn is_original(j: usize) -> bool {
    j < 100 || (Rng(j as u64 ^ 0x5151).below(10) != 0 && template_of(j).is_none())
}

/// What article `i` is (see [`Kind`]); a fifth of the near duplicates are digests.
pub fn kind(i: usize) -> Kind {
    if let Some(t) = template_of(i) {
        return Kind::Template(t);
    }
    let Some(b) = base_of(i) else {
        return Kind::Original;
    };
    let mut rng = Rng(i as u64 ^ 0x7777);
    if rng.below(5) < 4 {
        return Kind::Copy(b);
    }
    let mut bases = vec![b];
    let mut j = b;
    while bases.len() < 2 + rng.below(2) && j > 0 {
        j -= 1;
        if is_original(j) {
            bases.push(j);
        }
    }
    Kind::Digest(bases)
}

impl Language {
    /// Daily note `i` of template `t`: the template's fixed sentences, each with its figures.
    fn note(&self, t: usize, i: usize) -> Vec<String> {
        let mut fixed = Rng(t as u64 ^ 0x7e3f_0000);
        let mut figures = Rng(i as u64 ^ 0xf16e);
        let paras = 4 + fixed.below(3);
        (0..paras)
            .map(|_| {
                let words = 10 + fixed.below(8);
                let mut s = self.sentence(&mut fixed, words);
                for _ in 0..1 + fixed.below(2) {
                    let len = 3 + fixed.below(4);
                    let tail = self.sentence(&mut fixed, len);
                    s = format!(
                        "{s} {}.{} {tail}",
                        figures.below(100),
                        1000 + figures.below(9000)
                    );
                }
                s + "."
            })
            .collect()
    }
}

/// Text and rank of article `i`.
pub fn article(lang: &Language, i: usize) -> (String, Rank) {
    let mut rng = Rng(i as u64 ^ 0x7777);
    rng.below(5);
    let mut published = published_at(i);
    let text = match kind(i) {
        Kind::Original => lang.original(i).join("\n\n"),
        Kind::Template(t) => lang.note(t, i).join("\n\n"),
        Kind::Digest(bases) => bases
            .iter()
            .flat_map(|&b| lang.original(b))
            .collect::<Vec<_>>()
            .join("\n\n"),
        Kind::Copy(b) => {
            let mut p = lang.original(b);
            match rng.below(4) {
                0 => p.insert(0, lang.sentence(&mut rng, 25)),
                1 => drop(p.remove(rng.below(p.len()))),
                2 => {
                    let last = p.len() - 1;
                    p.swap(1, last);
                }
                _ => p.truncate(p.len() / 2 + 1),
            }
            if rng.below(5) == 0 {
                published = published_at(b) - 1;
            }
            p.join("\n\n")
        }
    };
    let rank = Rank {
        published_us: Some(published),
        republished: false,
        source_id: if i.is_multiple_of(3) {
            "sb_en"
        } else {
            "belta_en"
        }
        .into(),
        url_len: 40 + (i % 37) as u32,
        id: id(i),
    };
    (text, rank)
}

pub fn id(i: usize) -> String {
    format!("d{i:012}")
}
