//! Choosing the article container: readability-style candidate scoring over the arena.
//!
//! Every element holding a paragraph's worth of its own text credits its ancestors (full score
//! to the nearest, decaying further up); the best-scoring container after a link-density
//! penalty wins, is widened to a common ancestor when several strong candidates share one or
//! when an ancestor adds a lot of low-link prose (articles split into sections around figures
//! and ads), and then takes in siblings that look like more of the same article. This module
//! only picks arena indices; cleaning and text emission happen elsewhere.

use super::dom::{F_ARTICLE_BODY, F_KEEP, MIN_PARAGRAPH_CHARS, Node, Tag};

/// How many ancestors a paragraph credits.
const ANCESTOR_LEVELS: usize = 5;
/// How many runner-up candidates are checked for a shared ancestor.
const RUNNER_UPS: usize = 5;
/// Runner-ups scoring at least this share of the best one count as "strong".
const STRONG_SHARE: f32 = 0.75;

/// A subheading between article parts is at most this long (characters).
const MAX_SUBHEADING_CHARS: u32 = 200;

/// How many ancestors `widen_to_prose` looks at.
const WIDEN_LEVELS: usize = 8;
/// Extra prose an ancestor must add, as a share of the candidate's prose and in characters.
const WIDEN_MIN_GAIN: f32 = 0.2;
const WIDEN_MIN_CHARS: f32 = 300.0;
/// Share of the ancestor's extra text that must be prose.
const WIDEN_MIN_PROSE_SHARE: f32 = 0.6;
/// Link density the ancestor's extra text must stay under.
const WIDEN_MAX_LINK_DENSITY: f32 = 0.1;

/// Starting score of a candidate container, before any paragraph credits it.
fn base_score(n: &Node<'_>, use_weights: bool) -> f32 {
    let tag = match n.tag {
        Tag::Div | Tag::Article | Tag::Section | Tag::Body => 5.0,
        Tag::Pre | Tag::Cell | Tag::Quote => 3.0,
        Tag::List | Tag::Item | Tag::Form | Tag::Block => -3.0,
        Tag::H(_) => -5.0,
        _ => 0.0,
    };
    let weight = if use_weights {
        f32::from(n.weight)
    } else {
        0.0
    };
    tag + weight
}

/// Whether the element's own text is scored as a paragraph.
fn is_paragraph(n: &Node<'_>) -> bool {
    n.own_chars >= MIN_PARAGRAPH_CHARS
        && matches!(
            n.tag,
            Tag::P
                | Tag::Pre
                | Tag::Cell
                | Tag::Div
                | Tag::Section
                | Tag::Article
                | Tag::Block
                | Tag::Quote
                | Tag::H(2..=6)
        )
}

