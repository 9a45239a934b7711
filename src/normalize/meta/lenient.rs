//! JSON-LD as CMS templates write it: a block that strict JSON rejects is read again after
//! the three mistakes templates make most, fixed outside strings only: `//` and `/* */`
//! comments (a field commented out in the template), commas before `}` or `]` (the last field
//! left out), and raw line breaks and tabs inside strings (an `articleBody` pasted as is).

use serde_json::Value;

/// The block parsed as JSON, else parsed after [`repair`]; `None` when neither reads.
pub fn parse(text: &str) -> Option<Value> {
    let text = text.trim();
    serde_json::from_str(text)
        .ok()
        .or_else(|| serde_json::from_str(&repair(text)).ok())
}

/// `text` with comments and trailing commas removed outside strings and control characters
/// inside strings escaped.
pub fn repair(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    out.push(c);
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
                '"' => {
                    in_string = false;
                    out.push(c);
                }
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => {}
                c => out.push(c),
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for n in chars.by_ref() {
                    if last == '*' && n == '/' {
                        break;
                    }
                    last = n;
                }
                out.push(' ');
            }
            ('}' | ']', _) => {
                if out.trim_end().ends_with(',') {
                    out.truncate(out.trim_end().len() - 1);
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_mistakes_are_read() {
        let block = "{\n\t\"headline\": \"A // not a comment\",\n\t//\"interactionCount\": \"\", // count\n\t\
                     \"datePublished\": \"2020-10-04T15:05:21+08:00\", /* old: \"x\" */\n\t\
                     \"articleBody\": \"line one\nline\ttwo\",\n\t\"keywords\": [\"a\", \"b\",],\n}";
        assert!(serde_json::from_str::<Value>(block).is_err());
        let v = parse(block).expect("repaired");
        assert_eq!(v["headline"], "A // not a comment");
        assert_eq!(v["datePublished"], "2020-10-04T15:05:21+08:00");
        assert_eq!(v["articleBody"], "line one\nline\ttwo");
        assert_eq!(v["keywords"], serde_json::json!(["a", "b"]));
        assert!(v.get("interactionCount").is_none());
    }

    #[test]
    fn valid_json_is_untouched_and_garbage_stays_unread() {
        let block = r#"{"url": "https://example.org/a//b", "n": [1, 2]}"#;
        assert_eq!(repair(block), block);
        assert_eq!(parse(block).unwrap()["url"], "https://example.org/a//b");
        assert!(parse("{\"a\": ").is_none());
        assert!(parse("<!-- not json -->").is_none());
    }
}
