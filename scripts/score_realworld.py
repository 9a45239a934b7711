#!/usr/bin/env python3
"""Run the shared real-world scorer (../shared/eval/score_realworld.py) on newsmill's schema-2 dates.

The shared scorer reads a newsmill record's date from `published_at` only. Schema 2 writes
`published_at` only when the page states a time of day and its offset, so a page that gives only a
day (or a local time) would score as "no date". This wrapper runs the unchanged scorer with one
difference: the newsmill date it records is `published_at`, else `published_local` (a wall-clock
time, which the scorer compares by wall clock), else `published_date` (which it scores as a day).
All arguments are passed through; `--heldout` defaults to the shared sets.

  python3 scripts/score_realworld.py --newsmill target/release/newsmill --extractors newsmill --rerun \
      --work /tmp/nm-score-NAME
"""
import importlib.util
import json
import os
import subprocess
import sys

SHARED = os.environ.get('NEWSMILL_SCORER', '/work/shared/eval/score_realworld.py')
spec = importlib.util.spec_from_file_location('score_realworld', SHARED)
scorer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scorer)
scorer.__file__ = os.path.abspath(__file__)  # its workers re-run this wrapper


def run_newsmill_page(binary, config, path, url, cwd):
    """As the shared scorer's, with the schema-2 date fallback described above."""
    cmd = [binary, 'extract'] + (['-c', config] if config else []) + (['--url', url] if url else []) + [str(path)]
    before = os.times()
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=scorer.PAGE_TIMEOUT, cwd=cwd)
        out, err = p.stdout.decode('utf8', 'replace'), p.stderr.decode('utf8', 'replace')
    except subprocess.TimeoutExpired:
        out, err = '', 'timeout'
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    rec = json.loads(out.splitlines()[0]) if out.strip() else {'error': err.strip()[-300:] or 'no output'}
    date = rec.get('published_at') or rec.get('published_local') or rec.get('published_date')
    res = {'title': rec.get('title'), 'text': rec.get('text'), 'date': date,
           'authors': rec.get('authors') or [], 'error': rec.get('error'),
           'date_source': rec.get('date_source'), 'language': rec.get('language')}
    return res, cpu


scorer.run_newsmill_page = run_newsmill_page

if __name__ == '__main__':
    if not any(a == '--heldout' or a.startswith('--heldout=') for a in sys.argv[1:]):
        sys.argv[1:1] = ['--heldout', os.path.join(os.path.dirname(SHARED), 'realworld')]
    scorer.main()
