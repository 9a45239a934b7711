//! Damage recovery: truncation at every byte, garbage files and members, lying records.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use super::*;

fn gz(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Checks the items of a file cut after `cut` bytes: every record that ends before the cut,
/// then a `TornTail` at the start of the cut member unless the cut falls between members.
fn check_cut(items: &[Item], cut: u64, bounds: &[u64], locs: &[RawLocation], file: &Path) {
    let pages = sample_pages();
    let complete = locs.iter().filter(|l| l.offset + l.length <= cut).count();
    let torn = !bounds.contains(&cut);
    assert_eq!(items.len(), complete + usize::from(torn), "cut {cut}");
    for ((item, want), want_loc) in items.iter().zip(&pages).zip(locs).take(complete) {
        let (loc, page) = item.as_ref().unwrap();
        assert_eq!(loc, want_loc);
        assert_page_eq(page, &expected(want));
    }
    if torn {
        let start = bounds.iter().rev().find(|b| **b < cut).unwrap();
        match items.last().unwrap() {
            Err(RawStoreError::TornTail { path, offset }) => {
                assert_eq!((path.as_path(), offset), (file, start), "cut {cut}");
            }
            other => panic!("cut {cut}: expected TornTail, got {other:?}"),
        }
    }
}

#[test]
fn truncation_at_every_byte_keeps_complete_records() {
    let dir = tempfile::tempdir().unwrap();
    let locs = write_all(dir.path(), &sample_pages()[..3]);
    let bytes = fs::read(dir.path().join(&locs[0].file)).unwrap();
    let bounds = member_bounds(&bytes);
    assert_eq!(bounds.len(), 1 + 1 + 2 * 3);
    // Every cut, walked in memory (file writes and deletes are slow on some disks).
    for cut in 0..=bytes.len() {
        let items = scan::scan_bytes(&locs[0].file, &bytes[..cut]);
        check_cut(&items, cut as u64, &bounds, &locs, &locs[0].file);
    }
    // A few cuts through real files and the public `scan`: around each member boundary
    // (inside the gzip header and trailer) and in the middle of each member.
    let mut cuts: Vec<u64> = bounds
        .iter()
        .flat_map(|b| [b.saturating_sub(1), b + 1])
        .collect();
    cuts.extend(bounds.windows(2).map(|w| (w[0] + w[1]) / 2));
    cuts.retain(|c| *c <= bytes.len() as u64);
    for cut in cuts {
        let cut_dir = tempfile::tempdir().unwrap();
        let cut_path = cut_dir.path().join(&locs[0].file);
        fs::create_dir_all(cut_path.parent().unwrap()).unwrap();
        fs::write(&cut_path, &bytes[..cut as usize]).unwrap();
        let items: Vec<Item> = scan(cut_dir.path()).collect();
        check_cut(&items, cut, &bounds, &locs, &cut_path);
    }
}

#[test]
fn garbage_is_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let pages = sample_pages();
    let locs = write_all(dir.path(), &pages[..2]);
    let good = fs::read(&warc_files(dir.path())[0]).unwrap();
    // A whole garbage file that sorts first, and a non-WARC file that is ignored.
    let junk_dir = dir.path().join("0000");
    fs::create_dir_all(&junk_dir).unwrap();
    fs::write(junk_dir.join("junk.warc.gz"), b"this is not gzip at all").unwrap();
    fs::write(dir.path().join("notes.txt"), b"ignored").unwrap();
    // Garbage between two runs of valid members.
    let mut spliced = good.clone();
    spliced.extend_from_slice(&[0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4, 5, 6, 7, 0x1f, 0x8b, 9]);
    spliced.extend_from_slice(&good);
    let spliced_path = dir.path().join("zzzz.warc.gz");
    fs::write(&spliced_path, &spliced).unwrap();

    let items: Vec<Item> = scan(dir.path()).collect();
    assert_eq!(items.len(), 1 + 2 + 2 + 1 + 2, "{items:#?}");
    assert!(matches!(&items[0], Err(RawStoreError::Corrupt { .. })));
    assert_eq!(items[1].as_ref().unwrap().0, locs[0]);
    assert_eq!(items[2].as_ref().unwrap().0, locs[1]);
    assert_eq!(
        items[3].as_ref().unwrap().0.file,
        PathBuf::from("zzzz.warc.gz")
    );
    match &items[5] {
        Err(RawStoreError::Corrupt { path, offset, .. }) => {
            assert_eq!((path, *offset), (&spliced_path, good.len() as u64));
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let (loc, got) = items[7].as_ref().unwrap();
    assert_page_eq(got, &expected(&pages[1]));
    assert_page_eq(&read_at(dir.path(), loc).unwrap(), &expected(&pages[1]));
}

#[test]
fn bad_records_give_typed_errors_and_the_walk_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let pages = sample_pages();
    write_all(dir.path(), &pages[..1]);
    let good = fs::read(&warc_files(dir.path())[0]).unwrap();
    // The good response record with one body byte changed: valid gzip, wrong digest.
    let bounds = member_bounds(&good);
    let mut record = Vec::new();
    let last = &good[bounds[bounds.len() - 2] as usize..];
    io::Read::read_to_end(&mut flate2::read::GzDecoder::new(last), &mut record).unwrap();
    let at = record.windows(5).position(|w| w == b"Hello").unwrap();
    record[at] = b'J';
    let members = [
        gz(&record),
        gz(b"WARC/1.1\r\nWARC-Type: response\r\nContent-Length: 50\r\n\r\nshort\r\n\r\n"),
        gz(b"WARC/1.1\r\nWARC-Type: response\r\nContent-Length: 2\r\n\r\nlonger\r\n\r\n"),
        gz(b"HTTP/1.1 200 OK\r\n\r\n"),
        gz(b"WARC/1.1\r\nWARC-Type: response\r\nContent-Length: 999999999999\r\n\r\n"),
        gz(b"WARC/1.1\r\nno colon here\r\n\r\n"),
    ];
    let mut bytes = members.concat();
    let good_offset = bytes.len() as u64;
    bytes.extend_from_slice(&good);
    let path = dir.path().join("bad.warc.gz");
    fs::write(&path, &bytes).unwrap();

    let items: Vec<Item> = scan(dir.path()).collect();
    let bad: Vec<_> = items.iter().filter(|i| i.is_err()).collect();
    assert_eq!(bad.len(), members.len(), "{items:#?}");
    assert!(matches!(
        bad[4],
        Err(RawStoreError::TooLarge {
            length: 999_999_999_999,
            ..
        })
    ));
    for (i, err) in bad.iter().enumerate().filter(|(i, _)| *i != 4) {
        assert!(
            matches!(err, Err(RawStoreError::Corrupt { .. })),
            "{i}: {err:?}"
        );
    }
    // Both copies of the good page are read: the one after the bad members and the original.
    let good_locs: Vec<_> = items.iter().filter_map(|i| i.as_ref().ok()).collect();
    assert_eq!(good_locs.len(), 2);
    assert!(
        good_locs
            .iter()
            .any(|(l, _)| l.file == Path::new("bad.warc.gz") && l.offset > good_offset)
    );
    let lying = RawLocation {
        file: PathBuf::from("bad.warc.gz"),
        offset: members[0].len() as u64,
        length: members[1].len() as u64,
    };
    let err = scan::scan_bytes(Path::new("t"), &members[0])
        .remove(0)
        .unwrap_err();
    assert!(err.to_string().contains("WARC-Block-Digest"), "{err}");
    assert!(matches!(
        read_at(dir.path(), &lying),
        Err(RawStoreError::Corrupt { .. })
    ));
}
