//! Pictures inside the article and what the page says about them: `<figure>`s and the
//! `<div>`-wrapped pictures many agency templates use (`div.main_img`, `div.photo`,
//! `div.article__photo-item`), each with its image, caption and credit.
//!
//! The credit is a credit element in the picture (`class` with credit, copyright, author or
//! source), or a credit closing the caption ("Minsk at night. Photo: BelTA", "(Xinhua/Name)").
//! What a credit line is, is decided in [`crate::normalize::attribution::split_caption`].

use crate::html::{Document, Element, NodeId};
use crate::normalize::attribution::split_caption;

use super::scan::words::Words;
use super::scan::{fold_ws, short_text};

/// Most descendants looked at to find a wrapper's image (a big container is not a picture).
const MAX_WRAPPER_NODES: usize = 40;
/// Longest credit element text.
const MAX_CREDIT_TEXT: usize = 120;

/// A picture inside the article: its image and what the page says about it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Figure {
    /// `src` (or a lazy-loading `data-src`) of the first image, unresolved.
    pub src: String,
    /// Caption text without the credit part.
    pub caption: Option<String>,
    /// Credit from a credit element in the picture, or a trailing "Photo: …" in the caption.
    pub credit: Option<String>,
    /// The credit element, when the credit came from one (it leaves the document).
    pub credit_node: Option<NodeId>,
}

// The class word lists are matched as written (case-sensitive), each in one pass per value.

/// Class words of a `<div>` that wraps one picture.
static WRAPPER_CLASSES: Words = Words::exact(&[
    "photo",
    "image",
    "img",
    "picture",
    "pic",
    "foto",
    "figure",
    "illustration",
]);
/// Class words of a picture's caption element.
static CAPTION_CLASSES: Words = Words::exact(&["caption", "desc", "text", "title", "signature"]);
/// Class words of a picture's credit element.
static CREDIT_CLASSES: Words =
    Words::exact(&["credit", "copyright", "author", "source", "photographer"]);
/// Class words of the article area.
static ARTICLE_CLASSES: Words = Words::exact(&[
    "article",
    "story",
    "post-content",
    "entry-content",
    "news-text",
]);

/// Whether an ancestor of `node` marks the article area.
pub(super) fn in_article(doc: &Document, node: NodeId) -> bool {
    doc.ancestors(node).filter_map(|a| doc.element(a)).any(|v| {
        v.name() == "article"
            || v.name() == "main"
            || v.attr("itemprop") == Some("articleBody")
            || ARTICLE_CLASSES.in_attr(v.attr("class"))
    })
}

/// Whether `el` is a `<div>` wrapping one picture with words about it: a picture-ish class,
/// an image, a caption or credit element, and not inside page chrome or another picture.
pub(super) fn is_wrapper(doc: &Document, el: Element<'_>) -> bool {
    if el.name() != "div" || !WRAPPER_CLASSES.in_attr(el.attr("class")) {
        return false;
    }
    // The bounded looks below the element first: most picture-ish classes (`topic` holds
    // `pic`) wrap no described image, and then the walk up the ancestors is not needed.
    if !has_image(doc, el.id()) || !described(doc, el.id()) {
        return false;
    }
    let nested = doc
        .ancestors(el.id())
        .filter_map(|a| doc.element(a))
        .any(|a| {
            matches!(a.name(), "figure" | "header" | "footer" | "nav" | "aside")
                || (a.name() == "div"
                    && WRAPPER_CLASSES.in_attr(a.attr("class"))
                    && has_image(doc, a.id()))
        });
    !nested
}

fn has_image(doc: &Document, node: NodeId) -> bool {
    doc.descendants(node)
        .take(MAX_WRAPPER_NODES)
        .filter_map(|d| doc.element(d))
        .any(|d| d.name() == "img")
}

fn described(doc: &Document, node: NodeId) -> bool {
    doc.descendants(node)
        .take(MAX_WRAPPER_NODES)
        .filter_map(|d| doc.element(d))
        .any(|d| {
            d.name() != "img"
                && (CAPTION_CLASSES.in_attr(d.attr("class"))
                    || CREDIT_CLASSES.in_attr(d.attr("class")))
        })
}

/// The picture `el` (a `<figure>` or a wrapper) holds, if it has an image.
pub(super) fn picture(doc: &Document, el: Element<'_>) -> Option<Figure> {
    let mut f = Figure::default();
    let mut caption_node = None;
    for v in doc.descendants(el.id()).filter_map(|d| doc.element(d)) {
        let class = v.attr("class");
        if v.name() == "img" && f.src.is_empty() {
            f.src = v
                .attr("src")
                .or_else(|| v.attr("data-src"))
                .unwrap_or_default()
                .trim()
                .to_owned();
        } else if f.credit_node.is_none() && v.id() != el.id() && CREDIT_CLASSES.in_attr(class) {
            f.credit = short_text(doc, v.id(), MAX_CREDIT_TEXT);
            f.credit_node = f.credit.as_ref().map(|_| v.id());
        } else if caption_node.is_none()
            && v.id() != el.id()
            && (v.name() == "figcaption"
                || (el.name() != "figure" && CAPTION_CLASSES.in_attr(class)))
        {
            caption_node = Some(v.id());
        }
    }
    if let Some(node) = caption_node {
        let full = fold_ws(&doc.text(node));
        let caption = match &f.credit {
            Some(c) => fold_ws(&full.replace(c.as_str(), "")),
            None => {
                let (caption, credit) = split_caption(&full);
                f.credit = credit;
                caption
            }
        };
        f.caption = Some(caption).filter(|c| !c.is_empty());
    }
    (!f.src.is_empty()).then_some(f)
}

#[cfg(test)]
mod tests {
    use super::super::PageScan;
    use super::*;

    #[test]
    fn div_wrapped_pictures_give_images() {
        let doc = Document::parse(
            r#"<header><div class="logo-img"><img src="/logo.png"><span class="title">Site</span></div></header>
            <div class="main_img"><img src="/a.jpg"><div class="main_img_desc">Combines near Gomel</div><div class="photo-credit">Photo: BelTA</div></div>
            <div class="article__photo-item"><div class="photoview__img"><img src="/b.jpg"></div><div class="photoview__copyright">© РИА Новости / Илья Питалев</div></div>
            <div class="photo"><img src="/c.jpg"><p class="photo-caption">Boats on the river. (Xinhua/Li Ming)</p></div>
            <div class="news-img"><img src="/thumb.jpg"></div>"#,
        );
        let f = PageScan::new(&doc).figures;
        let got: Vec<(&str, Option<&str>, Option<&str>, bool)> = f
            .iter()
            .map(|f| {
                (
                    f.src.as_str(),
                    f.caption.as_deref(),
                    f.credit.as_deref(),
                    f.credit_node.is_some(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "/a.jpg",
                    Some("Combines near Gomel"),
                    Some("Photo: BelTA"),
                    true
                ),
                ("/b.jpg", None, Some("© РИА Новости / Илья Питалев"), true),
                (
                    "/c.jpg",
                    Some("Boats on the river."),
                    Some("(Xinhua/Li Ming)"),
                    false
                ),
            ]
        );
    }
}
