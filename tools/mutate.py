#!/usr/bin/env python3
"""Plants the one-line bugs of tools/mutants.txt one at a time in a scratch
copy of the tree, rebuilds, and runs the suites that should catch each.
Prints one line per mutant and 'mutants: N caught, M survived', naming the
survivors; exits 1 if any survived (a promise without a test).

  tools/mutate.sh [--only NAME ...] [--keep] [--baseline-passed]

The unmutated tree must pass every suite named first: otherwise a "caught"
would mean nothing. (--baseline-passed: the caller has just run every suite
on this very tree, as tools/test.sh does, and they passed.) A suite stops at
its first failing test (gtest's GTEST_FAIL_FAST, unittest's --failfast): one
red test is the verdict, and the rest of the suite would only take time.
A mutant's `tests:` line names the tests that catch it (suite:test): those
run first, alone, and only when none goes red do its suites run whole. A
stale name costs time, never a verdict: the whole suites still decide. Each
verdict names the test that went red.
Shared memory objects that a mutant's run leaves behind are removed: only
those that were not there before and whose owner is dead (another job's
live objects are left alone)."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Mutant:
    name: str
    promise: str = ""
    file: str = ""
    old: str = ""
    new: str = ""
    suites: list = field(default_factory=list)
    tests: list = field(default_factory=list)  # (suite, test name), run first


def parse_mutants(path):
    mutants, current = [], None
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("#"):
                continue
            if not line.strip():
                current = None
                continue
            key, _, value = line.partition(":")
            value = value.strip().replace("\\n", "\n")
            if key == "mutant":
                current = Mutant(value)
                mutants.append(current)
            elif current is None or key not in ("promise", "file", "old", "new", "suites",
                                                "tests"):
                sys.exit(f"{path}:{number}: unexpected line: {line}")
            elif key == "suites":
                current.suites = value.split()
            elif key == "tests":
                for item in value.split():
                    suite, _, test = item.partition(":")
                    if not (suite and test):
                        sys.exit(f"{path}:{number}: '{item}' is not suite:test")
                    current.tests.append((suite, test))
            else:
                setattr(current, key, value)
    for m in mutants:
        if not (m.file and m.old and m.suites):
            sys.exit(f"{path}: mutant {m.name} lacks file, old or suites")
    return mutants


def check_applies(tree, mutant):
    with open(os.path.join(tree, mutant.file)) as f:
        count = f.read().count(mutant.old)
    if count != 1:
        return f"its old text occurs {count} times in {mutant.file}, not once"
    return None


def copy_tree(destination):
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           check=True, capture_output=True).stdout.split(b"\0")
    for name in filter(None, files):
        source = os.path.join(ROOT, os.fsdecode(name))
        if not os.path.isfile(source):
            continue  # deleted in the working tree
        target = os.path.join(destination, os.fsdecode(name))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(source, target)


def shm_objects():
    return {n for n in os.listdir("/dev/shm") if n.startswith("shmring.")}


def remove_dead_leftovers(build_dir, before):
    """Removes objects that appeared during the run and whose owner is dead
    (a mutant's crash left them). Live ones are another job's: kept."""
    tool = os.path.join(build_dir, "tools", "shmring")
    for leftover in shm_objects() - before:
        name = leftover[len("shmring."):]
        run = subprocess.run([tool, "info", name, "--json"], capture_output=True, text=True)
        try:
            dead = run.returncode == 0 and not json.loads(run.stdout).get("owner_alive", True)
        except ValueError:
            dead = False
        if dead:
            try:
                os.unlink(os.path.join("/dev/shm", leftover))
            except FileNotFoundError:
                pass


def suite_kinds(build):
    """Each suite's test framework: gtest, python (unittest) or check
    (GstCheck, the element tests)."""
    tests = json.loads(subprocess.run(["meson", "introspect", "--tests", build], check=True,
                                      capture_output=True, text=True).stdout)
    kinds = {}
    for t in tests:
        if t.get("protocol") == "gtest":
            kinds[t["name"]] = "gtest"
        elif os.path.basename(t["cmd"][0]).startswith("python"):
            kinds[t["name"]] = "python"
        else:
            kinds[t["name"]] = "check"
    return kinds


# What each framework prints: a test that failed, one that started (the one
# running when a suite crashed or timed out), and how many ran.
FAILED = {"gtest": r"^\[  FAILED  \] (\w+\.\w+)",
          "python": r"^(?:FAIL|ERROR): (\w+) \(",
          "check": r":[FE]:[^:]*:(\w+):"}
STARTED = {"gtest": r"^\[ RUN      \] (\w+\.\w+)", "python": r"^(test\w*) \(", "check": None}
RAN = {"gtest": r"^\[==========\] (\d+) tests? from", "python": r"^Ran (\d+) tests?",
       "check": r"Checks: (\d+)"}


def suite_log(build):
    """What meson logged of the suite it ran last."""
    with open(os.path.join(build, "meson-logs", "testlog.txt"), errors="replace") as f:
        return f.read()


def what_went_red(build, kind):
    """The first failed test of the suite that just ran, from meson's log
    of it; for a suite that crashed or timed out, the test it was in (when
    the framework says which)."""
    text = suite_log(build)
    failed = re.search(FAILED[kind], text, re.M)
    if failed:
        return failed.group(1)
    started = re.findall(STARTED[kind], text, re.M) if STARTED[kind] else []
    return f"crashed or timed out in {started[-1]}" if started else "crashed or timed out"


def tests_that_ran(build, kind):
    found = re.search(RAN[kind], suite_log(build), re.M)
    return int(found.group(1)) if found else None


def run_suite(build, suite, log, fail_fast=False, kind="gtest", only=()):
    """True when the suite passed. With fail_fast it ends at its first
    failing test; with `only` (test names) it runs those alone."""
    command = ["meson", "test", "-C", build, "--no-rebuild", "--num-processes", "2",
               "--timeout-multiplier", "0.5", "--print-errorlogs", suite]
    env = dict(os.environ)
    test_args = []
    if fail_fast:
        env["GTEST_FAIL_FAST"] = "1"
        if kind == "python":
            test_args.append("--failfast")
    if only:
        if kind == "gtest":
            test_args.append("--gtest_filter=" + ":".join(only))
        elif kind == "python":
            test_args += [arg for name in only for arg in ("-k", name)]
        else:
            env["GST_CHECKS"] = ",".join(only)
    command[4:4] = [f"--test-args={arg}" for arg in test_args]
    result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    return result.returncode == 0


def first_catch(build_dir, mutant, log, kinds):
    """(verdict, caught): the mutant's own tests first, then its suites."""
    notes = []
    for suite in dict.fromkeys(suite for suite, _ in mutant.tests):
        only = [test for s, test in mutant.tests if s == suite]
        if not run_suite(build_dir, suite, log, True, kinds[suite], only):
            return f"caught by {suite}: {what_went_red(build_dir, kinds[suite])}", True
        if tests_that_ran(build_dir, kinds[suite]) == 0:
            notes.append(f"its tests: {', '.join(only)} ran nothing in {suite}")
        else:
            notes.append(f"its tests: {', '.join(only)} stayed green")
    for suite in mutant.suites:
        if not run_suite(build_dir, suite, log, True, kinds[suite]):
            return "; ".join([f"caught by {suite}: {what_went_red(build_dir, kinds[suite])}"] +
                             notes), True
    return f"SURVIVED {' '.join(mutant.suites)}", False


def build(build_dir, log):
    return subprocess.run(["ninja", "-C", build_dir], stdout=log,
                          stderr=subprocess.STDOUT).returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", help="mutant names to run")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy")
    parser.add_argument("--baseline-passed", action="store_true",
                        help="every suite has just passed on this tree: do not run them again")
    args = parser.parse_args()
    mutants = parse_mutants(os.path.join(ROOT, "tools", "mutants.txt"))
    if args.only:
        unknown = set(args.only) - {m.name for m in mutants}
        if unknown:
            sys.exit(f"no such mutant: {', '.join(sorted(unknown))}")
        mutants = [m for m in mutants if m.name in args.only]
    problems = [(m.name, why) for m in mutants if (why := check_applies(ROOT, m))]
    if problems:
        for name, why in problems:
            print(f"mutant {name} does not apply: {why}")
        return 2

    scratch = tempfile.mkdtemp(prefix="shmring-mutate-")
    os.chmod(scratch, 0o755)  # the other-users suite runs the build as other users
    build_dir = os.path.join(scratch, "build")
    log_path = os.path.join(scratch, "mutate.log")
    before = shm_objects()
    started = time.monotonic()
    try:
        copy_tree(scratch)
        with open(log_path, "w") as log:
            subprocess.run(["meson", "setup", build_dir], cwd=scratch, stdout=log,
                           stderr=subprocess.STDOUT, check=True)
            if not build(build_dir, log):
                print(f"the unmutated tree does not build: {log_path}")
                return 2
            suites = list(dict.fromkeys(s for m in mutants for s in m.suites))
            kinds = suite_kinds(build_dir)
            unknown = {s for m in mutants for s in m.suites + [t[0] for t in m.tests]} - set(kinds)
            if unknown:
                print(f"no such suite: {', '.join(sorted(unknown))}")
                return 2
            for suite in [] if args.baseline_passed else suites:
                if not run_suite(build_dir, suite, log, kind=kinds[suite]):
                    print(f"the unmutated tree fails suite {suite}: nothing to measure "
                          f"(see {log_path})")
                    return 2
            print(f"baseline: {len(suites)} suites pass "
                  f"({'as the caller ran them' if args.baseline_passed else 'here'}, "
                  f"{time.monotonic() - started:.0f} s)", flush=True)

        caught, survived = [], []
        for m in mutants:
            path = os.path.join(scratch, m.file)
            with open(path) as f:
                original = f.read()
            with open(path, "w") as f:
                f.write(original.replace(m.old, m.new, 1))
            mutant_started = time.monotonic()
            with open(log_path, "a") as log:
                log.write(f"\n==== mutant {m.name}\n")
                log.flush()
                if not build(build_dir, log):
                    verdict = "does not build (fix the mutant)"
                    survived.append(m.name)
                else:
                    verdict, was_caught = first_catch(build_dir, m, log, kinds)
                    (caught if was_caught else survived).append(m.name)
            with open(path, "w") as f:
                f.write(original)
            remove_dead_leftovers(build_dir, before)
            print(f"  {m.name}: {verdict} ({time.monotonic() - mutant_started:.0f} s)"
                  f"  [{m.promise}]", flush=True)
    finally:
        if os.path.exists(os.path.join(build_dir, "tools", "shmring")):
            remove_dead_leftovers(build_dir, before)
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    line = f"mutants: {len(caught)} caught, {len(survived)} survived"
    if survived:
        line += f" ({', '.join(survived)})"
    print(line + f" in {time.monotonic() - started:.0f} s")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