/// Credits every paragraph's ancestors and applies the link-density penalty.
pub(super) fn score(nodes: &mut [Node<'_>], use_weights: bool) {
    for i in 1..nodes.len() {
        if !is_paragraph(&nodes[i]) {
            continue;
        }
        let n = &nodes[i];
        let own_density = n.own_link_chars as f32 / n.own_chars.max(1) as f32;
        let content = (1.0 + n.own_commas as f32 + (n.own_chars as f32 / 100.0).min(3.0))
            * (1.0 - own_density);
        // A container with its own text between blocks behaves as if that text were wrapped
        // in paragraphs of its own, so it is the first level credited.
        let mut at = if n.has_block_child && n.tag != Tag::P {
            i as u32
        } else {
            n.parent
        };
        for level in 0..ANCESTOR_LEVELS {
            let Some(anc) = nodes.get_mut(at as usize) else {
                break;
            };
            let divider = match level {
                0 => 1.0,
                1 => 2.0,
                _ => level as f32 * 3.0,
            };
            let base = base_score(anc, use_weights);
            *anc.score.get_or_insert(base) += content / divider;
            at = anc.parent;
        }
    }
    for n in nodes.iter_mut() {
        let keep = 1.0 - n.link_density();
        if let Some(s) = n.score.as_mut() {
            *s *= keep;
        }
    }
}

/// Whether `anc` is `node` or one of its ancestors (pre-order ranges make this O(1)).
pub(super) fn contains(nodes: &[Node<'_>], anc: u32, node: u32) -> bool {
    anc <= node && node < nodes[anc as usize].end
}

/// The best container, widened as readability does; index 0 (everything) when nothing scored.
/// The best-scoring container itself and its ancestors up to the widened root are flagged
/// [`F_KEEP`], so that cleaning inside the root keeps what won.
pub(super) fn top_candidate(nodes: &mut [Node<'_>]) -> u32 {
    let (best, top) = widened_candidate(nodes);
    let mut at = best;
    let mut kept: Vec<(Tag, usize)> = Vec::new();
    while at != u32::MAX && at != top && contains(nodes, top, at) {
        let n = &mut nodes[at as usize];
        n.flags |= F_KEEP;
        if n.weight < 0 && !n.class.is_empty() {
            kept.push((n.tag, at as usize));
        }
        at = n.parent;
    }
    keep_repeated_parts(nodes, top, &kept);
    top
}

/// Elements in and beside the root that repeat a kept element's tag and boilerplate-sounding class
/// (an article cut into several `sidebar-grid__content` sections around ads) are parts of
/// the same article: they are spared cleaning by name like the part that won.
fn keep_repeated_parts(nodes: &mut [Node<'_>], top: u32, kept: &[(Tag, usize)]) {
    if kept.is_empty() {
        return;
    }
    let sigs: Vec<(Tag, &str)> = kept.iter().map(|&(tag, i)| (tag, nodes[i].class)).collect();
    // The root's siblings too: `with_siblings` may add them as more roots.
    let scope = match nodes[top as usize].parent {
        u32::MAX => top,
        p => p,
    };
    let range = scope as usize..nodes[scope as usize].end as usize;
    let mut marks = Vec::new();
    for i in range {
        let n = &nodes[i];
        if n.weight < 0 && n.flags & F_KEEP == 0 && sigs.contains(&(n.tag, n.class)) {
            marks.push(i);
        }
    }
    for i in marks {
        nodes[i].flags |= F_KEEP;
    }
}

/// The best-scoring container and the root it is widened to.
fn widened_candidate(nodes: &[Node<'_>]) -> (u32, u32) {
    let mut ranked: Vec<(f32, u32)> = nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n.score.map(|s| (s, i as u32)))
        .filter(|&(_, i)| i != 0)
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let Some(&(top_score, mut top)) = ranked.first() else {
        return (0, 0);
    };
    let best = top;
    // Several strong candidates under one ancestor mean the article is split into parts.
    let strong: Vec<u32> = ranked
        .iter()
        .skip(1)
        .take(RUNNER_UPS)
        .filter(|&&(s, _)| s >= top_score * STRONG_SHARE)
        .map(|&(_, i)| i)
        .collect();
    if strong.len() >= 3 {
        let mut anc = nodes[top as usize].parent;
        while anc != 0 && anc != u32::MAX {
            let shared = strong.iter().filter(|&&c| contains(nodes, anc, c)).count();
            if shared >= 3 {
                top = anc;
                break;
            }
            anc = nodes[anc as usize].parent;
        }
    }
    top = climb_scores(nodes, top);
    top = widen_to_prose(nodes, top);
    (best, climb_only_children(nodes, top))
}

/// Moves up while the parent scores higher than the candidate (its text is spread wider).
fn climb_scores(nodes: &[Node<'_>], mut top: u32) -> u32 {
    let mut last = nodes[top as usize].score.unwrap_or(0.0);
    let threshold = last / 3.0;
    let mut parent = nodes[top as usize].parent;
    while parent != 0 && parent != u32::MAX {
        let p = &nodes[parent as usize];
        if let Some(ps) = p.score {
            if ps < threshold {
                break;
            }
            if ps > last {
                top = parent;
                break;
            }
            last = ps;
        }
        parent = p.parent;
    }
    top
}

/// Moves up to an ancestor that holds clearly more prose, when its extra text is prose too:
/// articles split into several sections (around pull quotes, figures or ads) score each
/// section separately and would otherwise lose all but the best one.
fn widen_to_prose(nodes: &[Node<'_>], mut top: u32) -> u32 {
    let mut anc = nodes[top as usize].parent;
    for _ in 0..WIDEN_LEVELS {
        if anc == 0 || anc == u32::MAX {
            break;
        }
        let (t, a) = (&nodes[top as usize], &nodes[anc as usize]);
        let gain = a.para_chars.saturating_sub(t.para_chars);
        let extra = a.chars.saturating_sub(t.chars).max(1);
        let extra_links = a.link_chars.saturating_sub(t.link_chars);
        // Teaser lists ("Most popular") are prose-like too, but every teaser links its
        // headline; the article's own continuation has few links.
        if gain as f32 >= (t.para_chars as f32 * WIDEN_MIN_GAIN).max(WIDEN_MIN_CHARS)
            && gain as f32 / extra as f32 >= WIDEN_MIN_PROSE_SHARE
            && (extra_links as f32 / extra as f32) < WIDEN_MAX_LINK_DENSITY
        {
            top = anc;
        }
        anc = a.parent;
    }
    top
}

/// Wrapper elements with a single child add nothing; take the outermost one so that
/// sibling merging looks at real siblings.
fn climb_only_children(nodes: &[Node<'_>], mut top: u32) -> u32 {
    loop {
        let parent = nodes[top as usize].parent;
        if parent == 0 || parent == u32::MAX || element_children(nodes, parent).count() != 1 {
            return top;
        }
        top = parent;
    }
}

/// Element children of `i` (text nodes skipped).
pub(super) fn element_children<'n>(
    nodes: &'n [Node<'_>],
    i: u32,
) -> impl Iterator<Item = u32> + 'n {
    let end = nodes[i as usize].end;
    let mut at = i + 1;
    std::iter::from_fn(move || {
        while at < end {
            let cur = at;
            at = nodes[cur as usize].end;
            if nodes[cur as usize].tag != Tag::Text {
                return Some(cur);
            }
        }
        None
    })
}

/// The top candidate plus the siblings that read like more of the article, in order.
pub(super) fn with_siblings(nodes: &[Node<'_>], top: u32) -> Vec<u32> {
    let parent = nodes[top as usize].parent;
    if top == 0 || parent == u32::MAX {
        return vec![top];
    }
    let top_score = nodes[top as usize].score.unwrap_or(0.0);
    let threshold = (top_score * 0.2).max(10.0);
    let children: Vec<u32> = element_children(nodes, parent).collect();
    let belongs: Vec<bool> = children
        .iter()
        .map(|&s| s == top || sibling_belongs(nodes, s, threshold))
        .collect();
    children
        .iter()
        .enumerate()
        .filter(|&(i, &s)| belongs[i] || is_subheading_between(nodes, s, &belongs, i))
        .map(|(_, &s)| s)
        .collect()
}

/// A short, unlinked `h2`–`h6` between two parts of the article is one of its subheadings
/// (articles split into sections put the heading between the sections' containers).
fn is_subheading_between(nodes: &[Node<'_>], s: u32, belongs: &[bool], i: usize) -> bool {
    let n = &nodes[s as usize];
    matches!(n.tag, Tag::H(2..=6))
        && n.chars > 0
        && n.chars <= MAX_SUBHEADING_CHARS
        && n.link_density() < 0.5
        && belongs.get(..i).is_some_and(|b| b.contains(&true))
        && belongs.get(i + 1..).is_some_and(|b| b.contains(&true))
}

fn sibling_belongs(nodes: &[Node<'_>], s: u32, threshold: f32) -> bool {
    let n = &nodes[s as usize];
    if n.flags & F_ARTICLE_BODY != 0 {
        return true;
    }
    if n.score.is_some_and(|sc| sc >= threshold) {
        return true;
    }
    if n.tag != Tag::P {
        return false;
    }
    let density = n.link_density();
    (n.chars > 80 && density < 0.25) || (n.chars > 0 && n.chars <= 80 && n.link_chars == 0)
}
