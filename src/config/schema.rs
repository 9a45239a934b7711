//! Schema pass: TOML as written → the `Raw*` types, reporting *every* schema error (unknown
//! key, wrong type, bad duration, missing field), each naming its key.
//!
//! `serde` stops at the first error, so the document is read as a `toml::Table` first and
//! deserialized in a loop: each failure is recorded with its key path (through
//! `serde_path_to_error`), the offending key is taken out of the table, and the rest is tried
//! again. A removed key then falls back to its default, so value validation still runs on
//! everything that did parse, and `newsmill check` lists schema and value problems together.
//!
//! `[[sources]]` entries are read one at a time so that an entry that cannot be read at all
//! (a missing `id`) is dropped without shifting the index of the others.
//!
//! This module knows nothing of what the keys mean; it only reads.

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use toml::{Table, Value};

/// More passes than any hand-written file has problems; stops a pathological file (one
/// that keeps failing at a key that cannot be removed) from looping.
const MAX_PASSES: usize = 500;

/// Deserializes `table` into `T`, removing and reporting each key that does not fit.
///
/// `prefix` is prepended to every reported key (`"sources[2]"`, or `""` at the root).
/// Returns `None` when the table cannot be read even with every bad key removed (a required
/// field is missing or of the wrong shape); the reason is in `problems`.
pub(super) fn read_lenient<T: DeserializeOwned>(
    mut table: Table,
    prefix: &str,
    problems: &mut Vec<String>,
) -> Option<T> {
    let mut removed: Vec<String> = Vec::new();
    for _ in 0..MAX_PASSES {
        let attempt = serde_path_to_error::deserialize::<_, T>(Value::Table(table.clone()));
        let err = match attempt {
            Ok(value) => return Some(value),
            Err(err) => err,
        };
        let segments: Vec<&Segment> = err.path().iter().collect();
        let key = key_name(prefix, &segments);
        let message = clean_message(&err.inner().to_string());
        if !remove(&mut table, &segments) {
            // "missing field `id`" after `id` itself was reported and removed says nothing new.
            if !removed.iter().any(|k| message.contains(&format!("`{k}`"))) {
                problems.push(format!("{key}: {message}"));
            }
            return None;
        }
        problems.push(format!("{key}: {message}"));
        if let Some(Segment::Map { key }) = segments.first() {
            removed.push(key.clone());
        }
    }
    problems.push(format!(
        "{}: too many problems to list",
        key_name(prefix, &[])
    ));
    None
}

/// `prefix.path` as `newsmill check` prints keys: `fetch.timeout`, `sources[0].feeds[1]`.
fn key_name(prefix: &str, segments: &[&Segment]) -> String {
    let mut out = prefix.to_owned();
    for segment in segments {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    if out.is_empty() {
        out.push_str("(top level)");
    }
    out
}

/// Removes the key the path points at. A path that goes on inside an array removes the
/// whole array (removing one element would shift the indexes of the next problems). Returns
/// `false` when there is nothing to remove: the path is the table itself.
fn remove(table: &mut Table, segments: &[&Segment]) -> bool {
    let mut current = table;
    for (i, segment) in segments.iter().enumerate() {
        let Segment::Map { key } = segment else {
            return false;
        };
        let last = i + 1 == segments.len();
        if last || !matches!(current.get(key.as_str()), Some(Value::Table(_))) {
            return current.remove(key.as_str()).is_some();
        }
        match current.get_mut(key.as_str()) {
            Some(Value::Table(inner)) => current = inner,
            _ => return false,
        }
    }
    false
}

/// Folds a parser message onto one line and drops the `` in `key` `` suffix `toml` adds (the
/// key already leads the problem line).
fn clean_message(message: &str) -> String {
    let folded = message.split_whitespace().collect::<Vec<_>>().join(" ");
    match folded.rfind(" in `") {
        Some(cut) if folded.ends_with('`') => folded.get(..cut).unwrap_or(&folded).to_owned(),
        _ => folded,
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        #[serde(default)]
        n: u32,
        #[serde(default)]
        list: Vec<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        #[serde(default)]
        a: u32,
        #[serde(default, with = "humantime_serde")]
        wait: std::time::Duration,
        inner: Option<Inner>,
    }

    fn read(text: &str) -> (Option<Outer>, Vec<String>) {
        let mut problems = Vec::new();
        let table: Table = toml::from_str(text).unwrap();
        (read_lenient(table, "", &mut problems), problems)
    }

    #[test]
    fn every_schema_error_is_reported_with_its_key() {
        let (value, problems) = read(
            "a = \"x\"\nwait = \"3 parsecs\"\ntypo = 1\n[inner]\nn = -1\nlist = [\"ok\", 5]\nother = 2\n",
        );
        let all = problems.join("\n");
        for key in [
            "a:",
            "wait:",
            "typo:",
            "inner.n:",
            "inner.list[1]:",
            "inner.other:",
        ] {
            assert!(
                problems.iter().any(|p| p.starts_with(key)),
                "{key} missing in:\n{all}"
            );
        }
        assert_eq!(problems.len(), 6, "{all}");
        assert_eq!(
            value,
            Some(Outer {
                a: 0,
                wait: std::time::Duration::ZERO,
                inner: Some(Inner {
                    n: 0,
                    list: Vec::new()
                })
            })
        );
    }

    #[test]
    fn a_clean_table_reads_in_one_pass() {
        let (value, problems) = read("a = 3\nwait = \"2s\"\n");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(value.map(|v| v.a), Some(3));
    }

    #[test]
    fn key_names_follow_check_output() {
        let seq = Segment::Seq { index: 2 };
        let map = Segment::Map { key: "id".into() };
        assert_eq!(key_name("sources[2]", &[&map]), "sources[2].id");
        assert_eq!(key_name("", &[&map, &seq]), "id[2]");
        assert_eq!(key_name("", &[]), "(top level)");
    }
}
