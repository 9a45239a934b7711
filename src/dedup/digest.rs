//! The digest relation: a text that quotes several *different* stories (a digest, a news
//! round-up) is linked to each story it quotes by containment, without joining their clusters,
//! so two stories of one digest never end up "the same story". Pure and sync.
//!
//! # Definition (independent of arrival order)
//! Of a linked pair ([`Thresholds::reason`] is not `None`), the larger text (more shingles;
//! the larger id on a tie) is the *container*; the smaller is a *part* of it when their shared
//! shingles cover at most [`PART_MAX_COVER`] of the container (a story in a digest, an excerpt
//! or a cut tail in its original), and a copy of it otherwise. A record is a **digest** when
//! two of its parts are *different stories* ([`different_stories`]): their own pair fails
//! [`Thresholds::reason`] and they overlap little (containment below
//! [`STORIES_MAX_OVERLAP`]). Two cuts of one text (its first half, and the text less a long
//! paragraph) may fail the link thresholds too, but they overlap in what both kept: the text
//! is their original, not a digest of them; and two parts both published after their
//! container ([`both_later`]) are cuts of it republished (two outlets excerpting one
//! original's first and last paragraphs overlap as little as two stories do), since a digest
//! rounds up stories that came before it. Then:
//! - the digest is *related* to every part (`contains` / `contained_in`), and those links do
//!   not merge clusters, whether they passed on containment or on Jaccard (a story making up
//!   70 % of a two-story digest);
//! - every other link merges: copies, and parts of a record that is not a digest.
//!
//! Being a digest depends only on the final set of records, so the clusters and relations do
//! not depend on the order records arrive in. Incrementally, a stored record can become a
//! digest when a new record it contains arrives (never the other way: records are not
//! removed); its earlier containment links then stop merging, and its cluster is recomputed
//! (`super::regroup`).

use std::time::Duration;

use crate::model::LinkReason;

use super::keys;
use super::link::{NearStore, ShingleSource, Thresholds, date_gap, verify};
use super::rank::{IndexedDoc, NearDoc, Rank};
use super::shingle::{ShingleSet, Similarity, similarity};

/// A verified pair: the stored record, the similarity, why they are linked.
pub(crate) type Edge = (IndexedDoc, Similarity, LinkReason);

/// What the new record's verified links mean once digests are known.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Stored records the new record joins a cluster with.
    pub merge_with: Vec<IndexedDoc>,
    /// Stored records that become digests with the new record (their clusters split).
    pub flipped: Vec<IndexedDoc>,
    /// New relations `(digest, contained)`, sorted, without repeats.
    pub relate: Vec<(String, String)>,
}

/// A smaller linked record whose shared shingles cover at most this share of the larger one is
/// a part of it; above, a copy. A copy with a new lead or a local paragraph covers 0.85–1 of
/// its original; a story in a digest of two covers 0.3–0.7 of it, an excerpt 0.4 of its
/// original (`fixtures/dedup/realworld/`).
pub const PART_MAX_COVER: f64 = 0.8;

/// Two parts of one container whose shared shingles cover at least this share of the smaller
/// are cuts of one text, not two stories: two stories quoted in one digest share stock
/// phrases at most (the labelled set's unrelated pairs: containment ≤ 0.32), two cuts of one
/// text share what both kept (a first half and the text less one paragraph: 0.5–0.7).
pub const STORIES_MAX_OVERLAP: f64 = 0.5;

/// Whether two parts of one container published `gap` apart are different stories, which
/// makes the container a digest: their pair does not link, and they overlap little.
pub fn different_stories(th: &Thresholds, sim: &Similarity, gap: Option<Duration>) -> bool {
    th.reason(sim, gap).is_none() && sim.containment < STORIES_MAX_OVERLAP
}

/// Whether the record of `(a_size, a_id)` is the container of the pair.
pub(crate) fn contains_first(a_size: u32, a_id: &str, b_size: u32, b_id: &str) -> bool {
    (a_size, a_id) > (b_size, b_id)
}

/// Whether the smaller of a linked pair is a part of the larger, of `larger` shingles.
pub(crate) fn is_part(larger: u32, sim: &Similarity) -> bool {
    sim.shared as f64 <= PART_MAX_COVER * f64::from(larger)
}

