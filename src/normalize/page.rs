//! One page through the normalizer's steps (see the parent module doc for the order).

use crate::html::{Document, NodeId, Selector};
use url::Url;

use super::meta::{self, PageScan, dates, language};
use super::text::boilerplate;
use super::{MAX_HTML_BYTES, NO_TEXT_WARNING, NormalizeError, Normalizer, Rules, attribution};
use crate::canonical;
use crate::model::{Article, Block, ExtractorInfo, FeedItem, FoundIn, SourceProfile};
use crate::textcodec::charset;
use crate::textcodec::dates::{Reference, machine};

mod published;

use published::{numeric_order, published, script_date, take_date_lines};

/// What the normalizer needs to know about one page.
#[derive(Debug, Clone, Copy)]
pub struct NormalizeInput<'a> {
    /// Body bytes (content-decoded).
    pub body: &'a [u8],
    /// `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// Page URL after redirects.
    pub url: &'a Url,
    /// The fetch time (or, for a file newsmill did not fetch, the time of reading): the upper
    /// bound for plausible dates, and the year of year-less dates when it is a fetch time.
    pub reference: Reference,
    /// What the feed said about the page.
    pub hint: Option<&'a FeedItem>,
}

fn is_html(content_type: Option<&str>, body: &[u8]) -> bool {
    let declared_ok = content_type.is_none_or(|ct| {
        let ct = ct.to_ascii_lowercase();
        ct.contains("html")
            || ct.contains("xml")
            || ct.starts_with("text/")
            || ct.contains("octet-stream")
    });
    let head = body.get(..body.len().min(8)).unwrap_or_default();
    let binary = head.starts_with(b"%PDF")
        || head.starts_with(b"\x89PNG")
        || head.starts_with(b"\xFF\xD8\xFF")
        || head.starts_with(b"PK\x03\x04")
        || head.starts_with(b"GIF8");
    declared_ok && !binary
}

