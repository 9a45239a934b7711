//! Cluster membership after one add: the clusters the new record joins are merged, and a
//! cluster holding a record that has just become a digest (`super::digest`) is split into the
//! connected components of its remaining links. Pure and sync.
//!
//! A split recomputes the links among the cluster's members the way the index finds them:
//! band keys from each member's shingles met on the path the index would take
//! ([`keys::pair_matches`]), the screen of that path ([`Thresholds::worth_verifying`] or
//! [`Thresholds::worth_verifying_far`]), then exact verification; a link merges unless it joins a
//! digest to one of its parts. So the result is the one an arrival order without the split
//! would have given.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::digest::{Outcome, contains_first, is_part};
use super::keys::{self, Meet};
use super::link::{Hit, NearStore, ShingleSource, Thresholds, date_gap};
use super::rank::{IndexedDoc, NearDoc, Rank};
use super::shingle::similarity;

/// Where every record touched by one add ends up.
#[derive(Debug, Default)]
pub(crate) struct Grouped {
    /// Canonical record of the new record's cluster.
    pub head: Option<Rank>,
    /// Whole clusters moved: `(old canonical id, new canonical id)`.
    pub relabel: Vec<(String, String)>,
    /// Single records moved: `(id, new canonical id)`.
    pub moves: Vec<(String, String)>,
    /// Every stored record whose canonical record changed, with the new one.
    pub moved: Vec<(IndexedDoc, Rank)>,
}

/// Union-find root of `i`.
fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Component number of each of `members` (one cluster), given which of them are digests.
fn components<T: ShingleSource>(
    members: &[IndexedDoc],
    digest: &[bool],
    source: &mut T,
    th: &Thresholds,
) -> Result<Vec<usize>, T::Error> {
    let width = keys::bucket_width_us(th.date_window);
    let mut sets = Vec::with_capacity(members.len());
    for m in members {
        let set = source.shingles(m.info.id())?.unwrap_or_default();
        let keys = keys::record_keys(&set);
        let bucket = keys::bucket(m.info.rank.published_us, width);
        sets.push((set, keys, bucket));
    }
    let mut parent: Vec<usize> = (0..members.len()).collect();
    for j in 1..members.len() {
        for i in 0..j {
            let (a, b) = (&members[i], &members[j]);
            let (sa, ka, ta) = &sets[i];
            let (sb, kb, tb) = &sets[j];
            if sa.is_empty() || sb.is_empty() {
                continue;
            }
            let Some(meet) = keys::pair_matches((ka, *ta), (kb, *tb)) else {
                continue;
            };
            let hit = Hit {
                matches: meet.matches(),
                shingles: b.info.shingles,
                published_us: b.info.rank.published_us,
            };
            let (sa_len, pa) = (sa.len(), a.info.rank.published_us);
            let worth = match meet {
                Meet::Near(_) => th.worth_verifying(sa_len, pa, hit),
                Meet::Far(_) => th.worth_verifying_far(sa_len, pa, hit),
            };
            if !worth {
                continue;
            }
            let sim = similarity(sa, sb);
            if th
                .reason(&sim, date_gap(&a.info.rank, &b.info.rank))
                .is_none()
            {
                continue;
            }
            let (ai, bi) = (&a.info, &b.info);
            let first = contains_first(ai.shingles, ai.id(), bi.shingles, bi.id());
            let (big, size) = if first {
                (i, ai.shingles)
            } else {
                (j, bi.shingles)
            };
            let merges = !(digest[big] && is_part(size, &sim));
            if merges {
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                parent[ri.max(rj)] = ri.min(rj);
            }
        }
    }
    Ok((0..members.len()).map(|i| root(&mut parent, i)).collect())
}

/// Groups the new record `doc` with the clusters of `out.merge_with`, after splitting the
/// clusters of `out.flipped`.
///
/// # Errors
/// Storage or read failures.
pub(crate) fn regroup<S, T>(
    store: &mut S,
    source: &mut T,
    doc: &NearDoc,
    out: &Outcome,
    th: &Thresholds,
) -> Result<Grouped, T::Error>
where
    S: NearStore,
    T: ShingleSource,
    T::Error: From<S::Error>,
{
    let split: BTreeSet<&str> = out.flipped.iter().map(|x| x.cluster.as_str()).collect();
    let mut labels: BTreeSet<&str> = out.merge_with.iter().map(|c| c.cluster.as_str()).collect();
    labels.extend(split.iter().copied());
    let flipped: BTreeSet<&str> = out.flipped.iter().map(|x| x.info.id()).collect();
    // Every member of every touched cluster, with a component number (global).
    let (mut members, mut comp) = (Vec::new(), Vec::new());
    for label in labels {
        let mut ms = store.members(label)?;
        ms.sort_by(|a, b| a.info.id().cmp(b.info.id()));
        let base = members.len();
        if split.contains(label) {
            let mut digest = Vec::with_capacity(ms.len());
            for m in &ms {
                let id = m.info.id();
                digest.push(flipped.contains(id) || !store.relations(id)?.contains.is_empty());
            }
            let local = components(&ms, &digest, source, th)?;
            comp.extend(local.into_iter().map(|c| base + c));
        } else {
            comp.extend(std::iter::repeat_n(base, ms.len()));
        }
        members.extend(ms);
    }
    let index: HashMap<&str, usize> = members
        .iter()
        .enumerate()
        .map(|(i, m)| (m.info.id(), i))
        .collect();
    let joined: BTreeSet<usize> = out
        .merge_with
        .iter()
        .filter_map(|c| index.get(c.info.id()).map(|&i| comp[i]))
        .collect();
    // The new record's group is `usize::MAX`; every other component is its own group.
    let group = |c: usize| if joined.contains(&c) { usize::MAX } else { c };
    let mut heads: BTreeMap<usize, Rank> = BTreeMap::new();
    heads.insert(usize::MAX, doc.info.rank.clone());
    for (m, &c) in members.iter().zip(&comp) {
        let head = heads.entry(group(c)).or_insert_with(|| m.info.rank.clone());
        if m.info.rank < *head {
            *head = m.info.rank.clone();
        }
    }
    let mut g = Grouped {
        head: heads.get(&usize::MAX).cloned(),
        ..Grouped::default()
    };
    let mut by_label: BTreeMap<&str, Vec<(usize, &Rank)>> = BTreeMap::new();
    for (i, (m, &c)) in members.iter().zip(&comp).enumerate() {
        by_label
            .entry(&m.cluster)
            .or_default()
            .push((i, &heads[&group(c)]));
    }
    for (label, list) in by_label {
        let changed: Vec<&(usize, &Rank)> = list.iter().filter(|(_, h)| h.id != label).collect();
        let whole = changed.len() == list.len() && list.iter().all(|(_, h)| h.id == list[0].1.id);
        if whole {
            g.relabel.push((label.to_owned(), list[0].1.id.clone()));
        } else {
            let each = changed
                .iter()
                .map(|(i, h)| (members[*i].info.id().to_owned(), h.id.clone()));
            g.moves.extend(each);
        }
        for (i, h) in changed {
            g.moved.push((members[*i].clone(), (*h).clone()));
        }
    }
    Ok(g)
}
