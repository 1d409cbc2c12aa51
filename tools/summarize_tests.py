#!/usr/bin/env python3
"""Counts the test cases inside each meson test (GoogleTest, Check, unittest)
and prints one closing line: 'tests: N passed, M failed'.

  summarize_tests.py LOG [LABEL:LOG ...] [NAME=OK|FAIL ...]

LOG is a meson testlog.json; LABEL prefixes its tests' names. NAME=RESULT
counts one more test run outside meson (the fuzz run)."""
import json
import re
import sys


def count_cases(entry):
    """(passed, failed) test cases of one meson test, from its output."""
    out = (entry.get("stdout") or "") + (entry.get("stderr") or "")
    ok = entry["result"] == "OK"
    if m := re.search(r"\[==========\] (\d+) tests? from .* ran", out):   # GoogleTest
        total = int(m.group(1))
        failed = len(re.findall(r"^\[  FAILED  \] \S+\.\S+", out, re.M)) // 2 if not ok else 0
        return total - failed, failed
    if m := re.search(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)", out):  # Check
        total, failures, errors = map(int, m.groups())
        return total - failures - errors, failures + errors
    if m := re.search(r"^Ran (\d+) tests?", out, re.M):                   # unittest
        total = int(m.group(1))
        failed = 0
        if f := re.search(r"FAILED \((.*)\)", out):
            failed = sum(int(n) for n in re.findall(r"=(\d+)", f.group(1)))
        return total - failed, failed
    return (1, 0) if ok else (0, 1)


def main(arguments):
    passed = failed = 0
    for argument in arguments:
        if "=" in argument:
            name, result = argument.split("=", 1)
            ok = result == "OK"
            print(f"  {name}: {int(ok)} passed, {int(not ok)} failed ({result})")
            passed += ok
            failed += not ok
            continue
        label, _, path = argument.rpartition(":")
        with open(path) as log:
            for line in log:
                entry = json.loads(line)
                p, f = count_cases(entry)
                if entry["result"] != "OK" and f == 0:
                    f = 1  # crashed or timed out before it could report
                name = f"{label} {entry['name']}" if label else entry["name"]
                print(f"  {name}: {p} passed, {f} failed ({entry['result']})")
                passed += p
                failed += f
    print(f"tests: {passed} passed, {failed} failed")


if __name__ == "__main__":
    main(sys.argv[1:])