pub(super) fn normalize_page(
    input: &NormalizeInput<'_>,
    profile: &SourceProfile,
    rules: &Rules,
    n: &Normalizer,
) -> Result<Article, NormalizeError> {
    if !is_html(input.content_type, input.body) {
        return Err(NormalizeError::NotHtml {
            url: input.url.clone(),
            content_type: input.content_type.unwrap_or_default().to_owned(),
        });
    }
    let body = input
        .body
        .get(..input.body.len().min(MAX_HTML_BYTES))
        .unwrap_or_default();
    let decoded = charset::decode_html(body, input.content_type);
    let mut doc = Document::parse(&decoded.text);
    detach_all(&mut doc, &rules.remove);
    let scan = PageScan::new(&doc);
    let dom_credits = meta::take_credits(&mut doc, &scan);

    let metas = &scan.metas;
    let ld = meta::json_ld(&scan);
    let mut site_names: Vec<&str> = profile.aliases.iter().map(String::as_str).collect();
    site_names.push(&profile.name);
    site_names.extend(meta::meta_first(
        metas,
        &["og:site_name", "application-name"],
    ));

    let (mut blocks, extractor, mut warnings) = body_blocks(&doc, profile, rules, n);
    if rules.body.is_none()
        && let Some(full) = ld
            .article_body
            .as_deref()
            .and_then(|b| super::extract::from_article_body(b, &blocks))
    {
        blocks = full;
    }
    let title = rules
        .title
        .as_ref()
        .and_then(|s| first_text(&doc, s))
        .or_else(|| meta::choose_title(&scan, &ld, &site_names));
    if let (Some(t), Some(first)) = (&title, blocks.first())
        && meta::fold_ws(&first.text) == *t
    {
        blocks.remove(0);
    }
    let date_lines = take_date_lines(&mut blocks, numeric_order(&scan), input.reference);
    boilerplate::strip(&mut blocks, &rules.drop_lines);
    let mut attributed = attribution::attribute(&mut blocks, &n.aliases, profile);
    let credits = page_credits(dom_credits, &scan, &mut blocks);
    attribution::credit_attributions(
        &mut attributed.attributions,
        &credits,
        &n.aliases,
        &profile.id,
    );
    attributed
        .photo_credits
        .extend(credits.into_iter().map(|(c, _)| c));
    blocks.retain(|b| !b.text.trim().is_empty());
    if blocks.is_empty() {
        // Title, dates and authors are still worth a record (a paywalled or script-rendered
        // page); the warning says why `text` is empty.
        warnings.push(NO_TEXT_WARNING.into());
    }
    let text = blocks
        .iter()
        .map(|b| b.text.as_str())
        .collect::<Vec<_>>()
        .join("\n\n");

    let found = published(&doc, &scan, &ld, rules, profile, input, date_lines)
        .or_else(|| script_date(&decoded.text, profile, input));
    if found.is_none() {
        warnings.push("no publication date found".into());
    }
    let modified_at = ld
        .date_modified
        .as_deref()
        .or_else(|| meta::meta_first(metas, dates::MODIFIED_META_KEYS))
        .and_then(machine::parse)
        .map(|d| d.in_zone(profile.timezone))
        .filter(|d| d.plausible(input.reference.latest))
        .and_then(|d| d.instant());
    let html_lang = scan.lang.clone();
    let mut authors = rules
        .author
        .as_ref()
        .map(|s| {
            doc.select(s)
                .map(|e| meta::fold_ws(&doc.text(e)))
                .filter(|a| !a.is_empty())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if authors.is_empty() {
        authors = meta::authors(&scan, &ld.authors, &site_names);
    }
    Ok(Article {
        url: input.url.clone(),
        canonical_url: canonical_url(&scan, input.url),
        source_id: profile.id.clone(),
        title,
        description: meta::meta_first(
            metas,
            &["og:description", "description", "twitter:description"],
        )
        .map(meta::fold_ws)
        .or(ld.description.clone()),
        language: language::detect(&text, html_lang.as_deref(), profile.language.as_deref()),
        text,
        blocks,
        published_at: found.and_then(|f| f.date.instant()),
        published_date: found.map(|f| f.date.date()),
        published_local: found.and_then(|f| f.date.local_time()),
        date_precision: found.map(|f| f.precision()),
        date_source: found.map(|f| f.source),
        modified_at,
        authors,
        attributions: attributed.attributions,
        photo_credits: attributed.photo_credits,
        image: meta::meta_first(metas, &["og:image", "twitter:image"])
            .and_then(|s| input.url.join(s).ok()),
        images: scan
            .figures
            .iter()
            .filter_map(|f| {
                let url = input.url.join(&f.src).ok()?;
                Some(crate::model::Image {
                    url,
                    caption: f.caption.clone(),
                    credit: f.credit.clone(),
                })
            })
            .collect(),
        tags: meta::tags(metas, &ld),
        extractor,
        warnings,
    })
}

/// The picture credits read outside the body text: credit elements, then credits that closed a
/// caption (those are also cut from any body block that kept the caption).
fn page_credits(
    elements: Vec<String>,
    scan: &PageScan,
    blocks: &mut [Block],
) -> Vec<(String, FoundIn)> {
    let mut credits: Vec<(String, FoundIn)> =
        elements.into_iter().map(|c| (c, FoundIn::Credit)).collect();
    for f in scan.figures.iter().filter(|f| f.credit_node.is_none()) {
        let Some(c) = &f.credit else { continue };
        for b in blocks.iter_mut().filter(|b| b.text.contains(c.as_str())) {
            b.text = meta::fold_ws(&b.text.replace(c.as_str(), ""));
        }
        credits.push((c.clone(), FoundIn::Caption));
    }
    credits
}

fn detach_all(doc: &mut Document, selectors: &[Selector]) {
    let ids: Vec<NodeId> = selectors
        .iter()
        .flat_map(|s| doc.select(s).collect::<Vec<_>>())
        .collect();
    for id in ids {
        doc.detach(id);
    }
}

/// `content`/`data-title` of a matched element, else its text, whitespace folded.
fn value_or_text(doc: &Document, e: NodeId, keys: &[&str]) -> String {
    keys.iter()
        .find_map(|k| doc.attr(e, k))
        .map(meta::fold_ws)
        .unwrap_or_else(|| meta::fold_ws(&doc.text(e)))
}

fn first_text(doc: &Document, sel: &Selector) -> Option<String> {
    doc.select(sel)
        .map(|e| value_or_text(doc, e, &["content", "data-title"]))
        .find(|t| !t.is_empty())
}

fn body_blocks(
    doc: &Document,
    profile: &SourceProfile,
    rules: &Rules,
    n: &Normalizer,
) -> (Vec<Block>, ExtractorInfo, Vec<String>) {
    let version = env!("CARGO_PKG_VERSION").to_owned();
    let mut warnings = Vec::new();
    if let Some(sel) = &rules.body {
        let blocks: Vec<Block> = doc
            .select(sel)
            .flat_map(|r| n.generic.extract_within(doc, r))
            .collect();
        if !blocks.is_empty() {
            let info = ExtractorInfo {
                name: format!("selectors:{}", profile.id),
                version,
            };
            return (blocks, info, warnings);
        }
        warnings.push(format!(
            "selectors.body of source {} matched no text; generic extractor used",
            profile.id
        ));
    }
    (
        n.generic.extract(doc),
        ExtractorInfo {
            name: "generic".into(),
            version,
        },
        warnings,
    )
}

fn canonical_url(scan: &PageScan, url: &Url) -> Url {
    let declared = scan
        .canonical
        .clone()
        .or_else(|| meta::meta_first(&scan.metas, &["og:url"]).map(str::to_owned))
        .and_then(|h| url.join(h.trim()).ok())
        .filter(|c| matches!(c.scheme(), "http" | "https") && canonical::same_site(c, url));
    canonical::canonicalize(declared.as_ref().unwrap_or(url))
}
