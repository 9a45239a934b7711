//! What the tree builder needs to know of a tag name: void, block (closes an open `p`),
//! special, scope boundary, head content.

/// Properties of a tag name that drive the rules.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Info {
    /// Element without content (`br`, `img`, …).
    pub(super) void: bool,
    /// Start tag closes an open `p` (block-level elements).
    pub(super) closes_p: bool,
    /// "Special" in HTML5: an unmatched end tag does not look past it.
    pub(super) special: bool,
    /// Ends the default scope (`td`, `table`, `html`, …).
    pub(super) boundary: bool,
}

pub(super) fn info(name: &str) -> Info {
    let void = matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
            | "keygen"
            | "basefont"
            | "bgsound"
            | "frame"
    );
    let closes_p = matches!(
        name,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "center"
            | "details"
            | "dialog"
            | "dir"
            | "div"
            | "dl"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "header"
            | "hgroup"
            | "hr"
            | "main"
            | "menu"
            | "nav"
            | "ol"
            | "p"
            | "pre"
            | "section"
            | "summary"
            | "table"
            | "ul"
            | "listing"
            | "xmp"
            | "plaintext"
            | "search"
            | "li"
            | "dd"
            | "dt"
    );
    let boundary = matches!(
        name,
        "html" | "table" | "td" | "th" | "caption" | "marquee" | "object" | "applet" | "template"
    );
    let special = void
        || closes_p
        || boundary
        || matches!(
            name,
            "body"
                | "head"
                | "button"
                | "colgroup"
                | "frameset"
                | "iframe"
                | "noembed"
                | "noframes"
                | "noscript"
                | "script"
                | "select"
                | "style"
                | "tbody"
                | "textarea"
                | "tfoot"
                | "thead"
                | "title"
                | "tr"
        );
    Info {
        void,
        closes_p,
        special,
        boundary,
    }
}

/// Elements that belong in `head` when they come before the body.
pub(super) fn head_element(name: &str) -> bool {
    matches!(
        name,
        "meta"
            | "link"
            | "title"
            | "style"
            | "script"
            | "base"
            | "noscript"
            | "template"
            | "basefont"
            | "bgsound"
    )
}
