//! What the dedup bench checks besides speed: on the synthetic corpus, whether copies join
//! their original's cluster, whether digests join every story they quote, and whether daily
//! template notes stay apart; and the `--dump` of the texts for the datasketch comparison.

use std::io::Write;

use newsmill::dedup::MemStore;

use crate::synth::{self, Kind, Language, article};

/// Prints the share of copies and digest–story pairs in their original's cluster, and of
/// template notes linked to anything.
pub fn report(store: &MemStore, n: usize) {
    let same = |a: usize, b: usize| {
        let (a, b) = (synth::id(a), synth::id(b));
        store.cluster_of(&a).is_some() && store.cluster_of(&a) == store.cluster_of(&b)
    };
    let (mut copies, mut copies_in, mut quoted, mut quoted_in) = (0u64, 0u64, 0u64, 0u64);
    let (mut notes, mut notes_linked) = (0u64, 0u64);
    for i in 0..n {
        match synth::kind(i) {
            Kind::Original => {}
            Kind::Copy(b) => {
                copies += 1;
                copies_in += u64::from(same(i, b));
            }
            Kind::Digest(bases) => {
                for b in bases {
                    quoted += 1;
                    quoted_in += u64::from(same(i, b));
                }
            }
            Kind::Template(_) => {
                notes += 1;
                let id = synth::id(i);
                let linked =
                    store.cluster_of(&id) != Some(id.as_str()) || store.members_len(&id) > 1;
                notes_linked += u64::from(linked);
            }
        }
    }
    let pct = |a: u64, b: u64| 100.0 * a as f64 / b.max(1) as f64;
    println!(
        "   quality: copies in their original's cluster {copies_in}/{copies} ({:.2} %); \
         digest–quoted story pairs in one cluster {quoted_in}/{quoted} ({:.2} %); \
         template notes linked to anything {notes_linked}/{notes} ({:.2} %)",
        pct(copies_in, copies),
        pct(quoted_in, quoted),
        pct(notes_linked, notes)
    );
}

/// Writes articles `0..n` as JSON lines `{"id", "text"}` to `path`.
pub fn dump(lang: &Language, n: usize, path: &str) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for i in 0..n {
        let (text, rank) = article(lang, i);
        let line = serde_json::json!({ "id": rank.id, "text": text });
        writeln!(out, "{line}")?;
    }
    out.flush()
}
