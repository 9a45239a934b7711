#!/usr/bin/env python3
"""Score `newsmill extract` on an extraction benchmark folder.

Usage:
  python3 scripts/eval.py [--gold DIR] [--bin PATH] [--out DIR] [--score PATH]

Runs the newsmill binary once over every `html/<id>.html` in the gold folder (one process, as
a user would), writes predictions `{"id", "text"}` to OUT/pred.jsonl and per-page scores to
OUT/per-page.tsv, prints the scorer's F1/P/R line and pages per second of CPU time (user+sys of
the newsmill process, so the number does not depend on other load on the machine).
Defaults: gold ../shared/eval/scrapinghub-dev, binary target/release/newsmill, out eval-out/.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gold", default=str(ROOT.parent / "shared/eval/scrapinghub-dev"))
    ap.add_argument("--bin", default=str(ROOT / "target/release/newsmill"))
    ap.add_argument("--out", default=str(ROOT / "eval-out"))
    ap.add_argument("--score", default=None, help="score.py (default: GOLD/../score.py)")
    args = ap.parse_args()
    gold = Path(args.gold)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = sorted((gold / "html").glob("*.html"))
    if not files:
        sys.exit(f"no html/*.html under {gold}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.run(
        [args.bin, "extract", "-c", "/nonexistent-config.toml", *map(str, files)],
        capture_output=True,
        check=False,
    )
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    preds = []
    for line in proc.stdout.decode("utf-8").splitlines():
        rec = json.loads(line)
        # The page id of the eval set is the file name; a record's `id` is its content id.
        preds.append({"id": Path(rec["file"]).stem, "text": rec.get("text", "")})
    pred_path = out / "pred.jsonl"
    with open(pred_path, "w", encoding="utf-8") as f:
        for p in preds:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    score = args.score or str(gold.parent / "score.py")
    res = subprocess.run(
        [sys.executable, score, "--gold", str(gold), "--pred", str(pred_path), "--per-page", str(out / "per-page.tsv")],
        capture_output=True,
        text=True,
        check=False,
    )
    sys.stdout.write(res.stdout)
    errors = sum(1 for line in proc.stdout.decode("utf-8").splitlines() if '"error"' in line)
    print(f"pages={len(files)} extract_errors={errors} exit={proc.returncode} "
          f"cpu={cpu:.2f}s wall={wall:.2f}s pages_per_cpu_s={len(files) / max(cpu, 1e-9):.0f}")
    return res.returncode


if __name__ == "__main__":
    sys.exit(main())
