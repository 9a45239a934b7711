//! Linking a new record into near-duplicate clusters: candidates from the band index, a screen
//! on their shared band keys and sizes (`super::screen`), exact verification on shingle sets,
//! then cluster merge and the choice of the canonical record. Pure and sync: storage and text
//! access come in through the [`NearStore`] and [`ShingleSource`] traits, so the same code runs
//! on SQLite in the pipeline and on [`super::MemStore`] in tests and benchmarks.
//!
//! # Clusters
//! Records are linked when their exact similarity passes [`Thresholds::reason`] (Jaccard or
//! containment, facts that agree, stronger evidence across the date window); a cluster is a
//! connected component of links, except the containment links of a digest, which relate it to
//! the stories it quotes without merging them (`super::digest`). Every pair is examined when the later of the two is added,
//! LSH collisions and verification are symmetric, and the canonical record is the minimum of a
//! total order ([`Rank`]), so the clusters do not depend on the order records arrive in (up to
//! the [`MAX_VERIFY`] cap, never reached by real agency copy).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::model::{LinkReason, NearLink};

use super::digest::{self, Edge, Outcome};
use super::keys::{self, Keys};
use super::rank::{NearDoc, Rank};
use super::regroup;
pub use super::screen::{Hit, SCREEN_RISK};
use super::shingle::{ShingleSet, Similarity, similarity};
pub use super::thresholds::Thresholds;

mod store;
pub use store::{Lookup, NearStore, Plan, Relations, ShingleSource};

/// At most this many screened candidates are verified per new record (most shared minima first).
pub const MAX_VERIFY: usize = 256;

/// How far apart two records were published (`None` when either date is unknown).
pub fn date_gap(a: &Rank, b: &Rank) -> Option<Duration> {
    let (a, b) = (a.published_us?, b.published_us?);
    Some(Duration::from_micros(a.abs_diff(b)))
}

/// The link of a cluster's canonical record.
pub fn head_link(id: &str) -> NearLink {
    NearLink {
        cluster_id: Some(id.to_owned()),
        ..NearLink::default()
    }
}

/// The link of a member to `head`: its similarity to `head`, and why it is in the cluster (the
/// reason of its own link to `head` when it has one, else [`LinkReason::Transitive`]).
fn member_link(
    head: &Rank,
    sim: Option<Similarity>,
    gap: Option<Duration>,
    th: &Thresholds,
) -> NearLink {
    let round = |x: f64| (x * 10_000.0).round() / 10_000.0;
    let reason = sim.and_then(|s| th.reason(&s, gap));
    NearLink {
        cluster_id: Some(head.id.clone()),
        near_duplicate_of: Some(head.id.clone()),
        similarity: sim.map(|s| round(s.jaccard)),
        containment: sim.map(|s| round(s.containment)),
        link_reason: Some(reason.unwrap_or(LinkReason::Transitive)),
        ..NearLink::default()
    }
}

/// Reads ahead, where the store can ([`NearStore::warm`]), what adding `docs` will look up:
/// call it before adding a batch of records one after another, so that on a disk that has
/// not cached the index the batch waits for its random reads side by side rather than one at
/// a time. It changes no add's result.
pub fn warm<S: NearStore>(store: &mut S, docs: &[NearDoc], th: &Thresholds) {
    let keys: Vec<Keys> = (docs.iter())
        .map(|d| {
            Keys::of(
                &d.bands,
                d.info.rank.published_us,
                keys::bucket_width_us(th.date_window),
            )
        })
        .collect();
    let mut lookups: Vec<Lookup<'_>> = (docs.iter().zip(&keys))
        .flat_map(|(d, k)| keys::lookups(d, k, th))
        .collect();
    store.warm(docs.len(), &mut lookups);
}

/// Adds `doc` to the index: plans its links and applies the plan. Errors are the text
/// source's type, which storage errors convert into.
///
/// # Errors
/// Storage or read failures; the index is unchanged then.
pub fn add<S, T>(
    store: &mut S,
    source: &mut T,
    doc: &NearDoc,
    th: &Thresholds,
) -> Result<Plan, T::Error>
where
    S: NearStore,
    T: ShingleSource,
    T::Error: From<S::Error>,
{
    let plan = plan(store, source, doc, th)?;
    store.apply(&plan)?;
    Ok(plan)
}

