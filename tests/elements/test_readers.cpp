// Readers that come, go, pause, stall and fall behind: join and leave
// messages, wait-for-readers, a stalled blocking reader, a leaky reader's
// losses (DISCONT, QoS, the wait for a keyframe).
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include "element_test_support.hpp"
#include "ring_record.h"
#include "shmring/reader.hpp"

using namespace shmring_check;

// With wait-for-readers, a sink whose last reader left holds the stream
// again at once: nothing is published into a ring nobody reads.
GST_START_TEST(test_a_sink_holds_the_stream_as_soon_as_its_last_reader_leaves) {
  const std::string ring = ring_name("last-leaves");
  GstHarness *sink = sink_harness(ring, "wait-for-readers=true");
  GstHarness *src = src_harness(ring, "timestamp-mode=original");
  fail_unless(gst_harness_push_event(sink, gst_event_new_stream_start("last-leaves")));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  fail_unless(gst_harness_push_event(sink, gst_event_new_segment(&segment)));
  for (guint64 n = 0; n < 3; ++n) {
    gst_harness_push(sink, numbered_buffer(n, 100));
    gst_buffer_unref(pull_buffer(src));
  }
  gst_harness_teardown(src);  // its reader leaves the ring
  // Render waits for a reader now: pushed from a thread of its own, and
  // ended by the sink's shutdown.
  std::thread pusher([sink] {
    for (guint64 n = 3; n < 6; ++n)
      if (gst_harness_push(sink, numbered_buffer(n, 100)) != GST_FLOW_OK)
        break;
  });
  g_usleep(300 * 1000);
  fail_unless_equals_uint64(stat_of(element_of(sink, "shmringsink"), "published"), 3);
  set_state_within_5_s(sink->element, GST_STATE_NULL);
  pusher.join();
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

namespace {

// A core reader of a sink's ring (which carries the plugin's record schema).
std::shared_ptr<shmring::Reader> plugin_schema_reader(const std::string &ring) {
  shmring::ReaderOptions options;
  options.name = ring;
  options.user = shmring::gst::kRecordSchema;
  return shmring::Reader::open(options);
}

// Reads the next record within 5 s and lets go of it.
bool read_and_release(shmring::Reader &reader) {
  shmring::Frame frame;
  if (reader.next(frame, shmring::deadline_after(std::chrono::seconds(5))) !=
      shmring::ReadStatus::Frame)
    return false;
  reader.release(frame.slot);
  return true;
}

// The shmring-reader-joined and -left messages waiting on `bus`, counted
// (every element message is taken off it).
struct ReaderMessages {
  int joined = 0;
  int left = 0;
};
ReaderMessages reader_messages(GstBus *bus) {
  ReaderMessages counted;
  while (GstMessage *message = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT)) {
    const GstStructure *structure = gst_message_get_structure(message);
    counted.joined += gst_structure_has_name(structure, "shmring-reader-joined");
    counted.left += gst_structure_has_name(structure, "shmring-reader-left");
    gst_message_unref(message);
  }
  return counted;
}

}  // namespace

