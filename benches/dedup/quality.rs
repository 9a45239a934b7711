//! What the dedup bench checks besides speed: on the synthetic corpus, whether copies join
//! their original's cluster, whether digests join every story they quote, and whether daily
//! template notes stay apart; and the `--dump` of the texts for the datasketch comparison.

use std::io::Write;

use newsmill::dedup::MemStore;

use crate::synth::{self, Kind, Language, article};

/// Where an article ended: the article number of its cluster's canonical record, and whether
/// the cluster has other members.
pub type Oracle<'a> = dyn FnMut(usize) -> (Option<usize>, bool) + 'a;

/// [`Oracle`] over a [`MemStore`] filled with articles in number order.
pub fn mem_oracle(store: &MemStore) -> impl FnMut(usize) -> (Option<usize>, bool) + '_ {
    |i| {
        let id = synth::id(i);
        let head = store.cluster_of(&id).map(str::to_owned);
        let alone = head.as_deref() == Some(id.as_str()) && store.members_len(&id) <= 1;
        let head = head.and_then(|h| h.get(1..).and_then(|n| n.parse().ok()));
        (head, !alone)
    }
}

/// Prints the share of copies and digest–story pairs in their original's cluster, and of
/// template notes linked to anything.
pub fn report(cluster: &mut Oracle<'_>, n: usize) {
    let mut same = |a: usize, b: usize| {
        let (ca, cb) = (cluster(a).0, cluster(b).0);
        ca.is_some() && ca == cb
    };
    let (mut copies, mut copies_in, mut quoted, mut quoted_in) = (0u64, 0u64, 0u64, 0u64);
    let mut notes = Vec::new();
    for i in 0..n {
        match synth::kind(i) {
            Kind::Original => {}
            Kind::Copy(b) => {
                copies += 1;
                let joined = same(i, b);
                copies_in += u64::from(joined);
                if !joined && copies - copies_in <= 3 {
                    println!("   copy {i} not in the cluster of its original {b}");
                }
            }
            Kind::Digest(bases) => {
                for b in bases {
                    quoted += 1;
                    let joined = same(i, b);
                    quoted_in += u64::from(joined);
                    if !joined && quoted - quoted_in <= 3 {
                        println!("   digest {i} not in the cluster of the story {b} it quotes");
                    }
                }
            }
            Kind::Template(_) => notes.push(i),
        }
    }
    let notes_linked = notes.iter().filter(|&&i| cluster(i).1).count() as u64;
    let notes = notes.len() as u64;
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
