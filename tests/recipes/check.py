#!/usr/bin/env python3
"""Runs the analysis recipes of README.md ("Analysing the corpus") against a real corpus, as CI does.

Usage: python3 tests/recipes/check.py NEWSMILL_BINARY CORPUS_DIR

CORPUS_DIR is a newsmill folder with `normalized/` (the demo's output folder will do). The script
exports the corpus to Parquet twice (one file, and hive partitions by source and month), checks the
Parquet column types with pyarrow, then runs every README block marked `<!-- recipe: NAME -->` in
that folder and requires the same three answers from every engine (DuckDB, polars, pandas) and from
both formats (JSONL and Parquet). Needs `pip install duckdb polars pandas pyarrow`. Exits non-zero on
any difference; prints the answers.
"""
import datetime
import os
import re
import subprocess
import sys
import tempfile

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")


def export(binary, folder):
    config = os.path.join(folder, "recipes-check.toml")
    with open(config, "w") as f:
        f.write('[storage]\nraw_dir = "raw"\nnormalized_dir = "normalized"\nstate_dir = "state"\n')
    for args in (["-o", "corpus.parquet"], ["--partition", "source,month", "-o", "corpus-parquet"]):
        subprocess.run([binary, "export", "-c", config, "--format", "parquet", *args], cwd=folder, check=True)


def check_types(folder):
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(os.path.join(folder, "corpus.parquet"))
    utc = pa.timestamp("us", tz="UTC")
    expect = {
        "published_at": lambda t: t == utc,
        "fetched_at": lambda t: t == utc,
        "source_id": pa.types.is_dictionary,
        "language": pa.types.is_dictionary,
        "word_count": pa.types.is_integer,
        "similarity": pa.types.is_floating,
        "authors": lambda t: pa.types.is_list(t) and pa.types.is_string(t.value_type),
        "attributions": lambda t: pa.types.is_list(t) and pa.types.is_struct(t.value_type)
        and {t.value_type.field(i).name for i in range(t.value_type.num_fields)} >= {"name", "source_id", "kind", "evidence"},
        "blocks": lambda t: pa.types.is_list(t) and pa.types.is_struct(t.value_type),
        "images": lambda t: pa.types.is_list(t) and pa.types.is_struct(t.value_type),
        "also_seen_at": lambda t: pa.types.is_list(t) and pa.types.is_struct(t.value_type)
        and t.value_type.field("fetched_at").type == utc,
        "raw": pa.types.is_struct,
        "extractor": pa.types.is_struct,
    }
    if "published_date" in schema.names:
        expect["published_date"] = lambda t: t == pa.date32()
    bad = [f"{name}: {schema.field(name).type}" for name, ok in expect.items() if not ok(schema.field(name).type)]
    meta = pq.ParquetFile(os.path.join(folder, "corpus.parquet")).metadata
    codecs = {meta.row_group(0).column(i).compression for i in range(meta.num_columns)} if meta.num_row_groups else {"ZSTD"}
    if codecs != {"ZSTD"}:
        bad.append(f"compression {codecs}")
    if bad:
        sys.exit("untyped Parquet columns: " + "; ".join(bad))
    print(f"pyarrow: {len(schema.names)} typed columns, zstd")


def recipes():
    text = open(README, encoding="utf-8").read()
    found = re.findall(r"<!-- recipe: (\w+) -->\s*```python\n(.*?)```", text, re.S)
    if len(found) < 3:
        sys.exit(f"README.md: expected the duckdb, polars and pandas recipes, found {[n for n, _ in found]}")
    return found


def plain(value):
    """One comparable form for what the three engines return."""
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def main():
    binary, folder = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    export(binary, folder)
    check_types(folder)
    answers = {}
    for name, code in recipes():
        ns = {}
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            exec(compile(code, f"README recipe {name}", "exec"), ns)
            for fmt in ("jsonl", "parquet"):
                answers[(name, fmt)] = tuple(plain(a) for a in ns["answers"](ns["load"](fmt)))
        finally:
            os.chdir(cwd)
    reference_key = ("duckdb", "jsonl")
    reference = answers[reference_key]
    labels = ("articles per source per day", "top credited agencies per publisher", "clusters across sources with lag")
    for label, rows in zip(labels, reference):
        print(f"{label}: {len(rows)} rows; first {rows[:3]}")
    if not reference[0] or not reference[1] or not reference[2]:
        sys.exit("a recipe answer is empty on this corpus; the check would prove nothing")
    failed = False
    for key, got in answers.items():
        for label, a, b in zip(labels, reference, got):
            if a != b:
                failed = True
                print(f"DIFFERENT {label}: {key} vs {reference_key}\n  {b}\n  {a}")
    if failed:
        sys.exit(1)
    print(f"recipes: {len(answers)} engine x format runs agree")


if __name__ == "__main__":
    main()
