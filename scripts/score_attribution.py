#!/usr/bin/env python3
"""Score newsmill's attributions on a labelled page set (default: fixtures/attribution).

Usage:
  python3 scripts/score_attribution.py [--dir DIR] [--bin PATH] [--config TOML] [--failures] [--check] [--json FILE]

DIR holds `labels.jsonl` (one page a line: file, source, expect, negatives, out_of_text, in_text; see
fixtures/attribution/build.py) and `pages/`. Pages are run through `newsmill extract --source S`
(one process per source). Reports, per kind, precision and recall; pages fully right; hard-negative
violations; credit lines left in the text; citation sentences lost. `--check` exits 1 when a target
misses (P >= 0.98 and R >= 0.95 for every kind, no violation of any sort).

Matching: a label `who` is a source id (the attribution must resolve to it) or `?Name|Alt` (an
outlet no source configures: `source_id` must be null and the name equal one of the forms, case
and quotes aside). Each label matches at most one attribution and the other way round.
"""
import argparse
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KINDS = ["publisher", "dateline", "based_on", "cited", "photo"]
TARGET_P, TARGET_R = 0.98, 0.95


def fold(s):
    s = s.casefold().replace("ё", "е")
    s = s.strip(" \t«»\"'“”‘’()[].,:;")
    return " ".join(s.split())


def matches(who, a):
    if who.startswith("?"):
        return a.get("source_id") is None and fold(a.get("name", "")) in {fold(x) for x in who[1:].split("|")}
    return a.get("source_id") == who


def run_extract(binary, config, source, files):
    cmd = [binary, "extract", "-c", str(config), "--source", source,
           "--url", f"https://fixtures.invalid/{source}/page.html", *map(str, files)]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    out = {}
    for line in proc.stdout.decode("utf-8").splitlines():
        rec = json.loads(line)
        out[Path(rec["file"]).name] = rec
    return out


def score_page(label, rec):
    """Per-page outcome: per-kind tp/fp/fn, violations, and a list of human-readable problems."""
    preds = [a for a in rec.get("attributions", [])]
    expect = [{"kind": "publisher", "who": label["source"]}] + label["expect"]
    used = [False] * len(preds)
    res = {"tp": defaultdict(int), "fp": defaultdict(int), "fn": defaultdict(int), "problems": [], "neg": 0, "text": 0}
    for e in expect:
        hit = next((i for i, a in enumerate(preds) if not used[i] and a["kind"] == e["kind"] and matches(e["who"], a)), None)
        if hit is None:
            res["fn"][e["kind"]] += 1
            res["problems"].append(f"missed {e['kind']}:{e['who']}")
        else:
            used[hit] = True
            res["tp"][e["kind"]] += 1
    for i, a in enumerate(preds):
        if not used[i]:
            res["fp"][a["kind"]] += 1
            res["problems"].append(f"extra {a['kind']}:{a.get('source_id') or '?' + a.get('name', '')} ({a.get('evidence', '')[:70]!r})")
    for n in label["negatives"]:
        for a in preds:
            if (n["kind"] in ("*", a["kind"])) and matches(n["who"], a):
                res["neg"] += 1
                res["problems"].append(f"HARD NEGATIVE {n['kind']}:{n['who']} reported as {a['kind']}")
    text = " ".join(rec.get("text", "").split())
    for s in label["out_of_text"]:
        if " ".join(s.split()) in text:
            res["text"] += 1
            res["problems"].append(f"credit line left in text: {s!r}")
    for s in label["in_text"]:
        if " ".join(s.split()) not in text:
            res["text"] += 1
            res["problems"].append(f"citation sentence lost: {s!r}")
    if "error" in rec:
        res["problems"].append(f"error: {rec['error']}")
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=str(ROOT / "fixtures/attribution"))
    ap.add_argument("--bin", default=str(ROOT / "target/release/newsmill"))
    ap.add_argument("--config", default=None, help="config TOML (default DIR/sources.toml)")
    ap.add_argument("--failures", action="store_true", help="list every page that is not fully right")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target misses")
    ap.add_argument("--json", default=None, help="write the summary as JSON here")
    args = ap.parse_args()
    d = Path(args.dir)
    config = Path(args.config) if args.config else d / "sources.toml"
    labels = [json.loads(line) for line in open(d / "labels.jsonl", encoding="utf-8") if line.strip()]
    by_source = defaultdict(list)
    for lab in labels:
        by_source[lab["source"]].append(lab)
    recs = {}
    for source, labs in by_source.items():
        recs.update(run_extract(args.bin, config, source, [d / "pages" / lab["file"] for lab in labs]))
    tp, fp, fn = defaultdict(int), defaultdict(int), defaultdict(int)
    full = neg = textv = 0
    failures = []
    for lab in labels:
        r = score_page(lab, recs.get(lab["file"], {"error": "no output"}))
        for k in KINDS:
            tp[k] += r["tp"][k]
            fp[k] += r["fp"][k]
            fn[k] += r["fn"][k]
        neg += r["neg"]
        textv += r["text"]
        if r["problems"]:
            failures.append((lab["file"], r["problems"]))
        else:
            full += 1
    ok = neg == 0 and textv == 0
    summary = {"pages": len(labels), "fully_right": full, "hard_negatives": sum(len(x["negatives"]) for x in labels),
               "hard_negative_violations": neg, "text_violations": textv, "kinds": {}}
    print(f"{'kind':<10} {'P':>6} {'R':>6} {'tp':>5} {'fp':>4} {'fn':>4}")
    for k in KINDS + ["all"]:
        t = sum(tp.values()) if k == "all" else tp[k]
        f_p = sum(fp.values()) if k == "all" else fp[k]
        f_n = sum(fn.values()) if k == "all" else fn[k]
        p = t / (t + f_p) if t + f_p else 1.0
        r = t / (t + f_n) if t + f_n else 1.0
        summary["kinds"][k] = {"p": round(p, 3), "r": round(r, 3), "tp": t, "fp": f_p, "fn": f_n}
        if k != "all" and (p < TARGET_P or r < TARGET_R):
            ok = False
        print(f"{k:<10} {p:6.3f} {r:6.3f} {t:5d} {f_p:4d} {f_n:4d}")
    print(f"pages fully right: {full}/{len(labels)}; hard-negative violations: {neg} of {summary['hard_negatives']}; "
          f"text violations (credit left / citation lost): {textv}")
    if args.failures:
        for f, probs in failures:
            print(f"-- {f}")
            for p in probs:
                print(f"   {p}")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    if args.check and not ok:
        print("targets missed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