/// Computes what adding `doc` changes, without changing anything.
///
/// # Errors
/// Storage or read failures.
pub fn plan<S, T>(
    store: &mut S,
    source: &mut T,
    doc: &NearDoc,
    th: &Thresholds,
) -> Result<Plan, T::Error>
where
    S: NearStore,
    T: ShingleSource,
    T::Error: From<S::Error>,
{
    let edges = verify(store, source, doc, th)?;
    let out = digest::relate(store, source, doc, &edges, th)?;
    let grouped = regroup::regroup(store, source, doc, &out, th)?;
    let head = grouped
        .head
        .clone()
        .unwrap_or_else(|| doc.info.rank.clone());
    let links = links(store, source, doc, &edges, &out, &grouped, th)?;
    let width = keys::bucket_width_us(th.date_window);
    let filed = if doc.bands.is_empty() {
        Vec::new()
    } else {
        Keys::of(&doc.bands, doc.info.rank.published_us, width).filed
    };
    Ok(Plan {
        insert: doc.info.clone(),
        bands: filed,
        cluster: head.id,
        relabel: grouped.relabel,
        moves: grouped.moves,
        relate: out.relate,
        links,
    })
}

/// A record's relations: the stored ones plus those `relate` adds, sorted.
fn relations_with(mut rel: Relations, id: &str, relate: &[(String, String)]) -> Relations {
    for (d, s) in relate {
        if d == id {
            rel.contains.push(s.clone());
        }
        if s == id {
            rel.contained_in.push(d.clone());
        }
    }
    for list in [&mut rel.contains, &mut rel.contained_in] {
        list.sort();
        list.dedup();
    }
    rel
}

/// The shingles of record `id`: the new record's own, or a stored one's from `source`.
fn set_of<T: ShingleSource>(
    source: &mut T,
    doc: &NearDoc,
    id: &str,
) -> Result<Option<Arc<ShingleSet>>, T::Error> {
    if id == doc.info.id() {
        Ok(Some(doc.shingles.clone()))
    } else {
        source.shingles(id)
    }
}

/// The link of a record to its canonical record `head`, with its relations (`doc`: the record
/// being added, whose shingles the source does not have yet).
fn full_link<T: ShingleSource>(
    source: &mut T,
    doc: &NearDoc,
    own: (&Rank, Option<Arc<ShingleSet>>),
    head: &Rank,
    rel: Relations,
    th: &Thresholds,
) -> Result<NearLink, T::Error> {
    let mut link = if head.id == own.0.id {
        head_link(&head.id)
    } else {
        let head_set = set_of(source, doc, &head.id)?;
        let sim = own.1.zip(head_set).map(|(a, b)| similarity(&a, &b));
        member_link(head, sim, date_gap(own.0, head), th)
    };
    (link.contains, link.contained_in) = (rel.contains, rel.contained_in);
    Ok(link)
}

/// The links a plan writes: the new record's, then (by id) every stored record whose canonical
/// record or relations change.
fn links<S, T>(
    store: &mut S,
    source: &mut T,
    doc: &NearDoc,
    edges: &[Edge],
    out: &Outcome,
    g: &regroup::Grouped,
    th: &Thresholds,
) -> Result<Vec<(String, NearLink)>, T::Error>
where
    S: NearStore,
    T: ShingleSource,
    T::Error: From<S::Error>,
{
    let id = doc.info.id();
    let head = g.head.clone().unwrap_or_else(|| doc.info.rank.clone());
    let rel = relations_with(Relations::default(), id, &out.relate);
    let mut first = match edges.iter().find(|(c, _, _)| c.info.id() == head.id) {
        Some((_, s, _)) if head.id != id => {
            member_link(&head, Some(*s), date_gap(&doc.info.rank, &head), th)
        }
        _ => {
            let own = (&doc.info.rank, Some(doc.shingles.clone()));
            full_link(source, doc, own, &head, Relations::default(), th)?
        }
    };
    (first.contains, first.contained_in) = (rel.contains, rel.contained_in);
    let mut touched: BTreeMap<String, (Rank, Rank)> = g
        .moved
        .iter()
        .map(|(m, h)| (m.info.id().to_owned(), (m.info.rank.clone(), h.clone())))
        .collect();
    for (d, s) in &out.relate {
        for x in [d, s] {
            if x == id || touched.contains_key(x) {
                continue;
            }
            let Some(rec) = store.find(x)? else { continue };
            let head = match store.find(&rec.cluster)? {
                Some(h) => h.info.rank,
                None => rec.info.rank.clone(),
            };
            touched.insert(x.clone(), (rec.info.rank, head));
        }
    }
    let mut links = vec![(id.to_owned(), first)];
    for (x, (rank, head)) in touched {
        let rel = relations_with(store.relations(&x)?, &x, &out.relate);
        let own = source.shingles(&x)?;
        links.push((x, full_link(source, doc, (&rank, own), &head, rel, th)?));
    }
    Ok(links)
}

