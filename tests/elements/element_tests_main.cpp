// shmringsink and shmringsrc through GstHarness and small pipelines, in one
// process (the ring is real shared memory all the same; the two-process
// tests live in tests/multiprocess). Each test_*.cpp here holds the tests of
// one subject.
#include <gst/check/gstcheck.h>

#include "element_test_support.hpp"

static Suite *shmring_suite(void) {
  Suite *suite = suite_create("shmring elements");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 60);
  suite_add_tcase(suite, tc);
  add_stream_tests(tc);
  add_time_tests(tc);
  add_settings_and_errors_tests(tc);
  add_zero_copy_tests(tc);
  add_readers_tests(tc);
  return suite;
}

int main(int argc, char **argv) {
  shmring_check::remember_runner();
  gst_check_init(&argc, &argv);
  int failed = gst_check_run_suite(shmring_suite(), "shmring", __FILE__);
  // Whatever a test left behind (it may have crashed) goes now, and counts
  // as a failure.
  if (shmring_check::remove_rings_left_behind())
    failed = 1;
  return failed;
}
