// The reader's timestamps and latency: timestamp-mode clock (across
// clocks, before the reader's zero) and arrival, and the latency the source
// reports and announces.
#include <string>

#include <gst/check/gsttestclock.h>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include "element_test_support.hpp"

using namespace shmring_check;

namespace {

// A sink and a source (`src_extra`: its timestamp mode; clock by default)
// on one ring, both on the system clock; each test sets the base times.
struct TimedPair : HarnessPair {
  GstClock *clock;
  GstElement *writer;
  GstElement *reader;

  explicit TimedPair(const std::string &ring, const char *src_extra = "")
      : HarnessPair(ring, "application/x-test", "", src_extra),
        clock(gst_system_clock_obtain()),
        writer(element_of(sink, "shmringsink")),
        reader(element_of(src, "shmringsrc")) {
    gst_element_set_clock(writer, clock);
    gst_element_set_clock(reader, clock);
  }
  ~TimedPair() { gst_object_unref(clock); }
};

}  // namespace

GST_START_TEST(test_clock_mode_maps_writer_time_to_reader_running_time) {
  TimedPair pair(ring_name("clock"));  // timestamp-mode=clock, the default
  // Both elements on one clock; the writer started 1 s of clock time before
  // the reader. A writer PTS of 2 s (running time 2 s) is then clock time
  // base_w + 2 s, which is running time 1 s for the reader.
  const GstClockTime base = gst_clock_get_time(pair.clock);
  gst_element_set_base_time(pair.writer, base);
  gst_element_set_base_time(pair.reader, base + GST_SECOND);

  GstBuffer *buffer = numbered_buffer(0, 8);
  GST_BUFFER_PTS(buffer) = 2 * GST_SECOND;
  GST_BUFFER_DTS(buffer) = 2 * GST_SECOND - 10 * GST_MSECOND;
  gst_harness_push(pair.sink, buffer);
  GstBuffer *out = pull_buffer(pair.src);
  fail_unless_equals_uint64(GST_BUFFER_PTS(out), 1 * GST_SECOND);
  fail_unless_equals_uint64(GST_BUFFER_DTS(out), 1 * GST_SECOND - 10 * GST_MSECOND);
  fail_unless_equals_uint64(GST_BUFFER_DURATION(out), 40 * GST_MSECOND);
  gst_buffer_unref(out);
}
GST_END_TEST;

GST_START_TEST(test_clock_mode_maps_across_different_clocks) {
  TimedPair pair(ring_name("other-clock"));  // timestamp-mode=clock
  // The writer on the monotonic system clock; the reader on a clock of its
  // own (as under an audio sink's clock) that reads 1000 s.
  GstClock *other = gst_test_clock_new_with_start_time(1000 * GST_SECOND);
  gst_element_set_clock(pair.reader, other);
  gst_element_set_base_time(pair.reader, 990 * GST_SECOND);  // reader running time now: 10 s
  // Writer: PTS 2 s at base time "now - 3 s": the instant 1 s ago.
  const GstClockTime pushed_at = gst_clock_get_time(pair.clock);
  gst_element_set_base_time(pair.writer, pushed_at - 3 * GST_SECOND);
  GstBuffer *buffer = numbered_buffer(0, 8);
  GST_BUFFER_PTS(buffer) = 2 * GST_SECOND;
  GST_BUFFER_DTS(buffer) = GST_CLOCK_TIME_NONE;
  gst_harness_push(pair.sink, buffer);
  GstBuffer *out = pull_buffer(pair.src);
  const GstClockTime pulled_at = gst_clock_get_time(pair.clock);
  // 1 s before the reader's "now" (10 s), less however long the trip took on
  // the monotonic clock (the reader samples the offset when it reads); 1 us
  // for the offset's microsecond resolution.
  const GstClockTime expected_latest = 9 * GST_SECOND;
  const GstClockTime expected_earliest = 9 * GST_SECOND - (pulled_at - pushed_at) - GST_USECOND;
  fail_unless(GST_BUFFER_PTS(out) <= expected_latest + GST_USECOND &&
                  GST_BUFFER_PTS(out) >= expected_earliest,
              "PTS %" GST_TIME_FORMAT " not within [%" GST_TIME_FORMAT ", %" GST_TIME_FORMAT "]",
              GST_TIME_ARGS(GST_BUFFER_PTS(out)), GST_TIME_ARGS(expected_earliest),
              GST_TIME_ARGS(expected_latest));
  gst_buffer_unref(out);
  gst_object_unref(other);
}
GST_END_TEST;

