//! The simulated agency sites' content: pure functions of (host, article index, [`SEED`]), so
//! every run serves the same pages and every article text is distinct.

use std::fmt::Write as _;
use std::io::Write as _;

use chrono::{DateTime, TimeZone as _, Utc};

/// Seed of every generated page: same pages on every run.
const SEED: u64 = 0x6e65_7773_6d69_6c6c;
/// Size of the oversized page on host 0 (60 MB, sent with an honest `Content-Length`).
pub const HUGE_BYTES: u64 = 60_000_000;
/// Decoded size of the gzip bomb on host 0.
pub const BOMB_DECODED: usize = 1 << 30;
/// Paths of the two hostile documents on host 0.
pub const HUGE_PATH: &str = "/files/annual-report-full.html";
pub const BOMB_PATH: &str = "/archive/compressed-edition.html";

use crate::rng::Rng;

/// Article generation on top of the shared generator.
trait Gen {
    fn range(&mut self, lo: usize, hi: usize) -> usize;
    fn word(&mut self) -> &'static str;
}

/// A generator seeded by (host, article, purpose): every article different, same every run.
fn seeded(parts: &[u64]) -> Rng {
    let mut r = Rng(SEED);
    for p in parts {
        r.0 ^= p.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        r.next_u64();
    }
    r
}

impl Gen for Rng {
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    fn word(&mut self) -> &'static str {
        WORDS[self.below(WORDS.len())]
    }
}

#[rustfmt::skip] // one word per line would triple the file
const WORDS: &[&str] = &[
    "the", "of", "and", "to", "in", "a", "is", "that", "for", "on", "with", "as", "by", "at",
    "from", "was", "will", "has", "have", "be", "said", "minister", "government", "president",
    "agency", "report", "economy", "growth", "trade", "exports", "imports", "industry",
    "region", "city", "council", "meeting", "delegation", "agreement", "cooperation",
    "partners", "investment", "project", "plant", "farmers", "harvest", "grain", "energy",
    "power", "station", "railway", "transport", "road", "bridge", "school", "university",
    "students", "teachers", "science", "research", "health", "hospital", "doctors", "patients",
    "culture", "festival", "museum", "theatre", "sports", "team", "championship", "medal",
    "season", "weather", "forecast", "rain", "snow", "temperature", "week", "month", "year",
    "percent", "million", "billion", "budget", "tax", "prices", "market", "bank", "currency",
    "rate", "officials", "experts", "residents", "workers", "company", "enterprise",
    "production", "output", "increase", "decrease", "plans", "new", "first", "largest",
    "national", "local", "international", "foreign", "public", "private", "digital",
    "technology", "services", "development", "programme", "strategy", "security", "border",
    "talks", "visit", "summit", "statement", "decision", "law", "parliament", "deputies",
    "court", "police", "citizens", "families", "children", "housing", "construction", "water",
    "forest", "environment", "tourism", "visitors", "hotel", "airport", "flights", "cargo",
    "logistics", "supply", "demand", "quality", "standards", "support", "funding", "grants",
    "results", "figures",
];

#[rustfmt::skip]
const SECTIONS: &[&str] = &[
    "Politics", "Economy", "Society", "Regions", "World", "Culture", "Sports", "Science",
    "Technology", "Health", "Education", "Business", "Opinion", "Photo", "Video", "Interview",
];

