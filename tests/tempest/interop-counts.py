#!/usr/bin/env python3
"""Counts an OpenStack interop guideline list's tests in tempest outputs that already ran them.

    interop-counts.py LIST TEMPEST_OUT...

LIST has one regex a line (tempest matches each at the start of a test id, as --include-list
does). The suites test.sh runs hold every listed test, so the list is not run again: this reads
their outputs (tests/tempest/run.sh's TEMPEST_OUTPUT) and prints one line,

    interop 2020.06 compute list: Passed: 130 Skipped: 25 Failed: 1 (not run: 0)

where a test counts once (its first outcome), a class tempest skipped whole (setUpClass) counts
each listed test of it as skipped, and `not run` are listed lines no output mentions.
"""
import re
import sys

RESULT = re.compile(r"^\{\d+\} (?P<id>\S+)(?: \[[^\]]*\])? \.\.\. (?P<status>ok|FAILED|SKIPPED)")
CLASS_SKIP = re.compile(r"^\{\d+\} setUpClass \((?P<cls>[\w.]+)\) \.\.\. SKIPPED")


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    listed = [line.strip() for line in open(sys.argv[1]) if line.strip() and not line.startswith("#")]
    patterns = [re.compile(entry) for entry in listed]
    outcomes: dict[str, str] = {}
    skipped_classes: set[str] = set()
    for path in sys.argv[2:]:
        for line in open(path, errors="replace"):
            if m := RESULT.match(line):
                test = re.sub(r"\[.*$", "", m["id"])
                outcomes.setdefault(test, m["status"])
            elif m := CLASS_SKIP.match(line):
                skipped_classes.add(m["cls"])
    counts = {"ok": 0, "SKIPPED": 0, "FAILED": 0}
    for test, status in outcomes.items():
        if any(p.match(test) for p in patterns):
            counts[status] += 1
    not_run = 0
    for entry, pattern in zip(listed, patterns):
        if any(pattern.match(test) for test in outcomes):
            continue
        if any(entry.startswith(cls + ".") for cls in skipped_classes):
            counts["SKIPPED"] += 1
        else:
            not_run += 1
    print(f"{sys.argv[1].rsplit('/', 1)[-1]}: Passed: {counts['ok']} Skipped: {counts['SKIPPED']} "
          f"Failed: {counts['FAILED']} (listed lines no suite ran: {not_run})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
