//! `manifest.json` and segment names: what the manifest holds, how a segment is named, and how
//! the manifest on disk is compared with the segments actually in the folder.
//!
//! # Names are never reused
//! Segments are `part-NNNNNN.jsonl`. The next name is one above the highest number ever used:
//! the highest of the manifest's `last_segment`, every name the manifest lists and every segment
//! in the folder. So a missing segment (deleted, lost with a disk) never makes a later flush
//! overwrite a segment that still exists, and the manifest never lists a name twice.
//!
//! # Damage
//! Opening a corpus compares the manifest with the folder and names every difference as a
//! [`CorpusDamage`]; the folder is the truth (a segment is written whole before the manifest
//! names it). The writer then rewrites the manifest from the folder; `verify` reports the
//! damage. This module reads only.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// File name of the manifest inside the corpus folder.
pub const MANIFEST: &str = "manifest.json";
const PREFIX: &str = "part-";
const SUFFIX: &str = ".jsonl";

/// One segment in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentInfo {
    /// File name inside the corpus folder.
    pub file: String,
    /// Number of records (lines).
    pub records: usize,
    /// File size in bytes.
    pub bytes: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Record schema version of the segments.
    pub schema_version: u32,
    /// Total records over all segments.
    pub records: usize,
    /// Segments in write order; each name at most once.
    pub segments: Vec<SegmentInfo>,
    /// Highest segment number ever used in this folder (0: none yet). The next segment is
    /// `last_segment + 1`, even when segments were lost. Absent in manifests written before
    /// it existed; then the highest listed or present name counts.
    #[serde(default)]
    pub last_segment: u32,
}

/// A difference between `manifest.json` and the segments in the folder, or a segment that is
/// not what newsmill writes. Each names the file it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CorpusDamage {
    /// The manifest names a segment that is not in the folder: its records are gone.
    #[error("segment {file} is listed in the manifest ({records} records) but missing")]
    MissingSegment {
        /// Segment file name.
        file: String,
        /// Records the manifest says it held.
        records: usize,
    },
    /// The segment's bytes differ from what the manifest recorded (size, SHA-256 or count).
    #[error(
        "segment {file} differs from the manifest: {found_records} records / {found_bytes} bytes / sha256 {found_sha256}, manifest says {records} / {bytes} / {sha256}"
    )]
    ChangedSegment {
        /// Segment file name.
        file: String,
        /// Records per the manifest.
        records: usize,
        /// Bytes per the manifest.
        bytes: u64,
        /// SHA-256 per the manifest.
        sha256: String,
        /// Records found.
        found_records: usize,
        /// Bytes found.
        found_bytes: u64,
        /// SHA-256 found.
        found_sha256: String,
    },
    /// A segment in the folder that the manifest does not list (a crash between the segment
    /// and the manifest write leaves one; the writer adopts it).
    #[error("segment {file} is not listed in the manifest")]
    UnlistedSegment {
        /// Segment file name.
        file: String,
    },
    /// The manifest lists the same segment more than once.
    #[error("the manifest lists segment {file} {times} times")]
    DuplicateListing {
        /// Segment file name.
        file: String,
        /// How often it is listed.
        times: usize,
    },
    /// Segments exist but `manifest.json` does not.
    #[error("{path} is missing")]
    ManifestMissing {
        /// Manifest path.
        path: PathBuf,
    },
    /// `manifest.json` cannot be read or parsed.
    #[error("{path} is unreadable: {reason}")]
    BadManifest {
        /// Manifest path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The manifest's total record count is not the sum of its segments.
    #[error("the manifest says {listed} records in total, its segments hold {sum}")]
    WrongTotal {
        /// The manifest's `records`.
        listed: usize,
        /// Sum over its segments.
        sum: usize,
    },
    /// A line of a segment is not a valid record.
    #[error("segment {file} line {line} is not a valid record: {reason}")]
    BadLine {
        /// Segment file name.
        file: String,
        /// 1-based line number.
        line: usize,
        /// The JSON error.
        reason: String,
    },
    /// Two records carry the same id.
    #[error("record {id} appears in {file} and again in {again}")]
    DuplicateId {
        /// Record id.
        id: String,
        /// First segment holding it.
        file: String,
        /// Segment holding it again.
        again: String,
    },
}

