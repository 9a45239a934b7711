//! Character references (`&amp;`, `&#8212;`, `&#x2014;`, legacy `&copy` without `;`), decoded
//! with the HTML5 named-reference table that html5ever publishes through `markup5ever`.

use markup5ever::data::{C1_REPLACEMENTS, NAMED_ENTITIES};

/// Longest named reference in the table ("&CounterClockwiseContourIntegral;" is 33).
const MAX_NAME: usize = 40;

/// Appends `raw` to `out` with character references decoded. In attribute values a legacy
/// reference followed by `=` or an alphanumeric is left alone, as browsers do
/// (`?a=1&copy=2` stays a query string).
pub(super) fn decode_into(out: &mut String, raw: &str, in_attr: bool) {
    let mut rest = raw;
    while let Some(at) = memchr::memchr(b'&', rest.as_bytes()) {
        out.push_str(rest.get(..at).unwrap_or_default());
        let tail = rest.get(at + 1..).unwrap_or_default();
        match reference(tail, in_attr) {
            Some((used, a, b)) => {
                out.push(a);
                out.extend(b);
                rest = tail.get(used..).unwrap_or_default();
            }
            None => {
                out.push('&');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
}

/// The reference at the start of `s` (just after `&`): bytes used and the characters.
fn reference(s: &str, in_attr: bool) -> Option<(usize, char, Option<char>)> {
    let b = s.as_bytes();
    if b.first() == Some(&b'#') {
        return numeric(s);
    }
    // Longest prefix of the name that the table knows; the table also holds every proper
    // prefix of a name (as code point 0), so the walk stops as soon as no name can follow.
    let mut best: Option<(usize, u32, u32)> = None;
    let limit = b.len().min(MAX_NAME);
    for len in 1..=limit {
        let c = b.get(len - 1).copied().unwrap_or(0);
        if !(c.is_ascii_alphanumeric() || (c == b';' && len > 1)) {
            break;
        }
        let Some(&(a, z)) = NAMED_ENTITIES.get(s.get(..len).unwrap_or_default()) else {
            break;
        };
        if a != 0 {
            best = Some((len, a, z));
        }
        if c == b';' {
            break;
        }
    }
    let (len, a, z) = best?;
    let terminated = b.get(len - 1) == Some(&b';');
    if in_attr && !terminated {
        let next = b.get(len).copied().unwrap_or(0);
        if next == b'=' || next.is_ascii_alphanumeric() {
            return None;
        }
    }
    let a = char::from_u32(a)?;
    Some((len, a, char::from_u32(z).filter(|_| z != 0)))
}

/// `#123;` or `#x7b;` (the `;` is optional).
fn numeric(s: &str) -> Option<(usize, char, Option<char>)> {
    let b = s.as_bytes();
    let (hex, start) = match b.get(1) {
        Some(b'x' | b'X') => (true, 2),
        _ => (false, 1),
    };
    let digits = b
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|c| {
            if hex {
                c.is_ascii_hexdigit()
            } else {
                c.is_ascii_digit()
            }
        })
        .count();
    if digits == 0 {
        return None;
    }
    let text = s.get(start..start + digits).unwrap_or_default();
    // Overlong numbers saturate to an invalid code point, replaced below.
    let value = u32::from_str_radix(text, if hex { 16 } else { 10 }).unwrap_or(u32::MAX);
    let mut used = start + digits;
    if b.get(used) == Some(&b';') {
        used += 1;
    }
    Some((used, code_point(value), None))
}

/// The character a numeric reference stands for, with the HTML5 replacements (NUL,
/// surrogates and out-of-range values become U+FFFD; 0x80–0x9F are read as windows-1252).
fn code_point(v: u32) -> char {
    if (0x80..=0x9F).contains(&v)
        && let Some(Some(c)) = C1_REPLACEMENTS.get((v - 0x80) as usize)
    {
        return *c;
    }
    match v {
        0 => '\u{FFFD}',
        _ => char::from_u32(v).unwrap_or('\u{FFFD}'),
    }
}

#[cfg(test)]
mod tests {
    use super::decode_into;

    fn dec(s: &str, attr: bool) -> String {
        let mut out = String::new();
        decode_into(&mut out, s, attr);
        out
    }

    #[test]
    fn named_numeric_and_legacy_references() {
        assert_eq!(dec("a &amp; b", false), "a & b");
        assert_eq!(
            dec("&laquo;Х&raquo; &mdash; &#8212;&#x2014;&#X2014", false),
            "«Х» — ———"
        );
        assert_eq!(dec("&copy 2025 &notit;", false), "© 2025 ¬it;");
        assert_eq!(
            dec("&#150; &#0; &#xD800; &#99999999999;", false),
            "– \u{FFFD} \u{FFFD} \u{FFFD}"
        );
        assert_eq!(dec("&NotEqualTilde;", false), "\u{2242}\u{338}");
    }

    #[test]
    fn unknown_or_bare_ampersands_stay() {
        assert_eq!(
            dec("AT&T & co &; &#; &xyz;", false),
            "AT&T & co &; &#; &xyz;"
        );
        assert_eq!(dec("tail &", false), "tail &");
        assert_eq!(dec("&", false), "&");
    }

    #[test]
    fn attribute_values_keep_query_strings() {
        assert_eq!(dec("/x?a=1&copy=2&amp;b", true), "/x?a=1&copy=2&b");
        assert_eq!(dec("&copy;", true), "©");
    }
}
