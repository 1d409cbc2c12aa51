"""tools/summarize_tests.py: the closing line of tools/test.sh counts a
crash as a failure and a skip as a skip, never either as a pass."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "summarize_tests.py")


def summary(*entries, extra=()):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as log:
        for entry in entries:
            log.write(json.dumps(entry) + "\n")
    try:
        out = subprocess.run([sys.executable, SCRIPT, log.name, *extra], capture_output=True,
                             text=True, check=True).stdout
    finally:
        os.unlink(log.name)
    return out.strip().splitlines()[-1]


GTEST_OK = "[ RUN      ] A.b\n[       OK ] A.b (1 ms)\n"


class SummaryLine(unittest.TestCase):
    def test_googletest_passes_and_skips(self):
        out = GTEST_OK + "[ RUN      ] A.c\n[  SKIPPED ] A.c (0 ms)\n" \
            "[==========] 2 tests from 1 test suite ran.\n"
        self.assertEqual(summary(dict(name="core", result="OK", stdout=out)),
                         "tests: 1 passed, 0 failed, 1 skipped")

    def test_a_googletest_crash_fails_the_case_it_was_in(self):
        out = GTEST_OK + "[ RUN      ] A.c\n"
        self.assertEqual(summary(dict(name="core", result="ERROR", stdout=out,
                                      stderr="Segmentation fault")),
                         "tests: 1 passed, 1 failed, 0 skipped")

    def test_a_run_that_dies_after_its_cases_still_fails(self):
        out = GTEST_OK + "[==========] 1 test from 1 test suite ran.\n"
        self.assertEqual(summary(dict(name="core", result="FAIL", stdout=out)),
                         "tests: 1 passed, 1 failed, 0 skipped")

    def test_unittest_skips_are_skips(self):
        err = "test_a (m.C.test_a) ... ok\ntest_b (m.C.test_b) ... skipped 'why'\n\n" \
              "Ran 2 tests in 1.0s\n\nOK (skipped=1)\n"
        self.assertEqual(summary(dict(name="mp", result="OK", stderr=err)),
                         "tests: 1 passed, 0 failed, 1 skipped")

    def test_unittest_killed_mid_case_fails(self):
        err = "test_a (m.C.test_a) ... ok\ntest_b (m.C.test_b) ... "
        self.assertEqual(summary(dict(name="mp", result="TIMEOUT", stderr=err)),
                         "tests: 1 passed, 1 failed, 0 skipped")

    def test_unittest_failures_and_errors(self):
        err = "Ran 3 tests in 1.0s\n\nFAILED (failures=1, errors=1)\n"
        self.assertEqual(summary(dict(name="mp", result="FAIL", stderr=err)),
                         "tests: 1 passed, 2 failed, 0 skipped")

    def test_expected_failures_and_unexpected_successes(self):
        err = "Ran 5 tests in 1.0s\n\nOK (skipped=1, expected failures=2)\n"
        self.assertEqual(summary(dict(name="mp", result="OK", stderr=err)),
                         "tests: 4 passed, 0 failed, 1 skipped")
        err = "Ran 3 tests in 1.0s\n\nFAILED (unexpected successes=1)\n"
        self.assertEqual(summary(dict(name="mp", result="FAIL", stderr=err)),
                         "tests: 2 passed, 1 failed, 0 skipped")

    def test_a_suite_that_ran_nothing_fails(self):
        err = "\n----\nRan 0 tests in 0.000s\n\nOK\n"
        self.assertEqual(summary(dict(name="mp", result="OK", stderr=err)),
                         "tests: 0 passed, 1 failed, 0 skipped")

    def test_a_program_that_skipped_itself(self):
        err = ("test_a (m.C.test_a) ... skipped 'no unshare'\ntest_b (m.C.test_b) ... skipped 'x'\n"
               "\nRan 2 tests in 0.1s\n\nOK (skipped=2)\n")
        self.assertEqual(summary(dict(name="mp", result="SKIP", stderr=err)),
                         "tests: 0 passed, 0 failed, 2 skipped")
        self.assertEqual(summary(dict(name="x", result="SKIP", stdout="")),
                         "tests: 0 passed, 0 failed, 1 skipped")

    def test_check_counts(self):
        out = "100%: Checks: 20, Failures: 1, Errors: 1\n"
        self.assertEqual(summary(dict(name="elements", result="FAIL", stdout=out)),
                         "tests: 18 passed, 2 failed, 0 skipped")

    def test_a_program_that_printed_nothing(self):
        self.assertEqual(summary(dict(name="x", result="ERROR", stdout="")),
                         "tests: 0 passed, 1 failed, 0 skipped")

    def test_runs_outside_meson(self):
        self.assertEqual(summary(extra=["fuzz=OK", "soak=FAIL"]),
                         "tests: 1 passed, 1 failed, 0 skipped")


if __name__ == "__main__":
    unittest.main(verbosity=2)
