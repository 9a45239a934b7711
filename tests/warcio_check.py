#!/usr/bin/env python3
"""Validate every .warc.gz under a folder with warcio (the reference WARC reader).

Usage: python3 tests/warcio_check.py RAW_FOLDER

For each file: every record must parse, every block/payload digest must pass, the file must
start with a warcinfo record, and every response must be linked (WARC-Concurrent-To) to a
request in the same file. Exits 0 when all files pass, 1 when any fails or no file is found,
2 when warcio is not installed (pip install warcio).
"""

import os
import sys

try:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed
except ImportError:
    print("warcio_check: warcio is not installed (pip install warcio)", file=sys.stderr)
    sys.exit(2)


def check_file(path):
    """Return a list of problems found in one file (empty when it is valid)."""
    problems = []
    types = []
    requests, responses = {}, {}
    with open(path, "rb") as stream:
        it = ArchiveIterator(stream, check_digests=True)
        try:
            for record in it:
                while record.raw_stream.read(1 << 20):
                    pass
                offset = it.get_record_offset()
                kind = record.rec_type
                types.append(kind)
                rec_id = record.rec_headers.get_header("WARC-Record-ID")
                other = record.rec_headers.get_header("WARC-Concurrent-To")
                if record.digest_checker.passed is False:
                    problems.append(f"offset {offset}: {list(record.digest_checker.problems)}")
                if kind == "request":
                    requests[rec_id] = other
                elif kind == "response":
                    responses[rec_id] = other
                    if record.http_headers is None or not record.http_headers.get_statuscode():
                        problems.append(f"offset {offset}: response without HTTP status line")
        except ArchiveLoadFailed as err:
            problems.append(f"load failed: {err}")
    if not types or types[0] != "warcinfo":
        problems.append("file does not start with a warcinfo record")
    for rec_id, request_id in responses.items():
        if requests.get(request_id) != rec_id:
            problems.append(f"response {rec_id} is not linked to a request")
    return problems, len(types)


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 1
    files = sorted(
        os.path.join(d, f)
        for d, _, names in os.walk(argv[1])
        for f in names
        if f.endswith(".warc.gz")
    )
    if not files:
        print(f"warcio_check: no .warc.gz files under {argv[1]}", file=sys.stderr)
        return 1
    failed = 0
    for path in files:
        problems, count = check_file(path)
        status = "ok" if not problems else "FAILED"
        print(f"{status} {path} ({count} records)")
        for problem in problems:
            print(f"  {problem}")
        failed += bool(problems)
    print(f"{len(files) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
