#!/usr/bin/env python3
"""Prints 'N passed, N failed[, N skipped]' from meson's testlog.json.

Counts individual TAP test cases (each `ok` / `not ok` line of each test
program), so the numbers are the real results, not meson's per-program
summary. A program that crashed or timed out without printing its own
failures counts as one failure. Exit status 1 when anything failed or
nothing ran.
"""
import json
import re
import sys

def main(path):
    passed = failed = skipped = 0
    try:
        lines = open(path, encoding='utf-8', errors='replace').read().splitlines()
    except OSError as e:
        print(f"no test log at {path}: {e.strerror}", file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    for line in lines:
        if not line.strip():
            continue
        entry = json.loads(line)
        p = f = s = 0
        for out in (entry.get('stdout') or '').splitlines():
            m = re.match(r'^(not ok|ok)\b[^#]*(#\s*(SKIP|TODO)\b)?', out, re.I)
            if not m:
                continue
            if m.group(3) and m.group(3).upper() == 'SKIP':
                s += 1
            elif m.group(1) == 'ok' or (m.group(3) and m.group(3).upper() == 'TODO'):
                p += 1
            else:
                f += 1
        result = entry.get('result', '')
        if result in ('FAIL', 'TIMEOUT', 'ERROR', 'UNEXPECTEDPASS') and f == 0:
            f = 1
            print(f"{entry.get('name')}: {result} without a failing test case", file=sys.stderr)
        passed += p; failed += f; skipped += s
    if skipped:
        print(f"{passed} passed, {failed} failed, {skipped} skipped")
    else:
        print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0

if __name__ == '__main__':
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else 'build/meson-logs/testlog.json'))
