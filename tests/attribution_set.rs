//! The attribution development set (`fixtures/attribution/`) scored by
//! `scripts/score_attribution.py` with the freshly built binary: the targets (P ≥ 0.98
//! and R ≥ 0.95 for every kind, no hard-negative violation, every credit line out of the text,
//! every citation sentence kept) must hold. The scorer is the one home of the scoring rules;
//! this test only runs it.
// See: issue 15 (attribution a media analyst can trust).

use std::path::Path;
use std::process::Command;

#[test]
fn attribution_set_meets_the_targets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .current_dir(root)
        .args([
            "scripts/score_attribution.py",
            "--check",
            "--failures",
            "--bin",
        ])
        .arg(env!("CARGO_BIN_EXE_newsmill"))
        .output();
    let Ok(out) = out else {
        panic!("python3 is needed to run scripts/score_attribution.py");
    };
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "targets missed:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("pages fully right"), "{report}");
}
