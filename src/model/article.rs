//! What the normalizer makes of a page: text blocks, attributions, dates with their precision,
//! authors and images (`Article`). Pure data.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use url::Url;

use super::SourceId;

/// The structural kind of a body block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// A section heading inside the article.
    Heading,
    /// Ordinary running text.
    Paragraph,
    /// A block quotation.
    Quote,
    /// A list; items are separated by newlines in `text`.
    List,
}

/// One block of article text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Block {
    /// What kind of block this is.
    pub kind: BlockKind,
    /// The block's text, whitespace folded, no leading or trailing blanks.
    pub text: String,
}

/// How a text credits an agency.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AttributionKind {
    /// The outlet that published the page.
    Publisher,
    /// A wire dateline at the start ("MINSK, 5 May (BelTA) –").
    Dateline,
    /// A closing source line ("Based on materials of sb.by and belta.by", "По материалам БелТА").
    BasedOn,
    /// A source named in the running text ("according to the Pul Pervogo Telegram channel").
    Cited,
    /// A photo credit ("BELTA", "Фото: БелТА").
    Photo,
}

/// Where on the page an attribution was read.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FoundIn {
    /// The running text ("…, Reuters reports").
    Body,
    /// The wire dateline opening the text ("MINSK, 5 May (BelTA) –").
    Dateline,
    /// A picture's caption, or a credit line under a picture in the text ("Фото: БелТА").
    Caption,
    /// A dedicated credit element of a picture (`class="credit"`, "© AFP / Name").
    Credit,
    /// The closing lines of the text ("Based on materials of sb.by and belta.by").
    Footer,
}

/// One agency credited by an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Attribution {
    /// The name as it resolves: the configured source's name, or the name as written.
    pub name: String,
    /// The configured source it resolves to through `aliases`, if any.
    pub source_id: Option<SourceId>,
    /// How the text credits it.
    pub kind: AttributionKind,
    /// The words in the page that gave it away.
    pub evidence: String,
    /// Where on the page `evidence` was read; null for `publisher` (known from the config, not
    /// read from the page) and in records written before the field existed.
    #[serde(default)]
    pub found_in: Option<FoundIn>,
}

/// Which signal the publication date came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DateSource {
    /// The source's configured date selector.
    Selector,
    /// JSON-LD `datePublished`.
    JsonLd,
    /// A `<meta>` tag such as `article:published_time`.
    Meta,
    /// A `<time datetime>` element.
    TimeElement,
    /// A date printed in the visible text ("Posted: 05.05.2025 10:31:24").
    VisibleText,
    /// The date the feed or sitemap gave.
    Feed,
    /// A date encoded in the URL.
    Url,
    /// A date under a publication key in a page script outside JSON-LD
    /// (`"published_at": "…"` in app or shop data); read only when nothing else gives one.
    Script,
}

/// How much of the publication moment a record knows. Every value sets `published_date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DatePrecision {
    /// Date, time of day and UTC offset (stated on the page or from the source's configured
    /// time zone): `published_at` and `published_local` are set.
    Instant,
    /// Date and time of day, but no offset on the page and no configured time zone:
    /// `published_local` is set, `published_at` is not.
    LocalTime,
    /// The calendar date only: neither `published_at` nor `published_local` is set.
    Day,
}

/// Name and version of the code path that produced an article's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExtractorInfo {
    /// `selectors:<source_id>` for per-source rules, `generic` for the fallback.
    pub name: String,
    /// The newsmill version that ran.
    pub version: String,
}

/// An image with what the page says about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Image {
    /// Absolute image URL.
    pub url: Url,
    /// Caption text, if any.
    pub caption: Option<String>,
    /// Credit text, if any.
    pub credit: Option<String>,
}

/// The normalizer's output for one page: clean text plus metadata. Pure data; the corpus
/// record adds identity and dedup fields on top.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Article {
    /// The page URL after redirects.
    pub url: Url,
    /// The canonical URL (fragment and tracking parameters removed, `rel=canonical` on the same site).
    pub canonical_url: Url,
    /// The source it was fetched for.
    pub source_id: SourceId,
    /// Headline, site-name suffix removed.
    pub title: Option<String>,
    /// Lead or description (`og:description`, `meta description`).
    pub description: Option<String>,
    /// Body text, blocks separated by a blank line.
    pub text: String,
    /// The body as typed blocks.
    pub blocks: Vec<Block>,
    /// Publication instant with the offset that applies where it was published; set only when
    /// the page gives a time of day and its offset is stated or known from the source's
    /// configured time zone (`date_precision` = `instant`). Never an invented midnight.
    pub published_at: Option<DateTime<FixedOffset>>,
    /// Calendar date of publication at the publisher (`YYYY-MM-DD`), whenever a date is known.
    pub published_date: Option<NaiveDate>,
    /// Wall-clock time of publication at the publisher, without offset
    /// (`YYYY-MM-DDTHH:MM:SS`), whenever a time of day is known.
    pub published_local: Option<NaiveDateTime>,
    /// Which of the three fields above are known; `None` when no date is.
    pub date_precision: Option<DatePrecision>,
    /// Which signal the publication date came from.
    pub date_source: Option<DateSource>,
    /// Last modification time, when the page gives one.
    pub modified_at: Option<DateTime<FixedOffset>>,
    /// ISO 639-1 language code.
    pub language: Option<String>,
    /// Author names as printed.
    pub authors: Vec<String>,
    /// Agencies the text credits.
    pub attributions: Vec<Attribution>,
    /// Photo-credit lines removed from the body.
    pub photo_credits: Vec<String>,
    /// Lead image (`og:image`).
    pub image: Option<Url>,
    /// Images inside the article with captions and credits.
    pub images: Vec<Image>,
    /// Tags or keywords.
    pub tags: Vec<String>,
    /// Which code path produced the text.
    pub extractor: ExtractorInfo,
    /// Non-fatal problems met while normalizing (e.g. selectors that no longer match; an
    /// `extraction` warning when no article text was found and `text` is empty).
    pub warnings: Vec<String>,
}
