//! The attributes the page scan reads of each element, found in one pass over the element's
//! attributes instead of one look-up each: the scan looks at every element of the page.

use crate::html::Element;

/// The attributes the scan reads, found in one pass over an element's attributes instead of
/// one lookup each (the scan looks at every element of the page).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Attrs<'a> {
    pub(super) class: Option<&'a str>,
    pub(super) id: Option<&'a str>,
    pub(super) itemprop: Option<&'a str>,
    pub(super) rel: Option<&'a str>,
    pub(super) property: Option<&'a str>,
    pub(super) name: Option<&'a str>,
    pub(super) content: Option<&'a str>,
    pub(super) datetime: Option<&'a str>,
}

impl<'a> Attrs<'a> {
    pub(super) fn of(v: Element<'a>) -> Self {
        let mut a = Attrs::default();
        // The parser keeps the first of duplicate attributes only, as `Element::attr` reads.
        for (k, value) in v.attrs() {
            let slot = match k {
                "class" => &mut a.class,
                "id" => &mut a.id,
                "itemprop" => &mut a.itemprop,
                "rel" => &mut a.rel,
                "property" => &mut a.property,
                "name" => &mut a.name,
                "content" => &mut a.content,
                "datetime" => &mut a.datetime,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        a
    }
}
