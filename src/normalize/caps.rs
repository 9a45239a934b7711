//! Size caps on what one page can put into a record: title, block count, block length, text
//! length, and the HTML the parser sees ([`MAX_HTML_BYTES`](super::MAX_HTML_BYTES)).
//!
//! A cut is never silent: every cap that bites adds a warning starting with
//! [`TRUNCATED`] to the article, saying what was cut and where. The caps sit far above any
//! real news article (the longest agency texts are tens of kilobytes) and exist so a hostile
//! or broken page cannot make one record, or the corpus line holding it, arbitrarily large.
//!
//! This module only shortens; it never reorders, rewrites or drops anything below its caps.

use crate::model::Article;

/// First word of every cap warning on a record (`"truncated: title cut at 1000 characters"`).
pub const TRUNCATED: &str = "truncated";

/// Longest title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 1_000;
/// Most blocks (paragraphs, headings, quotes, lists) kept.
pub const MAX_BLOCKS: usize = 5_000;
/// Longest block text kept, in bytes.
pub const MAX_BLOCK_BYTES: usize = 100_000;
/// Longest article text kept, in bytes (blocks and their separators).
pub const MAX_TEXT_BYTES: usize = 1_000_000;

/// Separator between blocks in `Article::text`, as `page` joins them.
const BLOCK_SEPARATOR: &str = "\n\n";

/// Applies every cap to a normalized article. `html_bytes` is the size of the HTML the page
/// came from, so a document cut at `MAX_HTML_BYTES` before parsing is reported too.
pub(super) fn apply(article: &mut Article, html_bytes: usize) {
    if html_bytes > super::MAX_HTML_BYTES {
        article.warnings.push(format!(
            "{TRUNCATED}: HTML cut at {} of {html_bytes} bytes before parsing",
            super::MAX_HTML_BYTES
        ));
    }
    if let Some(title) = &mut article.title
        && let Some((cut, _)) = title.char_indices().nth(MAX_TITLE_CHARS)
    {
        title.truncate(cut);
        article.warnings.push(format!(
            "{TRUNCATED}: title cut at {MAX_TITLE_CHARS} characters"
        ));
    }
    if cap_blocks(article) {
        article.text = article
            .blocks
            .iter()
            .map(|b| b.text.as_str())
            .collect::<Vec<_>>()
            .join(BLOCK_SEPARATOR);
    }
}

/// Caps block count, block length and total length; returns whether anything was cut.
fn cap_blocks(article: &mut Article) -> bool {
    let mut cut = false;
    if article.blocks.len() > MAX_BLOCKS {
        article.warnings.push(format!(
            "{TRUNCATED}: {} blocks cut to {MAX_BLOCKS}",
            article.blocks.len()
        ));
        article.blocks.truncate(MAX_BLOCKS);
        cut = true;
    }
    let mut long_blocks = 0usize;
    for block in &mut article.blocks {
        if block.text.len() > MAX_BLOCK_BYTES {
            block
                .text
                .truncate(floor_char_boundary(&block.text, MAX_BLOCK_BYTES));
            long_blocks += 1;
        }
    }
    if long_blocks > 0 {
        article.warnings.push(format!(
            "{TRUNCATED}: {long_blocks} block(s) cut at {MAX_BLOCK_BYTES} bytes"
        ));
        cut = true;
    }
    if cap_total(&mut article.blocks) {
        article
            .warnings
            .push(format!("{TRUNCATED}: text cut at {MAX_TEXT_BYTES} bytes"));
        cut = true;
    }
    cut
}

/// Keeps blocks while their joined text fits [`MAX_TEXT_BYTES`], cutting the block that
/// crosses the limit; returns whether anything was cut.
fn cap_total(blocks: &mut Vec<crate::model::Block>) -> bool {
    let mut used = 0usize;
    let mut keep = None;
    for (i, block) in blocks.iter_mut().enumerate() {
        let sep = if i == 0 { 0 } else { BLOCK_SEPARATOR.len() };
        let room = MAX_TEXT_BYTES.saturating_sub(used + sep);
        if block.text.len() > room {
            block.text.truncate(floor_char_boundary(&block.text, room));
            keep = Some(if block.text.trim().is_empty() {
                i
            } else {
                i + 1
            });
            break;
        }
        used += sep + block.text.len();
    }
    match keep {
        Some(n) => {
            blocks.truncate(n);
            true
        }
        None => false,
    }
}

/// The largest index `<= max` that is a char boundary of `s`.
fn floor_char_boundary(s: &str, max: usize) -> usize {
    if max >= s.len() {
        return s.len();
    }
    (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Block, BlockKind};

    fn article(title: &str, blocks: Vec<String>) -> Article {
        let mut a: Article = serde_json::from_value(serde_json::json!({
            "url": "https://news.example/a",
            "canonical_url": "https://news.example/a",
            "source_id": "s",
            "text": "",
            "blocks": [],
            "authors": [],
            "attributions": [],
            "photo_credits": [],
            "images": [],
            "tags": [],
            "warnings": [],
            "extractor": {"name": "generic", "version": "1"},
        }))
        .unwrap();
        a.title = Some(title.to_owned());
        a.blocks = blocks
            .into_iter()
            .map(|text| Block {
                kind: BlockKind::Paragraph,
                text,
            })
            .collect();
        a.text = a
            .blocks
            .iter()
            .map(|b| b.text.as_str())
            .collect::<Vec<_>>()
            .join(BLOCK_SEPARATOR);
        a
    }

    /// Issue 9 item 8: titles, blocks and text have caps, each with a `truncated` warning.
    // See: issues show 9
    #[test]
    fn issue_9_caps_cut_with_a_truncated_warning() {
        let mut a = article(&"Ж".repeat(5_000), vec!["x".repeat(10); MAX_BLOCKS + 10]);
        apply(&mut a, 9 * 1024 * 1024);
        assert_eq!(
            a.title.as_deref().map(|t| t.chars().count()),
            Some(MAX_TITLE_CHARS)
        );
        assert_eq!(a.blocks.len(), MAX_BLOCKS);
        assert!(
            a.warnings.iter().all(|w| w.starts_with(TRUNCATED)),
            "{:?}",
            a.warnings
        );
        assert_eq!(a.warnings.len(), 3, "{:?}", a.warnings);

        let mut a = article("t", vec!["é".repeat(MAX_BLOCK_BYTES); 20]);
        apply(&mut a, 1000);
        assert!(a.text.len() <= MAX_TEXT_BYTES, "{}", a.text.len());
        assert!(a.blocks.iter().all(|b| b.text.len() <= MAX_BLOCK_BYTES));
        assert_eq!(
            a.text,
            a.blocks
                .iter()
                .map(|b| b.text.as_str())
                .collect::<Vec<_>>()
                .join("\n\n")
        );
        assert!(
            a.warnings.iter().any(|w| w.contains("text cut")),
            "{:?}",
            a.warnings
        );
        assert!(
            a.warnings.iter().any(|w| w.contains("block(s) cut")),
            "{:?}",
            a.warnings
        );
    }

    #[test]
    fn below_the_caps_nothing_changes() {
        let mut a = article("Harvest", vec!["one".into(), "two".into()]);
        let before = a.clone();
        apply(&mut a, 50_000);
        assert_eq!(a, before);
    }
}