// Every reader process that comes and goes while buffers flow is announced
// once as joined and once as left, however briefly it stayed (here: two
// records; each takes the entry the one before it left).
GST_START_TEST(test_every_brief_reader_is_announced_joined_and_left) {
  WatchedSink sink(ring_name("brief-readers"));
  guint64 n = 0;
  fail_unless_equals_int(gst_harness_push(sink.harness, numbered_buffer(n++, 64)), GST_FLOW_OK);
  constexpr int kReaders = 5;
  for (int r = 0; r < kReaders; ++r) {
    int joined_pipe[2];
    fail_unless(pipe(joined_pipe) == 0);
    const pid_t child = fork();
    if (child == 0) {
      auto reader = plugin_schema_reader(sink.ring);
      if (write(joined_pipe[1], "j", 1) != 1)
        _exit(2);
      for (int i = 0; i < 2; ++i)
        if (!read_and_release(*reader))
          _exit(3);
      reader.reset();  // leaves the ring
      _exit(0);
    }
    close(joined_pipe[1]);
    char mark = 0;
    fail_unless(read(joined_pipe[0], &mark, 1) == 1, "reader %d joined", r);
    close(joined_pipe[0]);
    for (int i = 0; i < 2; ++i)
      fail_unless_equals_int(gst_harness_push(sink.harness, numbered_buffer(n++, 64)), GST_FLOW_OK);
    int status = 0;
    fail_unless(waitpid(child, &status, 0) == child);
    fail_unless(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reader %d: status %d", r, status);
  }
  fail_unless_equals_int(gst_harness_push(sink.harness, numbered_buffer(n++, 64)), GST_FLOW_OK);
  const ReaderMessages messages = reader_messages(sink.bus);
  fail_unless_equals_int(messages.joined, kReaders);
  fail_unless_equals_int(messages.left, kReaders);
}
GST_END_TEST;

// A reader that leaves and comes back in the same process (a pipeline set
// to NULL and to PLAYING again) takes the same entry with the same pid: it
// is announced as having left and joined again all the same.
GST_START_TEST(test_a_reader_back_in_the_same_process_is_announced_again) {
  WatchedSink sink(ring_name("back-again"));
  guint64 n = 0;
  fail_unless_equals_int(gst_harness_push(sink.harness, numbered_buffer(n++, 64)), GST_FLOW_OK);
  constexpr int kStays = 3;
  for (int stay = 0; stay < kStays; ++stay) {
    auto reader = plugin_schema_reader(sink.ring);
    fail_unless_equals_int(gst_harness_push(sink.harness, numbered_buffer(n++, 64)), GST_FLOW_OK);
    fail_unless(read_and_release(*reader));
  }  // each stay's reader leaves before the next one joins
  fail_unless_equals_int(gst_harness_push(sink.harness, numbered_buffer(n++, 64)), GST_FLOW_OK);
  const ReaderMessages messages = reader_messages(sink.bus);
  fail_unless_equals_int(messages.joined, kStays);
  fail_unless_equals_int(messages.left, kStays);
}
GST_END_TEST;

namespace {
// A reader that never reads: its live pipeline waits in PAUSED.
GstElement *paused_reader(const std::string &ring) {
  GstElement *reader =
      gst_parse_launch(("shmringsrc ring=" + ring + " ! fakesink").c_str(), nullptr);
  gst_element_set_state(reader, GST_STATE_PAUSED);
  gst_element_get_state(reader, nullptr, nullptr, 5 * GST_SECOND);
  return reader;
}
}  // namespace

GST_START_TEST(test_a_stalled_blocking_reader_is_dropped_or_an_error_as_configured) {
  for (const char *mode : {"drop", "error"}) {
    const std::string extra = std::string("slots=2 timeout=200000000 on-reader-timeout=") + mode;
    WatchedSink sink(ring_name(mode), extra.c_str());
    GstElement *writer = sink.element;
    GstElement *reader = paused_reader(sink.ring);
    // Two records fill both slots unread; the third waits for the reader.
    fail_unless_equals_int(gst_harness_push(sink.harness, numbered_buffer(0, 8)), GST_FLOW_OK);
    fail_unless_equals_int(gst_harness_push(sink.harness, numbered_buffer(1, 8)), GST_FLOW_OK);
    const GstFlowReturn third = gst_harness_push(sink.harness, numbered_buffer(2, 8));
    if (std::string(mode) == "drop") {
      fail_unless_equals_int(third, GST_FLOW_OK);
      fail_unless_equals_uint64(stat_of(writer, "overruns"), 1);
      // README: ... "and stop waiting for it until it reads again": more
      // frames go out without another wait, and without another overrun.
      for (guint64 n = 3; n < 6; ++n)
        fail_unless_equals_int(gst_harness_push(sink.harness, numbered_buffer(n, 8)), GST_FLOW_OK);
      fail_unless_equals_uint64(stat_of(writer, "overruns"), 1);
    } else {
      fail_unless_equals_int(third, GST_FLOW_ERROR);
      expect_error_on(sink.bus, "stopped reading");
      fail_unless_equals_uint64(stat_of(writer, "overruns"), 0);
    }
    gst_element_set_state(reader, GST_STATE_NULL);
    gst_object_unref(reader);
  }
}
GST_END_TEST;

GST_START_TEST(test_paused_and_playing_again_keeps_the_connection) {
  const std::string ring = ring_name("pause");
  GstHarness *sink = sink_harness(ring);
  gst_harness_set_src_caps_str(sink, "application/x-test");
  GstElement *writer = element_of(sink, "shmringsink");
  GstElement *pipeline = gst_parse_launch(
      ("shmringsrc ring=" + ring + " timestamp-mode=original ! appsink name=out sync=false")
          .c_str(),
      nullptr);
  GstElement *out = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  auto next_offset = [&]() {
    GstSample *sample = gst_app_sink_try_pull_sample(GST_APP_SINK(out), 5 * GST_SECOND);
    fail_unless(sample != nullptr);
    const guint64 offset = GST_BUFFER_OFFSET(gst_sample_get_buffer(sample));
    gst_sample_unref(sample);
    return offset;
  };
  gst_harness_push(sink, numbered_buffer(0, 8));
  fail_unless_equals_uint64(next_offset(), 0);
  GstElement *reader = gst_bin_get_by_name(GST_BIN(pipeline), "shmringsrc0");
  fail_unless_equals_int(readers_of(writer), 1);

  // The reader's pipeline pauses and plays again: same reader, nothing lost.
  gst_element_set_state(pipeline, GST_STATE_PAUSED);
  gst_element_get_state(pipeline, nullptr, nullptr, 5 * GST_SECOND);
  gst_harness_push(sink, numbered_buffer(1, 8));
  fail_unless_equals_int(readers_of(writer), 1);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  fail_unless_equals_uint64(next_offset(), 1);

  // The writer's side pauses and plays again: the ring stays, no reconnect.
  gst_element_set_state(writer, GST_STATE_PAUSED);
  gst_element_set_state(writer, GST_STATE_PLAYING);
  gst_harness_push(sink, numbered_buffer(2, 8));
  fail_unless_equals_uint64(next_offset(), 2);
  fail_unless_equals_int(readers_of(writer), 1);
  fail_unless_equals_uint64(stat_of(reader, "lost"), 0);
  fail_unless_equals_uint64(stat_of(reader, "received"), 3);

  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(reader);
  gst_object_unref(out);
  gst_object_unref(pipeline);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

namespace {

// A leaky reader held back while the writer laps it: frame 0 read, 1
// waiting in its appsink and 2 in its source's push (delta units after
// keyframe 0: they flow), then 3..`newest` published, all but the newest
// overwritten before it reads them. Pulls 1 and 2, which were never lost.
void lap_a_leaky_reader(GstHarness *sink, ReaderPipeline &reader, guint64 newest) {
  gst_harness_set_src_caps_str(sink, "video/x-raw,format=GRAY8,width=8,height=4,framerate=25/1");
  GstElement *writer = element_of(sink, "shmringsink");
  fail_unless(eventually([&] { return readers_of(writer) == 1; }));
  push_numbered(sink, 0, 0);
  GstBuffer *buffer = reader.pull();
  fail_unless_equals_uint64(GST_BUFFER_OFFSET(buffer), 0);
  gst_buffer_unref(buffer);
  push_numbered(sink, 1, 2);
  fail_unless(eventually([&] { return stat_of(reader.src, "received") == 3; }));
  push_numbered(sink, 3, newest);
  for (guint64 n = 1; n <= 2; ++n) {
    buffer = reader.pull();
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(buffer), n);
    fail_if(GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DISCONT));
    gst_buffer_unref(buffer);
  }
}

}  // namespace