/// Candidates from the bands, screened, verified exactly; the linked ones with their similarity
/// and why they link.
pub(crate) fn verify<S, T>(
    store: &mut S,
    source: &mut T,
    doc: &NearDoc,
    th: &Thresholds,
) -> Result<Vec<Edge>, T::Error>
where
    S: NearStore,
    T: ShingleSource,
    T::Error: From<S::Error>,
{
    if doc.bands.is_empty() {
        return Ok(Vec::new());
    }
    let mut cands = keys::candidates(store, doc, th)?;
    cands.retain(|(c, _)| c.info.id() != doc.info.id());
    // Most shared minima first, so a cap never drops a close copy for chance candidates.
    cands.sort_by(|(a, ha), (b, hb)| {
        (hb.matches.cmp(&ha.matches)).then_with(|| a.info.id().cmp(b.info.id()))
    });
    cands.dedup_by(|(a, _), (b, _)| a.info.id() == b.info.id());
    cands.truncate(MAX_VERIFY);
    let mut linked = Vec::new();
    for (c, _) in cands {
        let gap = date_gap(&doc.info.rank, &c.info.rank);
        // Across the window one conflicting fact refuses the pair: when the tags prove one,
        // the text need not be read (daily notes of a template find each other there).
        if th.is_far(gap) && doc.info.facts.conflicts(&c.info.facts) {
            continue;
        }
        let Some(theirs) = source.shingles(c.info.id())? else {
            continue;
        };
        let sim = similarity(&doc.shingles, &theirs);
        if let Some(reason) = th.reason(&sim, gap) {
            linked.push((c, sim, reason));
        }
    }
    Ok(linked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::FactTag;
    use crate::dedup::memstore::{MemStore, MemTexts};

    const DAY_US: i64 = 86_400_000_000;

    fn doc(id: &str, day: i64, text: &str) -> NearDoc {
        let rank = Rank {
            published_us: Some(day * DAY_US),
            republished: false,
            source_id: "s".into(),
            url_len: 10,
            id: id.into(),
        };
        NearDoc::new(rank, text)
    }

    /// Links `b` after `a`; the new record's link.
    fn link_pair(a: &NearDoc, b: &NearDoc) -> NearLink {
        let (mut store, mut texts, th) = (
            MemStore::default(),
            MemTexts::default(),
            Thresholds::DEFAULT,
        );
        add(&mut store, &mut texts, a, &th).unwrap();
        texts.insert(a.info.id(), a.shingles.clone());
        let plan = add(&mut store, &mut texts, b, &th).unwrap();
        plan.links[0].1.clone()
    }

    fn note(day: u32, usd: &str, eur: &str, cny: &str) -> String {
        format!(
            "The National Bank has set the official exchange rates for {day} May. The US dollar \
             is worth {usd} rubles against the previous trading day. The euro is set at {eur} \
             rubles and ten Chinese yuan cost {cny} rubles. Commercial banks set their own \
             buying and selling rates for cash, which may differ from the official ones \
             depending on demand in the regions and on the time of day."
        )
    }

    #[test]
    fn template_notes_of_other_days_differ_in_facts_and_stay_apart() {
        let a = doc("a", 0, &note(12, "3.2456", "3.5012", "4.4411"));
        let b = doc("b", 1, &note(13, "3.2511", "3.4987", "4.4502"));
        let s = similarity(&a.shingles, &b.shingles);
        assert!(s.jaccard >= 0.5, "the template alone passes Jaccard: {s:?}");
        assert!(s.facts_differing * 3 > s.facts_smaller, "{s:?}");
        assert_eq!(link_pair(&a, &b).near_duplicate_of, None);
        // The same day's note republished with a credit line is a copy.
        let copy = doc(
            "c",
            0,
            &(note(12, "3.2456", "3.5012", "4.4411") + " (c) Agency."),
        );
        let l = link_pair(&a, &copy);
        assert_eq!(l.near_duplicate_of.as_deref(), Some("a"));
        assert_eq!(l.link_reason, Some(LinkReason::Jaccard));
    }

    /// A source that counts the texts it is asked for.
    struct Counting(MemTexts, usize);

    impl ShingleSource for Counting {
        type Error = std::convert::Infallible;
        fn shingles(&mut self, id: &str) -> Result<Option<Arc<ShingleSet>>, Self::Error> {
            self.1 += 1;
            self.0.shingles(id)
        }
    }

    /// Ten days apart, a note whose fact tag conflicts with an earlier one of its template is
    /// refused without its text being read; the same pair with no tag is read and refused on
    /// its facts.
    #[test]
    fn a_far_note_whose_tag_conflicts_is_refused_unread() {
        let fixed: Vec<String> = (0..200).map(|i| format!("w{i}")).collect();
        let text = |rate: &str| {
            format!(
                "{} the rate is {rate} today {}",
                fixed[..100].join(" "),
                fixed[100..].join(" ")
            )
        };
        let th = Thresholds::DEFAULT;
        let (a, b) = (doc("a", 0, &text("3.2456")), doc("b", 10, &text("3.3012")));
        let s = similarity(&a.shingles, &b.shingles);
        assert!(
            s.jaccard >= th.far_jaccard && s.facts_differing > 0,
            "{s:?}"
        );
        assert!(a.info.facts.conflicts(&b.info.facts));
        let mut store = MemStore::default();
        let mut texts = Counting(MemTexts::default(), 0);
        add(&mut store, &mut texts, &a, &th).unwrap();
        texts.0.insert(a.info.id(), a.shingles.clone());
        texts.1 = 0;
        assert!(verify(&mut store, &mut texts, &b, &th).unwrap().is_empty());
        assert_eq!(texts.1, 0, "the tag refused it");
        let mut untagged = b.clone();
        untagged.info.facts = FactTag::default();
        assert!(
            verify(&mut store, &mut texts, &untagged, &th)
                .unwrap()
                .is_empty()
        );
        assert_eq!(texts.1, 1, "without a tag the candidate is read");
        // The same day's copy is read and linked.
        let copy = doc("c", 0, &text("3.2456"));
        assert_eq!(verify(&mut store, &mut texts, &copy, &th).unwrap().len(), 1);
    }

    #[test]
    fn far_apart_dates_need_stronger_evidence() {
        let words: Vec<String> = (0..120).map(|i| format!("w{i}")).collect();
        let full = words.join(" ");
        let edited = format!(
            "{} x1 x2 x3 {} y1 y2 {}",
            words[..40].join(" "),
            words[40..70].join(" "),
            words[70..100].join(" ")
        );
        // Near in time: linked by containment-or-Jaccard; 10 days apart: not enough.
        assert!(
            link_pair(&doc("a", 0, &full), &doc("b", 1, &edited))
                .near_duplicate_of
                .is_some()
        );
        assert_eq!(
            link_pair(&doc("a", 0, &full), &doc("b", 10, &edited)).near_duplicate_of,
            None
        );
        // An exact-enough copy links across the window.
        let copy = format!("{full} source");
        let l = link_pair(&doc("a", 0, &full), &doc("b", 10, &copy));
        assert_eq!(l.near_duplicate_of.as_deref(), Some("a"));
    }

    #[test]
    fn a_digest_links_by_containment() {
        let story: Vec<String> = (0..80).map(|i| format!("s{i}")).collect();
        let other: Vec<String> = (0..200).map(|i| format!("o{i}")).collect();
        let digest = format!("{} {}", other.join(" "), story.join(" "));
        let l = link_pair(&doc("a", 0, &story.join(" ")), &doc("b", 0, &digest));
        assert_eq!(l.near_duplicate_of.as_deref(), Some("a"));
        assert_eq!(l.link_reason, Some(LinkReason::Containment));
    }
}