/// Whether both parts were published after their container (all three dated): then they are
/// cuts of it republished, not stories it quotes, however little they overlap (an original's
/// first paragraphs and its last ones, excerpted by two outlets). A digest rounds up stories
/// that came before it, or at the same time.
pub fn both_later(container: &Rank, a: &Rank, b: &Rank) -> bool {
    let after = |part: &Rank| match (container.published_us, part.published_us) {
        (Some(c), Some(p)) => p > c,
        _ => false,
    };
    after(a) && after(b)
}

/// Whether two parts of `container` are different stories ([`different_stories`], and not
/// [`both_later`] than it).
fn different<T: ShingleSource>(
    source: &mut T,
    th: &Thresholds,
    container: &Rank,
    (a, b_set, b): (&IndexedDoc, &ShingleSet, &IndexedDoc),
) -> Result<bool, T::Error> {
    if both_later(container, &a.info.rank, &b.info.rank) {
        return Ok(false);
    }
    let Some(a_set) = source.shingles(a.info.id())? else {
        return Ok(false);
    };
    let gap = date_gap(&a.info.rank, &b.info.rank);
    Ok(different_stories(th, &similarity(&a_set, b_set), gap))
}

/// Whether two of `docs`, parts of `container`, are different stories.
fn any_different<T: ShingleSource>(
    source: &mut T,
    th: &Thresholds,
    container: &Rank,
    docs: &[&IndexedDoc],
) -> Result<bool, T::Error> {
    for (i, b) in docs.iter().enumerate().skip(1) {
        let Some(b_set) = source.shingles(b.info.id())? else {
            continue;
        };
        for a in &docs[..i] {
            if different(source, th, container, (a, &b_set, b))? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// The stored records `x` contains (containment-only links with `x` the container), found the
/// way they would be if `x` were added now.
pub(crate) fn contained_of<S, T>(
    store: &mut S,
    source: &mut T,
    x: &IndexedDoc,
    th: &Thresholds,
) -> Result<Vec<IndexedDoc>, T::Error>
where
    S: NearStore,
    T: ShingleSource,
    T::Error: From<S::Error>,
{
    let Some(set) = source.shingles(x.info.id())? else {
        return Ok(Vec::new());
    };
    let doc = NearDoc {
        info: x.info.clone(),
        bands: keys::record_keys(&set),
        shingles: set,
    };
    let edges = verify(store, source, &doc, th)?;
    Ok(edges
        .into_iter()
        .filter(|(c, sim, _)| is_container(x, c) && is_part(x.info.shingles, sim))
        .map(|(c, _, _)| c)
        .collect())
}

fn is_container(a: &IndexedDoc, b: &IndexedDoc) -> bool {
    contains_first(a.info.shingles, a.info.id(), b.info.shingles, b.info.id())
}

/// Sorts out the new record's verified `edges` (see the module doc).
///
/// # Errors
/// Storage or read failures.
pub(crate) fn relate<S, T>(
    store: &mut S,
    source: &mut T,
    doc: &NearDoc,
    edges: &[Edge],
    th: &Thresholds,
) -> Result<Outcome, T::Error>
where
    S: NearStore,
    T: ShingleSource,
    T::Error: From<S::Error>,
{
    let (id, size) = (doc.info.id(), doc.info.shingles);
    let larger = |c: &IndexedDoc| contains_first(size, id, c.info.shingles, c.info.id());
    // Whether the stored record is a part of the new one, the new one a part of it.
    let ours = |c: &IndexedDoc, sim: &Similarity| larger(c) && is_part(size, sim);
    let theirs = |c: &IndexedDoc, sim: &Similarity| !larger(c) && is_part(c.info.shingles, sim);
    let mine: Vec<&IndexedDoc> = edges
        .iter()
        .filter(|(c, sim, _)| ours(c, sim))
        .map(|(c, _, _)| c)
        .collect();
    let digest = mine.len() >= 2 && any_different(source, th, &doc.info.rank, &mine)?;
    let me = IndexedDoc {
        info: doc.info.clone(),
        cluster: id.to_owned(),
    };
    let mut out = Outcome::default();
    for (c, sim, _) in edges {
        let cid = c.info.id().to_owned();
        if ours(c, sim) && digest {
            out.relate.push((id.to_owned(), cid));
        } else if !theirs(c, sim) {
            out.merge_with.push(c.clone());
        } else if !store.relations(&cid)?.contains.is_empty() {
            out.relate.push((cid, id.to_owned()));
        } else {
            let before = contained_of(store, source, c, th)?;
            let mut flips = false;
            for a in &before {
                flips = flips || different(source, th, &c.info.rank, (a, &doc.shingles, &me))?;
            }
            if flips {
                out.relate.push((cid.clone(), id.to_owned()));
                let each = before.iter().map(|a| (cid.clone(), a.info.id().to_owned()));
                out.relate.extend(each);
                out.flipped.push(c.clone());
            } else {
                out.merge_with.push(c.clone());
            }
        }
    }
    out.relate.sort();
    out.relate.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::link::{Relations, add};
    use crate::dedup::memstore::{MemStore, MemTexts};

    fn words(prefix: &str, n: usize) -> String {
        (0..n)
            .map(|i| format!("{prefix}{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn doc(id: &str, hour: i64, text: &str) -> NearDoc {
        let rank = Rank {
            published_us: Some(hour * 3_600_000_000),
            republished: false,
            source_id: "s".into(),
            url_len: 10,
            id: id.into(),
        };
        NearDoc::new(rank, text)
    }

    /// Story `a`, story `b`, a digest `d` quoting both, an excerpt `e` of `a`.
    fn world() -> Vec<NearDoc> {
        let (a, b) = (words("alpha", 90), words("beta", 80));
        let excerpt = words("alpha", 40);
        vec![
            doc("a", 0, &a),
            doc("b", 1, &b),
            doc("d", 2, &format!("{a} {b} {}", words("gamma", 20))),
            doc("e", 3, &excerpt),
        ]
    }

    /// Adds the docs in this order; (cluster, relations) of each id.
    fn run(docs: &[&NearDoc]) -> Vec<(String, String, Relations)> {
        let (mut store, mut texts) = (MemStore::default(), MemTexts::default());
        for d in docs {
            add(&mut store, &mut texts, d, &Thresholds::DEFAULT).unwrap();
            texts.insert(d.info.id(), d.shingles.clone());
        }
        let mut out: Vec<_> = docs
            .iter()
            .map(|d| {
                let id = d.info.id();
                let cluster = store.cluster_of(id).unwrap().to_owned();
                (id.to_owned(), cluster, store.relations_of(id))
            })
            .collect();
        out.sort_by(|x, y| x.0.cmp(&y.0));
        out
    }

    fn permutations(n: usize) -> Vec<Vec<usize>> {
        if n == 0 {
            return vec![Vec::new()];
        }
        let mut out = Vec::new();
        for p in permutations(n - 1) {
            for i in 0..=p.len() {
                let mut q = p.clone();
                q.insert(i, n - 1);
                out.push(q);
            }
        }
        out
    }

    #[test]
    fn a_digest_relates_to_its_stories_without_merging_them_in_every_order() {
        let docs = world();
        let first = run(&docs.iter().collect::<Vec<_>>());
        let rel = |c: &[&str], w: &[&str]| Relations {
            contains: c.iter().map(|s| (*s).to_owned()).collect(),
            contained_in: w.iter().map(|s| (*s).to_owned()).collect(),
        };
        let expected = vec![
            ("a".to_owned(), "a".to_owned(), rel(&[], &["d"])),
            ("b".to_owned(), "b".to_owned(), rel(&[], &["d"])),
            ("d".to_owned(), "d".to_owned(), rel(&["a", "b", "e"], &[])),
            ("e".to_owned(), "a".to_owned(), rel(&[], &["d"])),
        ];
        assert_eq!(first, expected);
        for p in permutations(docs.len()) {
            let order: Vec<&NearDoc> = p.iter().map(|&i| &docs[i]).collect();
            assert_eq!(run(&order), expected, "order {p:?}");
        }
    }

    #[test]
    fn a_story_making_most_of_a_digest_is_related_not_merged() {
        // The long story is 73 % of the digest: their pair passes on Jaccard, yet it is a part.
        let (a, b) = (words("alpha", 140), words("beta", 50));
        let docs = [
            doc("a", 0, &a),
            doc("b", 1, &b),
            doc("d", 2, &format!("{a} {b}")),
        ];
        let s = similarity(&docs[0].shingles, &docs[2].shingles);
        assert!(s.jaccard >= 0.5, "{s:?}");
        for p in permutations(docs.len()) {
            let order: Vec<&NearDoc> = p.iter().map(|&i| &docs[i]).collect();
            let got = run(&order);
            let clusters: Vec<&str> = got.iter().map(|x| x.1.as_str()).collect();
            assert_eq!(clusters, ["a", "b", "d"], "order {p:?}");
            assert_eq!(got[2].2.contains, ["a", "b"], "order {p:?}");
        }
    }

    /// An original `o`, its first four paragraphs `t`, and `o` less its long second paragraph
    /// `d`: both cuts are parts of `o` and do not link to each other, yet they overlap in
    /// what both kept, so `o` is their original, not a digest of two stories.
    #[test]
    fn an_original_with_two_cuts_that_do_not_link_is_not_a_digest() {
        let paras = [
            words("p", 30),
            words("q", 60),
            words("r", 30),
            words("s", 30),
            words("u", 30),
            words("v", 30),
        ];
        let full = paras.join(" ");
        let first = paras[..4].join(" ");
        let less = format!("{} {}", paras[0], paras[2..].join(" "));
        let docs = [doc("o", 0, &full), doc("t", 1, &first), doc("d", 2, &less)];
        let cut = similarity(&docs[1].shingles, &docs[2].shingles);
        let th = Thresholds::DEFAULT;
        assert!(
            th.reason(&cut, None).is_none(),
            "the cuts do not link: {cut:?}"
        );
        for c in [&docs[1], &docs[2]] {
            let s = similarity(&docs[0].shingles, &c.shingles);
            assert!(is_part(docs[0].info.shingles, &s), "a cut is a part: {s:?}");
        }
        for p in permutations(docs.len()) {
            let order: Vec<&NearDoc> = p.iter().map(|&i| &docs[i]).collect();
            let got = run(&order);
            let clusters: Vec<&str> = got.iter().map(|x| x.1.as_str()).collect();
            assert_eq!(clusters, ["o", "o", "o"], "order {p:?}");
            assert!(
                got.iter().all(|x| x.2 == Relations::default()),
                "order {p:?}"
            );
        }
    }

    #[test]
    fn a_digest_found_late_splits_the_cluster_it_had_joined() {
        let docs = world();
        let (mut store, mut texts) = (MemStore::default(), MemTexts::default());
        let th = Thresholds::DEFAULT;
        for d in [&docs[0], &docs[2]] {
            add(&mut store, &mut texts, d, &th).unwrap();
            texts.insert(d.info.id(), d.shingles.clone());
        }
        // With one story known, the long text is just a longer version of it.
        assert_eq!(store.cluster_of("d"), Some("a"));
        let plan = add(&mut store, &mut texts, &docs[1], &th).unwrap();
        assert_eq!(store.cluster_of("d"), Some("d"));
        assert_eq!(store.cluster_of("a"), Some("a"));
        assert_eq!(plan.moves, vec![("d".to_owned(), "d".to_owned())]);
        let d_link = &plan.links.iter().find(|(id, _)| id == "d").unwrap().1;
        assert_eq!(d_link.cluster_id.as_deref(), Some("d"));
        assert_eq!(d_link.contains, ["a", "b"]);
        let a_link = &plan.links.iter().find(|(id, _)| id == "a").unwrap().1;
        assert_eq!(a_link.contained_in, ["d"]);
        assert_eq!(plan.links[0].1.contained_in, ["d"]);
    }

    /// A text `o` and its first and last 70 words `t`, `u` (no word in common). Published after
    /// `o`, the two are excerpts of it and join its cluster; published before it, `o` rounds
    /// them up: a digest of two stories. In every arrival order.
    #[test]
    fn two_excerpts_published_after_their_original_do_not_make_it_a_digest() {
        let text = words("w", 180);
        let all: Vec<&str> = text.split(' ').collect();
        let (first, last) = (all[..70].join(" "), all[110..].join(" "));
        let cut = similarity(&doc("t", 0, &first).shingles, &doc("u", 0, &last).shingles);
        assert_eq!(cut.shared, 0, "the excerpts share nothing: {cut:?}");
        for (o_hour, digest) in [(0, false), (5, true)] {
            let docs = [
                doc("o", o_hour, &text),
                doc("t", 1, &first),
                doc("u", 2, &last),
            ];
            for p in permutations(docs.len()) {
                let order: Vec<&NearDoc> = p.iter().map(|&i| &docs[i]).collect();
                let got = run(&order);
                let clusters: Vec<&str> = got.iter().map(|x| x.1.as_str()).collect();
                let contains: Vec<&str> = got[0].2.contains.iter().map(String::as_str).collect();
                if digest {
                    assert_eq!(clusters, ["o", "t", "u"], "order {p:?}");
                    assert_eq!(contains, ["t", "u"], "order {p:?}");
                } else {
                    assert_eq!(clusters, ["o", "o", "o"], "order {p:?}");
                    assert!(contains.is_empty(), "order {p:?}");
                }
            }
        }
    }
}
