//! Link hygiene shared by every discovery format: trim, resolve, check the scheme, dedupe, cap.
//!
//! Feed and sitemap parsers hand raw link text to a [`Collector`], which turns it into an
//! absolute `http`/`https` URL or a [`Rejected`] entry, drops repeats (the first occurrence
//! wins, with its title and date), and stops keeping entries after
//! [`MAX_ENTRIES_PER_DOCUMENT`]. Titles are cleaned here too, so every format folds whitespace
//! and decodes HTML entities the same way.

use std::collections::HashSet;

use crate::html::{Document, NodeId};
use chrono::{DateTime, FixedOffset};
use url::Url;

use super::{Discovery, RejectReason, Rejected};
use crate::model::FeedItem;

/// Entries kept from one document: the sitemaps.org limit for a single sitemap file. Feeds
/// share it; no real feed comes close.
pub const MAX_ENTRIES_PER_DOCUMENT: usize = 50_000;

/// Resolves raw link text against `base` and accepts only `http` and `https`.
///
/// Surrounding whitespace and a literal `<![CDATA[ … ]]>` wrapper (left by feeds that escape
/// their CDATA) are removed first.
pub(crate) fn resolve_link(raw: &str, base: &Url) -> Result<Url, RejectReason> {
    let text = clean_link_text(raw);
    if text.is_empty() {
        return Err(RejectReason::MissingLink);
    }
    let url = base.join(text).map_err(|_| RejectReason::Unparsable)?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(url),
        "http" | "https" => Err(RejectReason::Unparsable),
        _ => Err(RejectReason::BadScheme),
    }
}

/// Trims whitespace and an escaped CDATA wrapper from link text.
fn clean_link_text(raw: &str) -> &str {
    let text = raw.trim();
    text.strip_prefix("<![CDATA[")
        .and_then(|t| t.strip_suffix("]]>"))
        .map_or(text, str::trim)
}

/// Cleans a title: HTML entities and tags resolved to text, whitespace folded to single
/// spaces, empty → `None`.
pub(crate) fn clean_title(raw: &str) -> Option<String> {
    let text = if raw.contains(['&', '<']) {
        Document::parse(raw).text(NodeId::ROOT)
    } else {
        raw.to_owned()
    };
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!folded.is_empty()).then_some(folded)
}

/// Accumulates the entries of one document into a [`Discovery`].
pub(crate) struct Collector<'a> {
    base: &'a Url,
    seen: HashSet<Url>,
    entries: usize,
    out: Discovery,
}

impl<'a> Collector<'a> {
    /// A collector resolving relative links against `base` (the document URL).
    pub(crate) fn new(base: &'a Url) -> Self {
        Self {
            base,
            seen: HashSet::new(),
            entries: 0,
            out: Discovery::default(),
        }
    }

    /// Counts one entry; `false` once the per-document cap has been reached.
    fn admit(&mut self) -> bool {
        self.entries += 1;
        if self.entries > MAX_ENTRIES_PER_DOCUMENT {
            self.out.over_cap += 1;
            return false;
        }
        true
    }

    /// Adds an article link, or records why it was refused. Repeats are dropped silently.
    pub(crate) fn item(
        &mut self,
        raw: &str,
        title: Option<String>,
        published: Option<DateTime<FixedOffset>>,
    ) {
        if !self.admit() {
            return;
        }
        match resolve_link(raw, self.base) {
            Ok(url) => {
                if self.seen.insert(url.clone()) {
                    self.out.items.push(FeedItem {
                        url,
                        title,
                        published,
                    });
                }
            }
            Err(reason) => self.reject(raw, reason),
        }
    }

    /// Adds a child sitemap of a sitemap index, or records why it was refused.
    pub(crate) fn child(&mut self, raw: &str, lastmod: Option<DateTime<FixedOffset>>) {
        if !self.admit() {
            return;
        }
        match resolve_link(raw, self.base) {
            Ok(url) => {
                if self.seen.insert(url.clone()) {
                    self.out.children.push((url, lastmod));
                }
            }
            Err(reason) => self.reject(raw, reason),
        }
    }

    /// Records an entry that has no usable link at all.
    pub(crate) fn missing(&mut self, hint: &str) {
        if self.admit() {
            self.reject(hint, RejectReason::MissingLink);
        }
    }

    fn reject(&mut self, raw: &str, reason: RejectReason) {
        let link = clean_link_text(raw).to_owned();
        self.out.rejected.push(Rejected { link, reason });
    }

    /// The finished discovery.
    pub(crate) fn finish(self) -> Discovery {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://news.example/rss/main/").unwrap()
    }

    #[test]
    fn resolves_and_checks_schemes() {
        let ok = |raw| resolve_link(raw, &base()).map(|u| u.to_string());
        assert_eq!(
            ok(" \n https://a.example/x \n").unwrap(),
            "https://a.example/x"
        );
        assert_eq!(
            ok("<![CDATA[ /news/1.html ]]>").unwrap(),
            "https://news.example/news/1.html"
        );
        assert_eq!(ok("../2.html").unwrap(), "https://news.example/rss/2.html");
        assert_eq!(ok("//cdn.example/3").unwrap(), "https://cdn.example/3");
        for bad in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "ftp://x/y",
            "data:text/html,hi",
            "mailto:a@b",
        ] {
            assert_eq!(ok(bad), Err(RejectReason::BadScheme), "{bad}");
        }
        assert_eq!(ok("http://[::1"), Err(RejectReason::Unparsable));
        assert_eq!(ok("   "), Err(RejectReason::MissingLink));
    }

    #[test]
    fn titles_are_decoded_and_folded() {
        assert_eq!(
            clean_title("  Lukashenko &quot;visit&quot;\n  today ").unwrap(),
            "Lukashenko \"visit\" today"
        );
        assert_eq!(
            clean_title("&laquo;Минск&raquo; &#8212; <b>new</b>").unwrap(),
            "«Минск» — new"
        );
        assert_eq!(clean_title("AT&T < 5"), Some("AT&T < 5".to_owned()));
        assert_eq!(clean_title(" \n "), None);
    }

    #[test]
    fn collector_dedupes_and_caps() {
        let base = base();
        let mut c = Collector::new(&base);
        c.item("/a", Some("first".into()), None);
        c.item("https://news.example/a", Some("second".into()), None);
        c.item("javascript:void(0)", None, None);
        for i in 0..MAX_ENTRIES_PER_DOCUMENT {
            c.item(&format!("/n{i}"), None, None);
        }
        let d = c.finish();
        assert_eq!(d.items.first().unwrap().title.as_deref(), Some("first"));
        assert_eq!(d.items.len(), MAX_ENTRIES_PER_DOCUMENT - 2);
        assert_eq!(d.rejected.len(), 1);
        assert_eq!(d.over_cap, 3);
    }
}
