#!/usr/bin/env python3
"""Which tables the near index's WAL frames and checkpoint writes belong to, and how many frames
a commit writes (README, "Statements prepared once, reads in one transaction").

    TMPDIR=/tmp strace -f -y -s 24 -x -e trace=pwrite64,write -e signal=none -o T \
        ./dedup-<build> 200000 --disk-only --keep DIR
    python3 benches/dedup/walframes.py T DIR/near.sqlite

SQLite writes a WAL frame as its 24-byte header (page number, database size for a commit frame)
and then the page; strace's first 24 bytes of each write are enough. Pages are mapped to tables
with the `dbstat` table of the final file (a page freed and reused by another table is counted
under its last owner). Needs a Python whose sqlite3 has dbstat (Debian's has).
"""
import collections
import re
import sqlite3
import sys

WRITE = re.compile(r'pwrite64\(\d+<([^>]+)>, "((?:\\x[0-9a-f]{2})*)"(?:\.\.\.)?, (\d+), (\d+)\)')


def frames_and_pages(trace, page_size):
    frames, pages, header = [], collections.Counter(), None
    for line in open(trace):
        m = WRITE.search(line)
        if not m:
            continue
        path, data, n, off = m.group(1), m.group(2), int(m.group(3)), int(m.group(4))
        data = bytes(int(data[i + 2:i + 4], 16) for i in range(0, len(data), 4))
        if path.endswith('-wal'):
            if n == 24:
                header = (int.from_bytes(data[0:4], 'big'), int.from_bytes(data[4:8], 'big'))
            elif n == page_size and header:
                frames.append(header)
                header = None
        elif path.endswith('.sqlite') and n == page_size:
            pages[off // page_size + 1] += 1
    return frames, pages


def main():
    trace, db = sys.argv[1], sys.argv[2]
    conn = sqlite3.connect(db)
    page_size = conn.execute('PRAGMA page_size').fetchone()[0]
    owner = dict(conn.execute('SELECT pageno, name FROM dbstat'))
    frames, pages = frames_and_pages(trace, page_size)
    commits = [i for i, (_, size) in enumerate(frames) if size]
    print(f'{len(frames)} WAL frames in {len(commits)} commits; {sum(pages.values())} page writes '
          f'to the database file (checkpoints); page size {page_size}')
    per, last = [], -1
    for i in commits:
        per.append(i - last)
        last = i
    per.sort()
    if per:
        print(f'frames a commit: median {per[len(per) // 2]}, p90 {per[len(per) * 9 // 10]}, '
              f'max {per[-1]}')
    wal = collections.Counter(owner.get(p, '(free)') for p, _ in frames)
    ckpt = collections.Counter()
    for p, n in pages.items():
        ckpt[owner.get(p, '(free)')] += n
    print(f'{"table or index":32} {"WAL frames":>11} {"a commit":>9} {"checkpointed":>13}')
    for name, n in wal.most_common():
        print(f'{name:32} {n:11} {n / max(len(commits), 1):9.2f} {ckpt.get(name, 0):13}')


if __name__ == '__main__':
    main()
