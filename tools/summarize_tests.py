#!/usr/bin/env python3
"""Counts the test cases inside each meson test (GoogleTest, Check, unittest)
and prints one closing line: 'tests: N passed, M failed, K skipped'.

  summarize_tests.py LOG [LABEL:LOG ...] [NAME=OK|FAIL ...]

LOG is a meson testlog.json; LABEL prefixes its tests' names. NAME=RESULT
counts one more test run outside meson (the fuzz run).

A test program that crashed or timed out counts every case it started and
did not finish as failed, and at least one failure even if it died before
its first case: a crash is never a pass."""
import json
import re
import sys
from dataclasses import dataclass


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, other):
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped

    def __str__(self):
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"


def googletest(out):
    """Per case: '[ RUN      ]' starts it; OK, FAILED or SKIPPED ends it. A case
    started and never ended is the one the program died in."""
    started = len(re.findall(r"^\[ RUN      \] ", out, re.M))
    if not started:
        return None
    passed = len(re.findall(r"^\[       OK \] \S+ \(", out, re.M))
    skipped = len(re.findall(r"^\[  SKIPPED \] \S+ \(", out, re.M))
    return Counts(passed, started - passed - skipped, skipped)


def check(out):
    if m := re.search(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)", out):
        total, failures, errors = map(int, m.groups())
        return Counts(total - failures - errors, failures + errors, 0)
    return None


def unittest(out):
    """unittest at verbosity 2: 'test_x (module.Class...) ... ok|FAIL|ERROR|skipped'.
    A result may follow the case's own output on a later line, so the closing
    'Ran N tests' and 'OK/FAILED (...)' lines are used when they exist."""
    if m := re.search(r"^Ran (\d+) tests?", out, re.M):
        total = int(m.group(1))
        tail = out[m.end():]
        details = {}
        if d := re.search(r"^(?:OK|FAILED)(?: \((.*)\))?$", tail, re.M):
            # "failures=1, errors=2, skipped=3, expected failures=4,
            # unexpected successes=5": keys may hold a space.
            for key, value in re.findall(r"([a-z ]+)=(\d+)", d.group(1) or ""):
                details[key.strip()] = int(value)
        if total == 0:
            return Counts(0, 1, 0)  # a suite that ran nothing tested nothing
        failed = details.get("failures", 0) + details.get("errors", 0) + \
            details.get("unexpected successes", 0)
        skipped = details.get("skipped", 0)
        return Counts(total - failed - skipped, failed, skipped)
    started = len(re.findall(r"^test\w* \(.*\)(?: \S.*)? \.\.\. ", out, re.M))
    if not started:
        return None
    passed = len(re.findall(r"\.\.\. ok$|^ok$", out, re.M))
    skipped = len(re.findall(r"\.\.\. skipped|^skipped ", out, re.M))
    return Counts(passed, max(started - passed - skipped, 1), skipped)


def count_cases(entry):
    """Counts of one meson test, from its output and its result."""
    out = (entry.get("stdout") or "") + (entry.get("stderr") or "")
    ok = entry["result"] == "OK"
    counts = googletest(out) or check(out) or unittest(out)
    if entry["result"] == "SKIP":
        # Exit 77: the program skipped itself (as a whole, or every case).
        return counts if counts and counts.skipped else Counts(0, 0, 1)
    if counts is None:
        counts = Counts(1, 0, 0) if ok else Counts(0, 1, 0)
    elif not ok and counts.failed == 0:
        # It reported its cases and died after them (a leak report, a crash in
        # teardown, a timeout): the run failed, whatever its cases said.
        counts.failed = 1
    return counts


def main(arguments):
    total = Counts()
    for argument in arguments:
        if "=" in argument:
            name, result = argument.split("=", 1)
            ok = result == "OK"
            counts = Counts(int(ok), int(not ok), 0)
            print(f"  {name}: {counts} ({result})")
            total.add(counts)
            continue
        label, _, path = argument.rpartition(":")
        with open(path) as log:
            for line in log:
                entry = json.loads(line)
                counts = count_cases(entry)
                name = f"{label} {entry['name']}" if label else entry["name"]
                print(f"  {name}: {counts} ({entry['result']})")
                total.add(counts)
    print(f"tests: {total}")


if __name__ == "__main__":
    main(sys.argv[1:])
