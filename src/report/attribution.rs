//! The attribution matrix: which publishing source credits which agency or channel, and how
//! (based on, dateline, cited, photo). A cell counts *records*: a text that credits BelTA twice
//! in its body counts once for (publisher, BelTA, cited). The `publisher` kind is left out (it
//! is the page's own source, known from the config).
//!
//! Credits that resolve to a configured source (through its `aliases`) are keyed by that
//! source; the rest (Telegram channels, foreign agencies no source configures) are kept by the
//! name as written and listed separately.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::aggregate::Sources;
use super::row::ReportRow;
use crate::model::{AttributionKind, SourceId};

/// The kinds the matrix is split by, in the order the report shows them.
pub const KINDS: [AttributionKind; 4] = [
    AttributionKind::BasedOn,
    AttributionKind::Dateline,
    AttributionKind::Cited,
    AttributionKind::Photo,
];

/// How many unresolved (name, kind) rows the report lists, most credited first.
pub const MAX_UNRESOLVED: usize = 500;

/// Who is credited: a configured source (by number) or a name no source claims (by number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Credited {
    Source(u16),
    Name(u32),
}

/// Counts credits per (publisher, credited, kind), one record at a time.
#[derive(Debug, Default)]
pub struct CreditMatrix {
    cells: HashMap<(u16, Credited, AttributionKind), u64>,
    names: Vec<String>,
    name_index: HashMap<String, u32>,
    /// The name a configured credited source was first seen under (its configured name).
    source_names: HashMap<u16, String>,
    /// Scratch: the current record's credits, deduplicated before counting.
    seen: Vec<(Credited, AttributionKind)>,
}

/// One cell of the matrix: records of `publisher` crediting a configured source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// The publishing source.
    pub publisher: SourceId,
    /// The credited configured source.
    pub credited: SourceId,
    /// Its name as credited (the configured source's name).
    pub credited_name: String,
    /// How it is credited.
    pub kind: AttributionKind,
    /// Records of `publisher` crediting it this way.
    pub records: u64,
}

/// A credited name that resolves to no configured source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unresolved {
    /// The name as written.
    pub name: String,
    /// How it is credited.
    pub kind: AttributionKind,
    /// Records crediting it this way, over all publishers.
    pub records: u64,
    /// The same per publishing source.
    pub publishers: BTreeMap<SourceId, u64>,
}

/// The matrix as the report shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Attribution {
    /// Non-empty cells, by publisher, credited source, then kind.
    pub cells: Vec<Cell>,
    /// Names no configured source claims, most credited first (at most [`MAX_UNRESOLVED`]).
    pub unresolved: Vec<Unresolved>,
    /// How many (name, kind) pairs were unresolved in all, listed or not.
    pub unresolved_total: usize,
}

impl CreditMatrix {
    /// Counts the credits of one record published by source number `publisher`.
    pub fn push(&mut self, row: &ReportRow, publisher: u16, sources: &mut Sources) {
        self.seen.clear();
        for c in row
            .attributions
            .iter()
            .filter(|c| c.kind != AttributionKind::Publisher)
        {
            let credited = match &c.source_id {
                Some(id) => {
                    let n = sources.intern(id);
                    self.source_names.entry(n).or_insert_with(|| c.name.clone());
                    Credited::Source(n)
                }
                None => Credited::Name(self.name_number(&c.name)),
            };
            self.seen.push((credited, c.kind));
        }
        self.seen.sort_unstable();
        self.seen.dedup();
        for &(credited, kind) in &self.seen {
            *self.cells.entry((publisher, credited, kind)).or_default() += 1;
        }
    }

    fn name_number(&mut self, name: &str) -> u32 {
        if let Some(&n) = self.name_index.get(name) {
            return n;
        }
        let n = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.to_owned());
        self.name_index.insert(name.to_owned(), n);
        n
    }

    /// The cells and the unresolved names, sorted for display.
    pub fn finish(self, sources: &Sources) -> Attribution {
        let mut cells = Vec::new();
        let mut unresolved: HashMap<(u32, AttributionKind), Unresolved> = HashMap::new();
        for ((publisher, credited, kind), records) in self.cells {
            let publisher = sources.id(publisher).clone();
            match credited {
                Credited::Source(n) => cells.push(Cell {
                    publisher,
                    credited: sources.id(n).clone(),
                    credited_name: self.source_names.get(&n).cloned().unwrap_or_default(),
                    kind,
                    records,
                }),
                Credited::Name(n) => {
                    let u = unresolved.entry((n, kind)).or_insert_with(|| Unresolved {
                        name: self.names[n as usize].clone(),
                        kind,
                        records: 0,
                        publishers: BTreeMap::new(),
                    });
                    u.records += records;
                    *u.publishers.entry(publisher).or_default() += records;
                }
            }
        }
        cells.sort_by(|a, b| {
            (&a.publisher, &a.credited, a.kind).cmp(&(&b.publisher, &b.credited, b.kind))
        });
        let mut unresolved: Vec<Unresolved> = unresolved.into_values().collect();
        let unresolved_total = unresolved.len();
        unresolved.sort_by(|a, b| {
            b.records
                .cmp(&a.records)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.kind.cmp(&b.kind))
        });
        unresolved.truncate(MAX_UNRESOLVED);
        Attribution {
            cells,
            unresolved,
            unresolved_total,
        }
    }
}