fn capitalized(w: &str) -> String {
    let mut c = w.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn sentence(r: &mut Rng, out: &mut String) {
    let n = r.range(9, 22);
    for i in 0..n {
        let w = r.word();
        if i == 0 {
            out.push_str(&capitalized(w));
        } else {
            out.push(' ');
            out.push_str(w);
        }
    }
    out.push_str(". ");
}

fn title(host: usize, i: usize) -> String {
    let mut r = seeded(&[host as u64, i as u64, 1]);
    let n = r.range(6, 10);
    let words: Vec<&str> = (0..n).map(|_| r.word()).collect();
    capitalized(&words.join(" "))
}

fn slug(t: &str) -> String {
    t.to_lowercase()
        .split_whitespace()
        .take(6)
        .collect::<Vec<_>>()
        .join("-")
}

pub fn article_path(host: usize, i: usize) -> String {
    format!("/news/{i}-{}.html", slug(&title(host, i)))
}

fn published(host: usize, i: usize) -> DateTime<Utc> {
    let base = Utc
        .with_ymd_and_hms(2025, 1, 1, 6, 0, 0)
        .single()
        .unwrap_or_default();
    base + chrono::Duration::minutes(37 * (i as i64) + 11 * host as i64)
}

pub fn agency(host: usize) -> String {
    format!("Agency {host:02}")
}

/// The RSS 2.0 feed of one host.
pub fn feed_xml(host: usize, base: &str, articles: usize) -> String {
    let mut s = String::with_capacity(articles * 400);
    let _ = write!(
        s,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>{a} - latest news</title><link>{base}/</link>\
         <description>News from {a}</description><language>en</language>\n",
        a = agency(host)
    );
    let mut item = |t: &str, path: &str, date: DateTime<Utc>| {
        let _ = writeln!(
            s,
            "<item><title>{t}</title><link>{base}{path}</link><guid>{base}{path}</guid>\
             <pubDate>{}</pubDate><description>{t}.</description></item>",
            date.to_rfc2822()
        );
    };
    if host == 0 {
        item("Annual report, full edition", HUGE_PATH, published(0, 0));
        item("Compressed archive edition", BOMB_PATH, published(0, 0));
    }
    for i in (0..articles).rev() {
        item(&title(host, i), &article_path(host, i), published(host, i));
    }
    s.push_str("</channel></rss>\n");
    s
}

fn head(host: usize, i: usize, base: &str, t: &str, lead: &str) -> String {
    let (a, date) = (agency(host), published(host, i).to_rfc3339());
    let url = format!("{base}{}", article_path(host, i));
    let mut s = String::with_capacity(8 * 1024);
    let _ = write!(
        s,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{t} | {a}</title><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="{lead}"><meta name="keywords" content="news, {a}, economy, regions">
<link rel="canonical" href="{url}"><link rel="alternate" type="application/rss+xml" href="{base}/rss">
<meta property="og:type" content="article"><meta property="og:site_name" content="{a}">
<meta property="og:title" content="{t}"><meta property="og:description" content="{lead}">
<meta property="og:url" content="{url}"><meta property="og:image" content="{base}/img/{i}.jpg">
<meta property="article:published_time" content="{date}"><meta property="article:section" content="Economy">
<meta name="twitter:card" content="summary_large_image"><meta name="twitter:title" content="{t}">
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"NewsArticle","headline":"{t}","datePublished":"{date}","dateModified":"{date}","mainEntityOfPage":"{url}","image":["{base}/img/{i}.jpg"],"author":{{"@type":"Organization","name":"{a}"}},"publisher":{{"@type":"Organization","name":"{a}","logo":{{"@type":"ImageObject","url":"{base}/logo.png"}}}}}}</script>
<style>body{{font-family:Arial,sans-serif;margin:0}}.nav li{{display:inline-block;padding:4px 8px}}.sidebar{{float:right;width:300px}}.article-body p{{line-height:1.6}}footer{{background:#222;color:#ccc}}</style>
<script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments)}}gtag('js',new Date());gtag('config','UA-{host}-{i}');</script>
</head><body><header><a class="logo" href="{base}/"><img src="{base}/logo.png" alt="{a}"></a>
<nav class="nav"><ul>"#
    );
    for (k, sec) in SECTIONS.iter().enumerate() {
        let _ = write!(
            s,
            r#"<li class="nav-item-{k}"><a href="{base}/{}/">{sec}</a></li>"#,
            sec.to_lowercase()
        );
    }
    s.push_str("</ul></nav></header>\n");
    s
}

/// One article page, 30-60 KB.
pub fn article_html(host: usize, i: usize, base: &str, articles: usize) -> String {
    let mut r = seeded(&[host as u64, i as u64, 2]);
    let target = r.range(30_000, 60_000);
    let t = title(host, i);
    let mut body = String::with_capacity(16 * 1024);
    let mut lead = String::new();
    sentence(&mut r, &mut lead);
    let lead = lead.trim().to_owned();
    let date = published(host, i);
    let _ = write!(
        body,
        r#"<main><article><h1 class="article-title">{t}</h1>
<div class="date">{}</div><div class="article-body">
<p>MINSK, {} ({}) - {lead} "#,
        date.format("%d %B %Y, %H:%M"),
        date.format("%e %B"),
        agency(host)
    );
    for p in 0..r.range(6, 15) {
        if p > 0 {
            body.push_str("<p>");
        }
        for _ in 0..r.range(3, 7) {
            sentence(&mut r, &mut body);
        }
        body.push_str("</p>\n");
    }
    body.push_str("</div><div class=\"tags\"><a href=\"/tag/economy\">economy</a> <a href=\"/tag/regions\">regions</a></div></article>\n");
    let mut foot = String::from("<footer><ul>");
    for (k, sec) in SECTIONS.iter().enumerate() {
        let _ = write!(
            foot,
            r#"<li><a href="/{}/archive-{k}">{sec} archive</a></li>"#,
            sec.to_lowercase()
        );
    }
    let _ = writeln!(
        foot,
        "</ul><p>&copy; 2025 {}. All rights reserved. Reproduction only with a hyperlink to the source. \
         Contacts: editor@example.org, +375 17 000 00 00.</p></footer></body></html>",
        agency(host)
    );
    let head = head(host, i, base, &t, &lead);
    // The sidebar of links fills the page up to its target size.
    let mut side = String::from("<aside class=\"sidebar\"><h3>Latest news</h3><ul>");
    let mut k = 1;
    while head.len() + body.len() + side.len() + foot.len() + 200 < target {
        let j = (i + k) % articles;
        let _ = write!(
            side,
            r#"<li class="side-item"><a href="{}"><img src="/img/th{j}.jpg" alt=""><span class="side-title">{}</span></a><span class="side-date">{}</span></li>"#,
            article_path(host, j),
            title(host, j),
            published(host, j).format("%d.%m.%Y %H:%M")
        );
        k += 1;
    }
    side.push_str("</ul></aside></main>\n");
    [head, body, side, foot].concat()
}

/// 1 GiB of zeros, gzip-compressed once at start-up (about 1 MB; never held decoded).
pub fn gzip_bomb() -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..BOMB_DECODED / zeros.len() {
        enc.write_all(&zeros)
            .unwrap_or_else(|e| panic!("compressing: {e}"));
    }
    enc.finish().unwrap_or_else(|e| panic!("compressing: {e}"))
}