// design-notes: "A frame written before the reader's pipeline started
// playing maps to a negative running time; it is stamped 0 (the reader's
// start) rather than dropped".
GST_START_TEST(test_clock_mode_stamps_a_frame_older_than_the_reader_zero) {
  TimedPair pair(ring_name("before-start"));  // timestamp-mode=clock
  const GstClockTime base = gst_clock_get_time(pair.clock);
  gst_element_set_base_time(pair.writer, base);
  gst_element_set_base_time(pair.reader, base + 5 * GST_SECOND);  // started 4 s after the frame
  GstBuffer *buffer = numbered_buffer(0, 8);
  GST_BUFFER_PTS(buffer) = 1 * GST_SECOND;
  GST_BUFFER_DTS(buffer) = 1 * GST_SECOND - 10 * GST_MSECOND;
  gst_harness_push(pair.sink, buffer);
  GstBuffer *out = pull_buffer(pair.src);
  fail_unless_equals_uint64(GST_BUFFER_PTS(out), 0);
  fail_unless_equals_uint64(GST_BUFFER_DTS(out), 0);
  gst_buffer_unref(out);
  fail_unless_equals_uint64(stat_of(pair.reader, "received"), 1);
}
GST_END_TEST;

// Our running time stands still while the source is paused: a frame that
// reached the ring then (a writer's backlog, read on resume) is stamped no
// earlier than the frame before it. The base time a pipeline sets on
// resume (moved on by the pause) placed it before the pause, one backwards
// step per pause (found by a hostile test cycling PLAYING and PAUSED).
GST_START_TEST(test_arrival_stamps_never_go_back_across_a_pause) {
  TimedPair pair(ring_name("arrival-pause"), "timestamp-mode=arrival");
  const GstClockTime base = gst_clock_get_time(pair.clock);
  gst_element_set_base_time(pair.reader, base);
  g_usleep(100 * 1000);
  gst_harness_push(pair.sink, numbered_buffer(0, 8));
  GstBuffer *before = pull_buffer(pair.src);
  // Paused (a live source makes nothing), as a pipeline pauses it. A read
  // already waiting may take one frame that comes meanwhile (stamped on the
  // base time of then); the next stays in the ring until the resume.
  gst_element_set_state(pair.reader, GST_STATE_PAUSED);
  const GstClockTime paused_at = gst_clock_get_time(pair.clock) - base;
  g_usleep(50 * 1000);
  gst_harness_push(pair.sink, numbered_buffer(1, 8));
  gst_harness_push(pair.sink, numbered_buffer(2, 8));
  g_usleep(250 * 1000);
  // Resumed: the base time moves on by the pause, so that the running time
  // goes on from where it stood.
  gst_element_set_base_time(pair.reader, gst_clock_get_time(pair.clock) - paused_at);
  gst_element_set_state(pair.reader, GST_STATE_PLAYING);
  GstClockTime last = GST_BUFFER_PTS(before);
  gst_buffer_unref(before);
  for (int n = 1; n <= 2; ++n) {
    GstBuffer *after = pull_buffer(pair.src);
    fail_unless(GST_BUFFER_PTS(after) >= last,
                "frame %d stamped %" GST_TIME_FORMAT " after %" GST_TIME_FORMAT, n,
                GST_TIME_ARGS(GST_BUFFER_PTS(after)), GST_TIME_ARGS(last));
    last = GST_BUFFER_PTS(after);
    gst_buffer_unref(after);
  }
}
GST_END_TEST;

// timestamp-mode=arrival stamps a frame with the instant it reached the ring,
// not the (later) instant the reader got round to it.
GST_START_TEST(test_arrival_mode_stamps_when_the_frame_reached_the_ring) {
  TimedPair pair(ring_name("arrival"), "timestamp-mode=arrival");
  gst_element_set_base_time(pair.reader, gst_clock_get_time(pair.clock));
  gst_harness_push(pair.sink, numbered_buffer(0, 8));
  g_usleep(200 * 1000);
  gst_harness_push(pair.sink, numbered_buffer(1, 8));
  g_usleep(300 * 1000);
  GstBuffer *first = pull_buffer(pair.src);
  GstBuffer *second = pull_buffer(pair.src);
  const GstClockTime now = gst_clock_get_time(pair.clock) - gst_element_get_base_time(pair.reader);
  fail_unless(GST_BUFFER_PTS(second) >= GST_BUFFER_PTS(first) + 200 * GST_MSECOND);
  // README: "DTS unset" in arrival mode (the writer's buffers had one).
  fail_if(GST_BUFFER_DTS_IS_VALID(first));
  fail_if(GST_BUFFER_DTS_IS_VALID(second));
  // design-notes: "In that mode the source reports no latency of its own."
  GstQuery *query = gst_query_new_latency();
  fail_unless(gst_element_query(pair.reader, query));
  GstClockTime min = GST_CLOCK_TIME_NONE;
  gst_query_parse_latency(query, nullptr, &min, nullptr);
  gst_query_unref(query);
  fail_unless_equals_uint64(min, 0);
  fail_unless(now >= GST_BUFFER_PTS(second) + 300 * GST_MSECOND,
              "stamped at %" GST_TIME_FORMAT ", read at %" GST_TIME_FORMAT,
              GST_TIME_ARGS(GST_BUFFER_PTS(second)), GST_TIME_ARGS(now));
  gst_buffer_unref(first);
  gst_buffer_unref(second);
}
GST_END_TEST;