// README: "Lost frames mark the next buffer DISCONT and post a QoS message
// (buffers processed and dropped)"; a leaky reader "when behind, skip[s] to
// the newest frame and count[s] the lost ones".
GST_START_TEST(test_a_leaky_reader_that_lost_frames_marks_discont_and_posts_qos) {
  const std::string ring = ring_name("lost");
  GstHarness *sink = sink_harness(ring, "slots=8");
  ReaderPipeline reader(ring, "policy=leaky");
  // 3..23 are overwritten before it reads them.
  lap_a_leaky_reader(sink, reader, 24);
  GstBuffer *buffer = reader.pull();
  fail_unless_equals_uint64(GST_BUFFER_OFFSET(buffer), 24);
  fail_unless(GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DISCONT), "the first after a loss");
  gst_buffer_unref(buffer);
  fail_unless_equals_uint64(stat_of(reader.src, "lost"), 21);
  fail_unless_equals_uint64(stat_of(reader.src, "received"), 4);

  GstMessage *qos = gst_bus_timed_pop_filtered(reader.bus, 5 * GST_SECOND, GST_MESSAGE_QOS);
  fail_unless(qos != nullptr, "no QoS message for the loss");
  fail_unless(GST_MESSAGE_SRC(qos) == GST_OBJECT(reader.src));
  GstFormat format = GST_FORMAT_UNDEFINED;
  guint64 processed = 0, dropped = 0;
  gst_message_parse_qos_stats(qos, &format, &processed, &dropped);
  fail_unless_equals_int(format, GST_FORMAT_BUFFERS);
  fail_unless_equals_uint64(processed, 3);  // 0, 1, 2 went out before the loss
  fail_unless_equals_uint64(dropped, 21);
  gboolean live = FALSE;
  gst_message_parse_qos(qos, &live, nullptr, nullptr, nullptr, nullptr);
  fail_unless(live);
  gst_message_unref(qos);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

