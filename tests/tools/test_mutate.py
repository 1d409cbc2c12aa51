"""tools/mutate.py: a mutant's tests: line is read as suite:test pairs, and
each verdict names the test that went red, from what each framework prints
(a failed gtest, unittest or GstCheck test; the test a suite that crashed
or timed out was in); a selection that ran nothing is told apart from one
that stayed green."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import mutate  # noqa: E402


def parse(text):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(text)
    try:
        return mutate.parse_mutants(f.name)
    finally:
        os.unlink(f.name)


MUTANT = """mutant:  m
promise: p
file:    core/src/x.cpp
old:     a
new:     b
suites:  core elements
"""


class TestsLine(unittest.TestCase):
    def test_pairs_in_order(self):
        [m] = parse(MUTANT + "tests:   core:A.b elements:test_c core:A.d\n")
        self.assertEqual(m.tests, [("core", "A.b"), ("elements", "test_c"), ("core", "A.d")])
        self.assertEqual(m.suites, ["core", "elements"])

    def test_optional(self):
        [m] = parse(MUTANT)
        self.assertEqual(m.tests, [])

    def test_an_item_without_a_suite_is_refused(self):
        with self.assertRaises(SystemExit):
            parse(MUTANT + "tests:   A.b\n")


def red(kind, log):
    with tempfile.TemporaryDirectory() as build:
        os.makedirs(os.path.join(build, "meson-logs"))
        with open(os.path.join(build, "meson-logs", "testlog.txt"), "w") as f:
            f.write(log)
        return mutate.what_went_red(build, kind), mutate.tests_that_ran(build, kind)


class WhatWentRed(unittest.TestCase):
    def test_gtest_failure(self):
        log = ("[==========] 3 tests from 1 test suite ran.\n[ RUN      ] A.b\n[       OK ] A.b\n"
               "[ RUN      ] A.c\nx.cpp:3: Failure\n[  FAILED  ] A.c (2 ms)\n"
               "[  FAILED  ] 1 test, listed below:\n[  FAILED  ] A.c\n")
        self.assertEqual(red("gtest", log), ("A.c", 3))

    def test_gtest_crash_or_timeout_names_the_test_it_was_in(self):
        log = "[ RUN      ] A.b\n[       OK ] A.b (1 ms)\n[ RUN      ] A.c\n"
        self.assertEqual(red("gtest", log)[0], "crashed or timed out in A.c")

    def test_gtest_filter_that_matched_nothing(self):
        log = "[==========] 0 tests from 0 test suites ran. (0 ms total)\n[  PASSED  ] 0 tests.\n"
        self.assertEqual(red("gtest", log)[1], 0)

    def test_unittest_failure_and_error(self):
        log = ("test_a (m.C.test_a) ... ok\ntest_b (m.C.test_b) ... FAIL\n\n"
               "======\nFAIL: test_b (m.C.test_b)\n------\nRan 2 tests in 1.0s\n")
        self.assertEqual(red("python", log), ("test_b", 2))
        self.assertEqual(red("python", "ERROR: test_e (m.C.test_e)\nRan 1 test\n"),
                         ("test_e", 1))

    def test_unittest_crash_or_timeout_names_the_test_it_was_in(self):
        log = "test_a (m.C.test_a) ... ok\ntest_b (m.C.test_b) ... "
        self.assertEqual(red("python", log)[0], "crashed or timed out in test_b")

    def test_unittest_selection_that_matched_nothing(self):
        self.assertEqual(red("python", "\nRan 0 tests in 0.000s\n\nOK\n")[1], 0)

    def test_gstcheck_failure(self):
        log = ("50%: Checks: 2, Failures: 1, Errors: 0\n"
               "../t.cpp:111:F:general:test_eos_travels:0: EOS reached the reader\n")
        self.assertEqual(red("check", log), ("test_eos_travels", 2))

    def test_gstcheck_crash_or_timeout_says_so(self):
        self.assertEqual(red("check", "Running suite(s): shmring elements\n")[0],
                         "crashed or timed out")


if __name__ == "__main__":
    unittest.main(verbosity=2)
