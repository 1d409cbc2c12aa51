// What the element tests share: ring names that main() can clean up after a
// crashed test, harnesses around shmringsink and shmringsrc, numbered
// buffers that say where they came from, a trace of what the source pushes,
// and a source pipeline that can be held back.
#pragma once

#include <gst/app/gstappsink.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include <functional>
#include <string>
#include <vector>

namespace shmring_check {

// check runs each test in a forked child: rings are named after the runner
// (this process), so that remove_rings_left_behind() finds whatever a crashed
// test left.
void remember_runner();
std::string ring_name(const char *what);
bool ring_exists(const std::string &name);
// Removes (and names on stderr) every ring of this runner still in /dev/shm;
// true if there was any.
bool remove_rings_left_behind();

GstHarness *sink_harness(const std::string &ring, const char *extra = "");

// A shmringsink harness for application/x-test whose messages go to a bus of
// the test's own (a harness has none). At its end the sink must have taken
// its ring with it.
struct WatchedSink {
  const std::string ring;
  GstHarness *harness;
  GstElement *element;
  GstBus *bus;

  explicit WatchedSink(const std::string &ring, const char *extra = "");
  ~WatchedSink();
  WatchedSink(const WatchedSink &) = delete;
  WatchedSink &operator=(const WatchedSink &) = delete;
};

// Everything that leaves the source, in order: "caps:<format or structure
// name>", "event:<name>", "custom:<structure name>", "buffer:<offset>".
struct Trace {
  GMutex lock;
  std::vector<std::string> items;
  Trace() { g_mutex_init(&lock); }
  ~Trace() { g_mutex_clear(&lock); }
  std::vector<std::string> snapshot() {
    g_mutex_lock(&lock);
    auto copy = items;
    g_mutex_unlock(&lock);
    return copy;
  }
};

// A shmringsink harness with `caps` and a playing shmringsrc harness on one
// ring (the source made once the sink has its caps). At their end both are
// torn down, the source first, and the ring must be gone.
struct HarnessPair {
  const std::string ring;
  GstHarness *sink;
  GstHarness *src;

  HarnessPair(const std::string &ring, const char *caps, const char *sink_extra,
              const char *src_extra, Trace *trace = nullptr);
  ~HarnessPair();
  HarnessPair(const HarnessPair &) = delete;
  HarnessPair &operator=(const HarnessPair &) = delete;
};

// A playing shmringsrc harness; with `trace`, everything it pushes is traced
// from the very first event.
GstHarness *src_harness(const std::string &ring, const char *extra = "", Trace *trace = nullptr);
// What a harness's source pushed: the next buffer, failing the test if none
// came within 5 s, and the next event, null if none came within 5 s.
// (gst_harness_pull() and gst_harness_pull_event() wait a minute each: a
// source that never pushes what a test waits for would make that test a
// minute long, ended by check's timeout instead of a message.)
GstBuffer *pull_buffer(GstHarness *h);
GstEvent *pull_event(GstHarness *h);
// Pulls the source's events up to its EOS, handing each one before it to
// `look`; fails the test if one of them (EOS at last) does not come within
// 5 s.
void events_until_eos(GstHarness *h, const std::function<void(GstEvent *)> &look = {});
// Sets `element` to `state` from a thread of its own and returns the
// change's result, failing the test if the change has not returned within
// 5 s (a stop that hangs fails its test with a message, not check's timeout).
GstStateChangeReturn set_state_within_5_s(GstElement *element, GstState state);
// The traced items, in order, are exactly `expected`.
void expect_sequence(const std::vector<std::string> &items,
                     const std::vector<std::string> &expected);

// gst_harness_new_parse() puts the element in a bin: this is the element.
GstElement *element_of(GstHarness *h, const char *factory);
// A field of an element's "stats" structure.
guint64 stat_of(GstElement *element, const char *field);
// ... one of its 32-bit fields (readers, slots-held).
guint uint_stat_of(GstElement *element, const char *field);
// The sink's count of attached readers.
guint readers_of(GstElement *writer);

// Buffer n of a stream: its bytes, timestamps, offsets and flags all follow
// from n (odd ones are delta units, 3 is a header and a marker).
GstBuffer *numbered_buffer(guint64 n, gsize size);
void check_numbered_buffer(GstBuffer *buffer, guint64 n, gsize size);
// Pushes numbered buffers from..to (32 bytes), each accepted.
void push_numbered(GstHarness *sink, guint64 from, guint64 to);

// The first error on `bus` (or on the bus of `pipeline`), waiting up to
// 5 s; its debug string too, when `debug` is given. Null if none came.
GError *first_error(GstBus *bus, gchar **debug = nullptr);
GError *first_error(GstElement *pipeline);
// An error came, with `text` in its message (and `debug_text` in its debug
// string, when given).
void expect_error_on(GstBus *bus, const char *text, const char *debug_text = nullptr);
void expect_error_containing(GstElement *pipeline, const char *text);
// A settings error: the pipeline fails to start, with `text` on the bus.
void expect_start_to_fail_with(const char *description, const char *text);

// Polls (bounded: 5 s) until `condition` holds; false if it never did.
template <typename Condition>
bool eventually(Condition condition) {
  for (int i = 0; i < 5000; ++i) {
    if (condition())
      return true;
    g_usleep(1000);
  }
  return condition();
}

// A source pipeline whose appsink keeps one buffer queued: once it holds one
// and the source pushes the next, the source's thread waits in that push and
// reads nothing more, so the writer can run ahead of it.
struct ReaderPipeline {
  GstElement *pipeline = nullptr;
  GstElement *src = nullptr;
  GstElement *out = nullptr;
  GstBus *bus = nullptr;

  ReaderPipeline(const std::string &ring, const char *extra);
  ~ReaderPipeline();
  ReaderPipeline(const ReaderPipeline &) = delete;
  ReaderPipeline &operator=(const ReaderPipeline &) = delete;
  // The next buffer (a new reference), or a failure after 5 s.
  GstBuffer *pull();
};

}  // namespace shmring_check

// Each file of tests adds its own to the suite.
void add_stream_tests(TCase *tc);
void add_time_tests(TCase *tc);
void add_settings_and_errors_tests(TCase *tc);
void add_zero_copy_tests(TCase *tc);
void add_readers_tests(TCase *tc);
