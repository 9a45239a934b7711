#!/usr/bin/env python3
"""datasketch MinHashLSH on the dedup bench's synthetic articles, for the README comparison.

Not a project dependency: run it from a throwaway venv.
    python3 -m venv /tmp/dsk && /tmp/dsk/bin/pip install datasketch
    target/release/deps/dedup-<hash> 100000 --dump /tmp/dedup-100k.jsonl
    /tmp/dsk/bin/python benches/dedup/datasketch_bench.py /tmp/dedup-100k.jsonl

Same texts and the same shingles as newsmill (NFC, lower-cased maximal alphanumeric runs as
words, 5-word shingles, one shingle of all words for shorter texts), 64 permutations, 64 bands
of one row (newsmill's banding). Per article: MinHash, one LSH query, one insert. Texts are read
one line at a time, so the memory growth is the index's. Prints CPU seconds (process time),
articles/s of CPU, and resident-set growth per 100 000 articles.
"""
import json
import resource
import sys
import time
import unicodedata

from datasketch import MinHash, MinHashLSH

K = 5


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def shingles(text):
    text = unicodedata.normalize("NFC", text)
    words, cur = [], []
    for c in text:
        if c.isalnum():
            cur.append(c.lower())
        elif cur:
            words.append("".join(cur))
            cur = []
    if cur:
        words.append("".join(cur))
    k = min(K, len(words))
    if k == 0:
        return set()
    return {" ".join(words[i:i + k]).encode() for i in range(len(words) - k + 1)}


def main():
    path = sys.argv[1]
    lsh = MinHashLSH(num_perm=64, params=(64, 1))
    base = rss_mb()
    n = candidates = 0
    t0 = time.process_time()
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            m = MinHash(num_perm=64)
            m.update_batch(list(shingles(rec["text"])))
            candidates += len(lsh.query(m))
            lsh.insert(rec["id"], m)
            n += 1
    cpu = time.process_time() - t0
    grown = rss_mb() - base
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"datasketch MinHashLSH (64 perms, 64x1 bands): {n} articles in {cpu:.1f} s CPU = "
          f"{n / cpu:.0f} articles/s; {candidates / n:.2f} candidates/article; RSS grew "
          f"{grown:.0f} MB = {grown * 100000 / n:.0f} MB per 100k (peak {peak:.0f} MB)")


main()
