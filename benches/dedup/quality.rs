//! What the dedup bench checks besides speed: on the synthetic corpus, whether copies join
//! their original's cluster, whether digests are linked to every story they quote without
//! merging those stories, and whether daily
//! template notes stay apart; and the `--dump` of the texts for the datasketch comparison.

use std::io::Write;

use newsmill::dedup::MemStore;

use crate::synth::{self, Kind, Language, article};

/// Where an article ended: the article number of its cluster's canonical record, whether the
/// cluster has other members, and the article numbers it contains as a digest.
pub type Oracle<'a> = dyn FnMut(usize) -> (Option<usize>, bool, Vec<usize>) + 'a;

/// Article number of a synthetic id.
pub fn number(id: &str) -> Option<usize> {
    id.get(1..).and_then(|n| n.parse().ok())
}

/// [`Oracle`] over a [`MemStore`] filled with articles in number order.
pub fn mem_oracle(store: &MemStore) -> impl FnMut(usize) -> (Option<usize>, bool, Vec<usize>) + '_ {
    |i| {
        let id = synth::id(i);
        let head = store.cluster_of(&id).map(str::to_owned);
        let alone = head.as_deref() == Some(id.as_str()) && store.members_len(&id) <= 1;
        let contains = store.relations_of(&id).contains;
        let contains = contains.iter().filter_map(|c| number(c)).collect();
        (head.as_deref().and_then(number), !alone, contains)
    }
}

/// Prints the share of copies in their original's cluster, of digest–story pairs linked (one
/// cluster, or the digest relation), of stories of one digest merged into one cluster, and of
/// template notes linked to anything.
pub fn report(cluster: &mut Oracle<'_>, n: usize) {
    let mut same = |a: usize, b: usize| {
        let (ca, cb) = (cluster(a).0, cluster(b).0);
        ca.is_some() && ca == cb
    };
    let (mut copies, mut copies_in, mut quoted, mut quoted_in) = (0u64, 0u64, 0u64, 0u64);
    let (mut co, mut co_merged) = (0u64, 0u64);
    let mut digests = Vec::new();
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
                for (k, &b) in bases.iter().enumerate() {
                    for &c in &bases[k + 1..] {
                        co += 1;
                        co_merged += u64::from(same(b, c));
                    }
                }
                digests.push((i, bases));
            }
            Kind::Template(_) => notes.push(i),
        }
    }
    for (i, bases) in digests {
        let (head, _, contains) = cluster(i);
        for b in bases {
            quoted += 1;
            let linked = contains.contains(&b) || (head.is_some() && head == cluster(b).0);
            quoted_in += u64::from(linked);
            if !linked && quoted - quoted_in <= 3 {
                println!("   digest {i} not linked to the story {b} it quotes");
            }
        }
    }
    let notes_linked = notes.iter().filter(|&&i| cluster(i).1).count() as u64;
    let notes = notes.len() as u64;
    let pct = |a: u64, b: u64| 100.0 * a as f64 / b.max(1) as f64;
    println!(
        "   quality: copies in their original's cluster {copies_in}/{copies} ({:.2} %); \
         digest–quoted story pairs linked {quoted_in}/{quoted} ({:.2} %); \
         stories of one digest merged {co_merged}/{co}; \
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