// The source's LATENCY answer: live, min = the writer pipeline's latency
// (published by its sink) + one frame, max = the writer's + the ring's
// depth in frames.
GST_START_TEST(test_latency_is_the_writers_plus_one_frame) {
  HarnessPair pair(ring_name("latency"), "video/x-raw,format=GRAY8,width=8,height=4,framerate=25/1",
                   "slots=6", "");
  // What a live writer pipeline tells its sinks once it has its latency.
  fail_unless(gst_element_send_event(element_of(pair.sink, "shmringsink"),
                                     gst_event_new_latency(100 * GST_MSECOND)));
  gst_harness_push(pair.sink, numbered_buffer(0, 32));
  gst_buffer_unref(pull_buffer(pair.src));

  GstQuery *query = gst_query_new_latency();
  fail_unless(gst_element_query(element_of(pair.src, "shmringsrc"), query));
  gboolean live = FALSE;
  GstClockTime min = 0, max = 0;
  gst_query_parse_latency(query, &live, &min, &max);
  gst_query_unref(query);
  fail_unless(live);
  fail_unless_equals_uint64(min, 100 * GST_MSECOND + 40 * GST_MSECOND);
  fail_unless_equals_uint64(max, 100 * GST_MSECOND + 6 * 40 * GST_MSECOND);
}
GST_END_TEST;

// When what the source would answer changes (the writer pipeline's latency
// here), it posts a LATENCY message so that the pipeline asks again: once,
// and within the next buffers (it compares at most every 10 ms).
GST_START_TEST(test_a_new_writer_latency_is_announced_with_a_latency_message) {
  HarnessPair pair(ring_name("latency-change"),
                   "video/x-raw,format=GRAY8,width=8,height=4,framerate=25/1", "slots=6", "");
  GstElement *reader = element_of(pair.src, "shmringsrc");
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(reader, bus);
  fail_unless(gst_element_send_event(element_of(pair.sink, "shmringsink"),
                                     gst_event_new_latency(100 * GST_MSECOND)));
  gst_harness_push(pair.sink, numbered_buffer(0, 32));
  gst_buffer_unref(pull_buffer(pair.src));
  GstQuery *query = gst_query_new_latency();
  fail_unless(gst_element_query(reader, query));
  gst_query_unref(query);
  gst_bus_set_flushing(bus, TRUE);  // what came before the answer
  gst_bus_set_flushing(bus, FALSE);

  fail_unless(gst_element_send_event(element_of(pair.sink, "shmringsink"),
                                     gst_event_new_latency(300 * GST_MSECOND)));
  int latency_messages = 0;
  for (int n = 1; n <= 30; ++n) {
    g_usleep(5 * 1000);
    gst_harness_push(pair.sink, numbered_buffer(n, 32));
    gst_buffer_unref(pull_buffer(pair.src));
    while (GstMessage *message = gst_bus_pop_filtered(bus, GST_MESSAGE_LATENCY)) {
      ++latency_messages;
      gst_message_unref(message);
    }
  }
  fail_unless_equals_int(latency_messages, 1);
  gst_element_set_bus(reader, nullptr);
  gst_object_unref(bus);
}
GST_END_TEST;

void add_time_tests(TCase *tc) {
  tcase_add_test(tc, test_clock_mode_maps_writer_time_to_reader_running_time);
  tcase_add_test(tc, test_clock_mode_maps_across_different_clocks);
  tcase_add_test(tc, test_clock_mode_stamps_a_frame_older_than_the_reader_zero);
  tcase_add_test(tc, test_arrival_stamps_never_go_back_across_a_pause);
  tcase_add_test(tc, test_arrival_mode_stamps_when_the_frame_reached_the_ring);
  tcase_add_test(tc, test_latency_is_the_writers_plus_one_frame);
  tcase_add_test(tc, test_a_new_writer_latency_is_announced_with_a_latency_message);
}