/// The number in a segment file name (`part-000042.jsonl` → 42), `None` for other files.
pub fn segment_number(name: &str) -> Option<u32> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The file name of segment number `n`.
pub fn segment_name(n: u32) -> String {
    format!("{PREFIX}{n:06}{SUFFIX}")
}

/// What reading `manifest.json` gave.
#[derive(Debug, Clone)]
pub enum ManifestRead {
    /// No manifest file.
    Missing,
    /// A parsed manifest.
    Found(Manifest),
    /// A manifest that cannot be read or parsed.
    Bad(String),
}

/// Reads `dir/manifest.json`; never fails (problems come back as [`ManifestRead::Bad`]).
pub fn read_manifest(dir: &Path) -> ManifestRead {
    match fs::read(dir.join(MANIFEST)) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ManifestRead::Missing,
        Err(e) => ManifestRead::Bad(e.to_string()),
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(m) => ManifestRead::Found(m),
            Err(e) => ManifestRead::Bad(e.to_string()),
        },
    }
}

/// Highest segment number named anywhere: the manifest's `last_segment`, its listed names and
/// the names in the folder (`found`).
pub fn highest_used(read: &ManifestRead, found: &[SegmentInfo]) -> u32 {
    let listed = match read {
        ManifestRead::Found(m) => m
            .segments
            .iter()
            .filter_map(|s| segment_number(&s.file))
            .chain([m.last_segment])
            .max()
            .unwrap_or(0),
        _ => 0,
    };
    let present = found.iter().filter_map(|s| segment_number(&s.file)).max();
    listed.max(present.unwrap_or(0))
}

/// Every difference between the manifest as read and the segments `found` in the folder.
pub fn compare(dir: &Path, read: &ManifestRead, found: &[SegmentInfo]) -> Vec<CorpusDamage> {
    let path = dir.join(MANIFEST);
    let m = match read {
        ManifestRead::Missing if found.is_empty() => return Vec::new(),
        ManifestRead::Missing => return vec![CorpusDamage::ManifestMissing { path }],
        ManifestRead::Bad(reason) => {
            return vec![CorpusDamage::BadManifest {
                path,
                reason: reason.clone(),
            }];
        }
        ManifestRead::Found(m) => m,
    };
    let mut damage = Vec::new();
    let mut seen = BTreeSet::new();
    for listed in &m.segments {
        if !seen.insert(listed.file.as_str()) {
            continue;
        }
        let times = m.segments.iter().filter(|s| s.file == listed.file).count();
        if times > 1 {
            damage.push(CorpusDamage::DuplicateListing {
                file: listed.file.clone(),
                times,
            });
        }
        match found.iter().find(|f| f.file == listed.file) {
            None => damage.push(CorpusDamage::MissingSegment {
                file: listed.file.clone(),
                records: listed.records,
            }),
            Some(f) if f != listed => damage.push(changed(listed, f)),
            Some(_) => {}
        }
    }
    for f in found.iter().filter(|f| !seen.contains(f.file.as_str())) {
        damage.push(CorpusDamage::UnlistedSegment {
            file: f.file.clone(),
        });
    }
    let sum = m.segments.iter().map(|s| s.records).sum();
    if m.records != sum {
        damage.push(CorpusDamage::WrongTotal {
            listed: m.records,
            sum,
        });
    }
    damage
}