// design-notes: "After joining, after a loss and after a writer change the
// source skips delta units until a keyframe" (README: a reader "waits for the
// next keyframe, as it does after losing frames").
GST_START_TEST(test_after_a_loss_the_reader_waits_for_a_keyframe) {
  const std::string ring = ring_name("loss-keyframe");
  GstHarness *sink = sink_harness(ring, "slots=8");
  ReaderPipeline reader(ring, "policy=leaky");
  lap_a_leaky_reader(sink, reader, 25);  // the newest, 25, is a delta unit
  // The source skips to 25 and, having lost frames, does not push it.
  fail_unless(eventually(
      [&] { return stat_of(reader.src, "dropped") + stat_of(reader.src, "received") > 3; }));
  fail_unless_equals_uint64(stat_of(reader.src, "dropped"), 1);
  fail_unless_equals_uint64(stat_of(reader.src, "lost"), 22);
  push_numbered(sink, 26, 27);
  GstBuffer *buffer = reader.pull();
  fail_unless_equals_uint64(GST_BUFFER_OFFSET(buffer), 26);
  fail_unless(GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DISCONT));
  fail_if(GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT));
  gst_buffer_unref(buffer);
  buffer = reader.pull();
  fail_unless_equals_uint64(GST_BUFFER_OFFSET(buffer), 27);
  fail_if(GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref(buffer);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

void add_readers_tests(TCase *tc) {
  tcase_add_test(tc, test_a_sink_holds_the_stream_as_soon_as_its_last_reader_leaves);
  tcase_add_test(tc, test_every_brief_reader_is_announced_joined_and_left);
  tcase_add_test(tc, test_a_reader_back_in_the_same_process_is_announced_again);
  tcase_add_test(tc, test_a_stalled_blocking_reader_is_dropped_or_an_error_as_configured);
  tcase_add_test(tc, test_paused_and_playing_again_keeps_the_connection);
  tcase_add_test(tc, test_a_leaky_reader_that_lost_frames_marks_discont_and_posts_qos);
  tcase_add_test(tc, test_after_a_loss_the_reader_waits_for_a_keyframe);
}