fn changed(listed: &SegmentInfo, found: &SegmentInfo) -> CorpusDamage {
    CorpusDamage::ChangedSegment {
        file: listed.file.clone(),
        records: listed.records,
        bytes: listed.bytes,
        sha256: listed.sha256.clone(),
        found_records: found.records,
        found_bytes: found.bytes,
        found_sha256: found.sha256.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(n: u32, records: usize) -> SegmentInfo {
        SegmentInfo {
            file: segment_name(n),
            records,
            bytes: records as u64 * 10,
            sha256: format!("{n:064}"),
        }
    }

    fn manifest(segments: Vec<SegmentInfo>, last: u32) -> ManifestRead {
        ManifestRead::Found(Manifest {
            schema_version: 1,
            records: segments.iter().map(|s| s.records).sum(),
            segments,
            last_segment: last,
        })
    }

    #[test]
    fn names_round_trip_and_reject_other_files() {
        assert_eq!(segment_name(7), "part-000007.jsonl");
        assert_eq!(segment_number("part-000007.jsonl"), Some(7));
        assert_eq!(segment_number("part-1234567.jsonl"), Some(1_234_567));
        for other in [
            "part-.jsonl",
            "part-00a1.jsonl",
            "manifest.json",
            "x-000001.jsonl",
        ] {
            assert_eq!(segment_number(other), None, "{other}");
        }
    }

    #[test]
    fn highest_used_remembers_missing_and_deleted_segments() {
        // Segment 3 is listed but gone from the folder: still counts.
        let read = manifest(vec![seg(1, 2), seg(3, 2)], 0);
        assert_eq!(highest_used(&read, &[seg(1, 2)]), 3);
        // The manifest remembers 5 even though it lists none of it any more.
        assert_eq!(highest_used(&manifest(vec![seg(1, 2)], 5), &[seg(1, 2)]), 5);
        // An unreadable manifest: the folder decides.
        let bad = ManifestRead::Bad("eof".into());
        assert_eq!(highest_used(&bad, &[seg(2, 1), seg(4, 1)]), 4);
        assert_eq!(highest_used(&ManifestRead::Missing, &[]), 0);
    }

    #[test]
    fn compare_names_every_difference() {
        let dir = Path::new("/c");
        let mut edited = seg(2, 3);
        edited.sha256 = "f".repeat(64);
        let read = manifest(vec![seg(1, 2), seg(2, 3), seg(2, 3), seg(3, 1)], 3);
        let damage = compare(dir, &read, &[seg(1, 2), edited, seg(4, 5)]);
        let kinds: Vec<String> = damage.iter().map(ToString::to_string).collect();
        assert!(
            matches!(damage[0], CorpusDamage::DuplicateListing { ref file, times: 2 } if file == "part-000002.jsonl"),
            "{kinds:?}"
        );
        assert!(
            matches!(damage[1], CorpusDamage::ChangedSegment { ref file, .. } if file == "part-000002.jsonl"),
            "{kinds:?}"
        );
        assert!(
            matches!(damage[2], CorpusDamage::MissingSegment { ref file, records: 1 } if file == "part-000003.jsonl"),
            "{kinds:?}"
        );
        assert!(
            matches!(damage[3], CorpusDamage::UnlistedSegment { ref file } if file == "part-000004.jsonl"),
            "{kinds:?}"
        );
        assert_eq!(damage.len(), 4, "{kinds:?}");
    }

    #[test]
    fn compare_clean_missing_and_bad_manifests() {
        let dir = Path::new("/c");
        assert!(compare(dir, &manifest(vec![seg(1, 2)], 1), &[seg(1, 2)]).is_empty());
        assert!(compare(dir, &ManifestRead::Missing, &[]).is_empty());
        assert!(matches!(
            compare(dir, &ManifestRead::Missing, &[seg(1, 2)])[..],
            [CorpusDamage::ManifestMissing { .. }]
        ));
        let bad = compare(dir, &ManifestRead::Bad("expected value".into()), &[]);
        assert_eq!(
            bad[0].to_string(),
            "/c/manifest.json is unreadable: expected value"
        );
        let mut wrong = manifest(vec![seg(1, 2)], 1);
        if let ManifestRead::Found(m) = &mut wrong {
            m.records = 9;
        }
        assert!(matches!(
            compare(dir, &wrong, &[seg(1, 2)])[..],
            [CorpusDamage::WrongTotal { listed: 9, sum: 2 }]
        ));
    }
}
