// shmringsink and shmringsrc through GstHarness and small pipelines, in one
// process (the ring is real shared memory all the same; the two-process
// tests live in tests/multiprocess).
#include <fcntl.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gst/app/gstappsink.h>
#include <gst/check/gsttestclock.h>
#include <gst/video/video.h>

#include "named_object.hpp"
#include "ring_layout.hpp"
#include "ring_record.h"
#include "shmring/inspect.hpp"
#include "shmring/reader.hpp"
#include "shmring/writer.hpp"

namespace {

// check runs each test in a forked child: name rings after the runner, so
// that main() can remove whatever a crashed test left behind.
pid_t runner_pid = 0;

std::string ring_name(const char *what) {
  return std::string("check-") + what + "-" + std::to_string(runner_pid);
}

bool ring_exists(const std::string &name) {
  return access(("/dev/shm/shmring." + name).c_str(), F_OK) == 0;
}

GstHarness *sink_harness(const std::string &ring, const char *extra = "") {
  std::string description = "shmringsink sync=false ring=" + ring + " " + extra;
  return gst_harness_new_parse(description.c_str());
}

struct Trace;
void trace_source(GstHarness *src, Trace *trace);
guint64 stat_of(GstElement *element, const char *field);

// A playing shmringsrc harness; with `trace`, everything it pushes is traced
// from the very first event.
GstHarness *src_harness(const std::string &ring, const char *extra = "", Trace *trace = nullptr) {
  std::string description = "shmringsrc ring=" + ring + " " + extra;
  GstHarness *h = gst_harness_new_parse(description.c_str());
  if (trace)
    trace_source(h, trace);
  gst_harness_play(h);
  return h;
}

// Everything that leaves the source, in order: "caps:<structure name>",
// "event:<name>", "buffer:<offset>".
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

GstPadProbeReturn trace_probe(GstPad *, GstPadProbeInfo *info, gpointer data) {
  auto *trace = static_cast<Trace *>(data);
  std::string item;
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
    item = "buffer:" + std::to_string(GST_BUFFER_OFFSET(GST_PAD_PROBE_INFO_BUFFER(info)));
  } else if (GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info)) {
    if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
      GstCaps *caps;
      gst_event_parse_caps(event, &caps);
      const GstStructure *structure = gst_caps_get_structure(caps, 0);
      const gchar *format = gst_structure_get_string(structure, "format");
      item = std::string("caps:") + (format ? format : gst_structure_get_name(structure));
    } else if (GST_EVENT_TYPE(event) == GST_EVENT_CUSTOM_DOWNSTREAM) {
      item = std::string("custom:") + gst_structure_get_name(gst_event_get_structure(event));
    } else {
      item = std::string("event:") + GST_EVENT_TYPE_NAME(event);
    }
  }
  g_mutex_lock(&trace->lock);
  trace->items.push_back(item);
  g_mutex_unlock(&trace->lock);
  return GST_PAD_PROBE_OK;
}

// gst_harness_new_parse() puts the element in a bin: this is the element.
GstElement *element_of(GstHarness *h, const char *factory) {
  GstElement *element = gst_harness_find_element(h, factory);
  fail_unless(element != nullptr);
  gst_object_unref(element);  // the harness keeps it alive
  return element;
}

// The traced items, in order, are exactly `expected`.
void expect_sequence(const std::vector<std::string> &items,
                     const std::vector<std::string> &expected) {
  fail_unless_equals_int(items.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    fail_unless_equals_string(items[i].c_str(), expected[i].c_str());
}

void trace_source(GstHarness *src, Trace *trace) {
  GstPad *pad = gst_element_get_static_pad(element_of(src, "shmringsrc"), "src");
  gst_pad_add_probe(
      pad,
      static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
      trace_probe, trace, nullptr);
  gst_object_unref(pad);
}

GstBuffer *numbered_buffer(guint64 n, gsize size) {
  GstBuffer *buffer = gst_buffer_new_and_alloc(size);
  GstMapInfo map;
  gst_buffer_map(buffer, &map, GST_MAP_WRITE);
  for (gsize i = 0; i < size; ++i)
    map.data[i] = static_cast<guint8>(n * 31 + i);
  gst_buffer_unmap(buffer, &map);
  GST_BUFFER_PTS(buffer) = 10 * GST_SECOND + n * 40 * GST_MSECOND;
  GST_BUFFER_DTS(buffer) = 10 * GST_SECOND + n * 40 * GST_MSECOND - GST_MSECOND;
  GST_BUFFER_DURATION(buffer) = 40 * GST_MSECOND;
  GST_BUFFER_OFFSET(buffer) = n;
  GST_BUFFER_OFFSET_END(buffer) = n + 1;
  if (n % 2)
    GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  if (n == 3)
    GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_HEADER | GST_BUFFER_FLAG_MARKER);
  return buffer;
}

void check_numbered_buffer(GstBuffer *buffer, guint64 n, gsize size) {
  fail_unless_equals_uint64(GST_BUFFER_OFFSET(buffer), n);
  fail_unless_equals_uint64(GST_BUFFER_OFFSET_END(buffer), n + 1);
  fail_unless_equals_uint64(GST_BUFFER_PTS(buffer), 10 * GST_SECOND + n * 40 * GST_MSECOND);
  fail_unless_equals_uint64(GST_BUFFER_DTS(buffer),
                            10 * GST_SECOND + n * 40 * GST_MSECOND - GST_MSECOND);
  fail_unless_equals_uint64(GST_BUFFER_DURATION(buffer), 40 * GST_MSECOND);
  fail_unless_equals_int(GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT), n % 2);
  fail_unless_equals_int(GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_HEADER), n == 3);
  fail_unless_equals_int(GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_MARKER), n == 3);
  GstMapInfo map;
  fail_unless(gst_buffer_map(buffer, &map, GST_MAP_READ));
  fail_unless_equals_uint64(map.size, size);
  for (gsize i = 0; i < size; ++i)
    fail_unless_equals_int(map.data[i], static_cast<guint8>(n * 31 + i));
  gst_buffer_unmap(buffer, &map);
}

// The first error on the bus of `pipeline`, waiting up to 5 s.
GError *first_error(GstElement *pipeline) {
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *message = gst_bus_timed_pop_filtered(bus, 5 * GST_SECOND, GST_MESSAGE_ERROR);
  gst_object_unref(bus);
  if (!message)
    return nullptr;
  GError *error = nullptr;
  gst_message_parse_error(message, &error, nullptr);
  gst_message_unref(message);
  return error;
}

void expect_error_containing(GstElement *pipeline, const char *text) {
  GError *error = first_error(pipeline);
  fail_unless(error != nullptr, "no error on the bus");
  fail_unless(strstr(error->message, text) != nullptr, "error '%s' lacks '%s'", error->message,
              text);
  g_error_free(error);
}

// A settings error: the pipeline fails to start, with `text` on the bus.
void expect_start_to_fail_with(const char *description, const char *text) {
  GstElement *pipeline = gst_parse_launch(description, nullptr);
  fail_unless(pipeline != nullptr);
  fail_unless_equals_int(gst_element_set_state(pipeline, GST_STATE_PAUSED),
                         GST_STATE_CHANGE_FAILURE);
  expect_error_containing(pipeline, text);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
}

}  // namespace

GST_START_TEST(test_caps_timestamps_flags_and_payload_round_trip) {
  const std::string ring = ring_name("roundtrip");
  GstHarness *sink = sink_harness(ring);
  gst_harness_set_src_caps_str(sink, "video/x-raw,format=GRAY8,width=8,height=4,framerate=25/1");
  fail_unless(ring_exists(ring), "the first caps create the ring");
  Trace trace;
  GstHarness *src = src_harness(ring, "timestamp-mode=original", &trace);

  for (guint64 n = 0; n < 10; ++n)
    fail_unless_equals_int(gst_harness_push(sink, numbered_buffer(n, 32)), GST_FLOW_OK);
  for (guint64 n = 0; n < 10; ++n) {
    GstBuffer *buffer = gst_harness_pull(src);
    fail_unless(buffer != nullptr);
    check_numbered_buffer(buffer, n, 32);
    gst_buffer_unref(buffer);
  }
  GstCaps *caps = gst_pad_get_current_caps(src->sinkpad);
  GstCaps *expected =
      gst_caps_from_string("video/x-raw,format=GRAY8,width=8,height=4,framerate=25/1");
  fail_unless(gst_caps_is_equal(caps, expected));
  gst_caps_unref(caps);
  gst_caps_unref(expected);

  std::vector<std::string> items = trace.snapshot();
  fail_unless(items.size() >= 4);
  fail_unless_equals_string(items[0].c_str(), "event:stream-start");
  fail_unless_equals_string(items[1].c_str(), "caps:GRAY8");
  fail_unless_equals_string(items[2].c_str(), "event:segment");
  fail_unless_equals_string(items[3].c_str(), "buffer:0");

  GstStructure *stats = nullptr;
  g_object_get(element_of(src, "shmringsrc"), "stats", &stats, nullptr);
  guint64 received = 0, lost = 0;
  gst_structure_get_uint64(stats, "received", &received);
  gst_structure_get_uint64(stats, "lost", &lost);
  fail_unless_equals_uint64(received, 10);
  fail_unless_equals_uint64(lost, 0);
  gst_structure_free(stats);
  g_object_get(element_of(sink, "shmringsink"), "stats", &stats, nullptr);
  guint64 published = 0;
  guint readers = 0;
  gst_structure_get_uint64(stats, "published", &published);
  gst_structure_get_uint(stats, "readers", &readers);
  fail_unless_equals_uint64(published, 10);
  fail_unless_equals_int(readers, 1);
  gst_structure_free(stats);

  gst_harness_teardown(src);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring), "the sink removes the ring when it stops");
}
GST_END_TEST;

GST_START_TEST(test_caps_change_reaches_the_reader_at_the_right_buffer) {
  const std::string ring = ring_name("recaps");
  GstHarness *sink = sink_harness(ring);
  gst_harness_set_src_caps_str(sink, "video/x-raw,format=GRAY8,width=8,height=4,framerate=25/1");
  Trace trace;
  GstHarness *src = src_harness(ring, "timestamp-mode=original", &trace);
  for (guint64 n = 0; n < 3; ++n)
    gst_harness_push(sink, numbered_buffer(n, 32));
  gst_harness_set_src_caps_str(sink, "video/x-raw,format=RGB8P,width=8,height=4,framerate=25/1");
  for (guint64 n = 3; n < 6; ++n)
    gst_harness_push(sink, numbered_buffer(n, 32));
  for (int n = 0; n < 6; ++n)
    gst_buffer_unref(gst_harness_pull(src));

  std::vector<std::string> items = trace.snapshot();
  std::vector<std::string> data;
  for (const std::string &item : items) {
    if (item.rfind("caps:", 0) == 0 || item.rfind("buffer:", 0) == 0)
      data.push_back(item);
  }
  const std::vector<std::string> expected = {"caps:GRAY8", "buffer:0", "buffer:1", "buffer:2",
                                             "caps:RGB8P", "buffer:3", "buffer:4", "buffer:5"};
  expect_sequence(data, expected);
  gst_harness_teardown(src);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

GST_START_TEST(test_eos_and_custom_events_travel_in_order) {
  const std::string ring = ring_name("eos");
  GstHarness *sink = sink_harness(ring);
  gst_harness_set_src_caps_str(sink, "application/x-test");
  Trace trace;
  GstHarness *src = src_harness(ring, "", &trace);
  gst_harness_push(sink, numbered_buffer(0, 100));
  fail_unless(gst_harness_push_event(
      sink,
      gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM,
                           gst_structure_new("shmring-test-marker", "n", G_TYPE_INT, 7, nullptr))));
  gst_harness_push(sink, numbered_buffer(1, 100));
  fail_unless(gst_harness_push_event(sink, gst_event_new_eos()));

  gst_buffer_unref(gst_harness_pull(src));
  gst_buffer_unref(gst_harness_pull(src));
  // Events: stream-start, caps, segment, the marker, then EOS.
  GstEvent *event;
  bool saw_marker = false;
  while ((event = gst_harness_pull_event(src)) && GST_EVENT_TYPE(event) != GST_EVENT_EOS) {
    if (GST_EVENT_TYPE(event) == GST_EVENT_CUSTOM_DOWNSTREAM) {
      const GstStructure *s = gst_event_get_structure(event);
      int n = 0;
      fail_unless(gst_structure_has_name(s, "shmring-test-marker"));
      fail_unless(gst_structure_get_int(s, "n", &n) && n == 7);
      saw_marker = true;
    }
    gst_event_unref(event);
  }
  fail_unless(event != nullptr, "EOS reached the reader");
  gst_event_unref(event);
  fail_unless(saw_marker);

  std::vector<std::string> items = trace.snapshot();
  std::vector<std::string> tail;
  for (const std::string &item : items) {
    if (item != "event:stream-start" && item != "event:segment" && item.rfind("caps:", 0))
      tail.push_back(item);
  }
  const std::vector<std::string> expected = {"buffer:0", "custom:shmring-test-marker", "buffer:1",
                                             "event:eos"};
  expect_sequence(tail, expected);
  gst_harness_teardown(src);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

GST_START_TEST(test_clock_mode_maps_writer_time_to_reader_running_time) {
  const std::string ring = ring_name("clock");
  GstHarness *sink = sink_harness(ring);
  gst_harness_set_src_caps_str(sink, "application/x-test");
  GstHarness *src = src_harness(ring);  // timestamp-mode=clock, the default
  // Both elements on one clock; the writer started 1 s of clock time before
  // the reader. A writer PTS of 2 s (running time 2 s) is then clock time
  // base_w + 2 s, which is running time 1 s for the reader.
  GstClock *clock = gst_system_clock_obtain();
  GstElement *writer = element_of(sink, "shmringsink");
  GstElement *reader = element_of(src, "shmringsrc");
  gst_element_set_clock(writer, clock);
  gst_element_set_clock(reader, clock);
  const GstClockTime base = gst_clock_get_time(clock);
  gst_element_set_base_time(writer, base);
  gst_element_set_base_time(reader, base + GST_SECOND);
  gst_object_unref(clock);

  GstBuffer *buffer = numbered_buffer(0, 8);
  GST_BUFFER_PTS(buffer) = 2 * GST_SECOND;
  GST_BUFFER_DTS(buffer) = 2 * GST_SECOND - 10 * GST_MSECOND;
  gst_harness_push(sink, buffer);
  GstBuffer *out = gst_harness_pull(src);
  fail_unless_equals_uint64(GST_BUFFER_PTS(out), 1 * GST_SECOND);
  fail_unless_equals_uint64(GST_BUFFER_DTS(out), 1 * GST_SECOND - 10 * GST_MSECOND);
  fail_unless_equals_uint64(GST_BUFFER_DURATION(out), 40 * GST_MSECOND);
  gst_buffer_unref(out);
  gst_harness_teardown(src);
  gst_harness_teardown(sink);
}
GST_END_TEST;

GST_START_TEST(test_late_reader_starts_at_the_newest_keyframe_with_caps) {
  const std::string ring = ring_name("late");
  GstHarness *sink = sink_harness(ring);
  gst_harness_set_src_caps_str(sink, "video/x-raw,format=GRAY8,width=8,height=4,framerate=25/1");
  // Odd buffers are delta units (see numbered_buffer): the newest, 19, is one.
  for (guint64 n = 0; n < 20; ++n)
    gst_harness_push(sink, numbered_buffer(n, 32));
  GstHarness *src = src_harness(ring, "timestamp-mode=original");
  gst_harness_push(sink, numbered_buffer(20, 32));  // a keyframe
  gst_harness_push(sink, numbered_buffer(21, 32));  // and a delta unit after it
  // The reader started at the newest buffer, 19, skipped it as a delta unit
  // without its keyframe, and starts with 20, caps first.
  GstBuffer *buffer = gst_harness_pull(src);
  check_numbered_buffer(buffer, 20, 32);
  fail_unless(GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DISCONT), "after a skip");
  gst_buffer_unref(buffer);
  GstCaps *caps = gst_pad_get_current_caps(src->sinkpad);
  fail_unless(caps != nullptr);
  gst_caps_unref(caps);
  buffer = gst_harness_pull(src);
  check_numbered_buffer(buffer, 21, 32);
  fail_if(GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref(buffer);
  fail_unless_equals_uint64(stat_of(element_of(src, "shmringsrc"), "dropped"), 1);
  gst_harness_teardown(src);
  gst_harness_teardown(sink);
}
GST_END_TEST;

GST_START_TEST(test_invalid_ring_names_are_element_errors) {
  for (const char *description :
       {"fakesrc ! shmringsink ring=a/b", "fakesrc ! shmringsink", "shmringsrc ring=.. ! fakesink",
        "shmringsrc ring=\"x y\" ! fakesink"}) {
    expect_start_to_fail_with(description, "ring name");
  }
}
GST_END_TEST;

GST_START_TEST(test_perms_that_shut_out_the_owner_are_a_settings_error) {
  const std::string ring = ring_name("perms");
  for (const char *perms : {"128", "256", "36"}) {  // 0200, 0400, 0044
    const std::string description = "fakesrc ! shmringsink ring=" + ring + " perms=" + perms;
    expect_start_to_fail_with(description.c_str(), "must give its owner read and write");
    fail_if(ring_exists(ring), "nothing is created");
  }
  // Write access for others works, but is said to be a risk.
  const std::string description = "fakesrc ! shmringsink ring=" + ring + " perms=438";  // 0666
  GstElement *pipeline = gst_parse_launch(description.c_str(), nullptr);
  fail_unless(pipeline != nullptr);
  gst_element_set_state(pipeline, GST_STATE_PAUSED);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *message = gst_bus_timed_pop_filtered(bus, 5 * GST_SECOND, GST_MESSAGE_WARNING);
  fail_unless(message != nullptr, "no warning on the bus");
  GError *warning = nullptr;
  gst_message_parse_warning(message, &warning, nullptr);
  fail_unless(strstr(warning->message, "lets other users write") != nullptr, "%s",
              warning->message);
  g_error_free(warning);
  gst_message_unref(message);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
}
GST_END_TEST;

GST_START_TEST(test_second_writer_on_a_live_ring_is_an_error) {
  const std::string ring = ring_name("second");
  const std::string description = "appsrc ! shmringsink slot-size=4096 ring=" + ring;
  GstElement *writer_a = gst_parse_launch(description.c_str(), nullptr);
  GstElement *writer_b = gst_parse_launch(description.c_str(), nullptr);
  fail_unless_equals_int(gst_element_set_state(writer_a, GST_STATE_PAUSED), GST_STATE_CHANGE_ASYNC);
  fail_unless(ring_exists(ring));
  fail_unless_equals_int(gst_element_set_state(writer_b, GST_STATE_PAUSED),
                         GST_STATE_CHANGE_FAILURE);
  expect_error_containing(writer_b, "already being written by live process");
  gst_element_set_state(writer_b, GST_STATE_NULL);
  gst_element_set_state(writer_a, GST_STATE_NULL);
  fail_if(ring_exists(ring), "the first writer still removes its ring");
  gst_object_unref(writer_a);
  gst_object_unref(writer_b);
}
GST_END_TEST;

// Without slot-size the ring is made at the first caps, but a live writer
// holding the name is still a failed state change at once: an error from the
// streaming thread could come before the application listens
// (gst-launch-1.0 1.22 then waited forever).
GST_START_TEST(test_second_writer_without_slot_size_fails_its_state_change) {
  const std::string ring = ring_name("second-sized-by-caps");
  GstElement *writer_a =
      gst_parse_launch(("appsrc ! shmringsink slot-size=4096 ring=" + ring).c_str(), nullptr);
  GstElement *writer_b =
      gst_parse_launch(("videotestsrc ! shmringsink ring=" + ring).c_str(), nullptr);
  fail_unless_equals_int(gst_element_set_state(writer_a, GST_STATE_PAUSED), GST_STATE_CHANGE_ASYNC);
  fail_unless_equals_int(gst_element_set_state(writer_b, GST_STATE_PAUSED),
                         GST_STATE_CHANGE_FAILURE);
  expect_error_containing(writer_b, "already being written by live process");
  gst_element_set_state(writer_b, GST_STATE_NULL);
  gst_element_set_state(writer_a, GST_STATE_NULL);
  fail_if(ring_exists(ring));
  gst_object_unref(writer_a);
  gst_object_unref(writer_b);
}
GST_END_TEST;

GST_START_TEST(test_buffer_larger_than_a_slot_is_an_error_not_a_truncation) {
  const std::string ring = ring_name("large");
  GstHarness *sink = sink_harness(ring, "slot-size=64");
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(element_of(sink, "shmringsink"), bus);
  gst_harness_set_src_caps_str(sink, "application/x-test");
  fail_unless_equals_int(gst_harness_push(sink, numbered_buffer(0, 64)), GST_FLOW_OK);
  fail_unless_equals_int(gst_harness_push(sink, numbered_buffer(1, 65)), GST_FLOW_ERROR);
  GstMessage *message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(message != nullptr);
  GError *error = nullptr;
  gchar *debug = nullptr;
  gst_message_parse_error(message, &error, &debug);
  fail_unless(strstr(error->message, "65 bytes does not fit") != nullptr, "%s", error->message);
  fail_unless(strstr(debug, "slot-size") != nullptr, "%s", debug);
  g_error_free(error);
  g_free(debug);
  gst_message_unref(message);
  gst_element_set_bus(element_of(sink, "shmringsink"), nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

namespace {
// A ring image with one header field damaged, as the reader's object.
void write_damaged_ring(const std::string &ring, void (*damage)(shmring::object::ObjectHeader &)) {
  std::vector<char> image;
  {
    auto writer = shmring::Writer::create({ring, 2, 4096});
    int fd = shm_open(("/shmring." + ring).c_str(), O_RDONLY, 0);
    image.resize(static_cast<size_t>(lseek(fd, 0, SEEK_END)));
    fail_unless_equals_int(pread(fd, image.data(), image.size(), 0), image.size());
    close(fd);
  }
  damage(*reinterpret_cast<shmring::object::ObjectHeader *>(image.data()));
  int fd = shm_open(("/shmring." + ring).c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  fail_unless(fd >= 0);
  fail_unless_equals_int(write(fd, image.data(), image.size()), image.size());
  close(fd);
}
}  // namespace

GST_START_TEST(test_corrupt_or_foreign_ring_is_a_reader_error) {
  struct Case {
    void (*damage)(shmring::object::ObjectHeader &);
    const char *message;
  };
  const Case cases[] = {
      {[](shmring::object::ObjectHeader &h) { h.magic = 0x1234; }, "is corrupt"},
      {[](shmring::object::ObjectHeader &h) { h.params.value[shmring::ring::kSlotCount] = 5000; },
       "is corrupt"},
      {[](shmring::object::ObjectHeader &h) { h.abi_version = 42; }, "ABI version 42"},
      // A ring of the core's API without the plugin's record schema.
      {[](shmring::object::ObjectHeader &) {}, "other version"},
  };
  for (const Case &c : cases) {
    const std::string ring = ring_name("damaged");
    write_damaged_ring(ring, c.damage);
    const std::string description = "shmringsrc ring=" + ring + " ! fakesink";
    GstElement *pipeline = gst_parse_launch(description.c_str(), nullptr);
    fail_unless_equals_int(gst_element_set_state(pipeline, GST_STATE_PAUSED),
                           GST_STATE_CHANGE_FAILURE);
    expect_error_containing(pipeline, c.message);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
    shm_unlink(("/shmring." + ring).c_str());
  }
}
GST_END_TEST;

GST_START_TEST(test_stopping_a_reader_that_waits_for_a_writer_does_not_hang) {
  const std::string description = "shmringsrc ring=" + ring_name("absent") + " ! fakesink";
  GstElement *pipeline = gst_parse_launch(description.c_str(), nullptr);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  g_usleep(100 * 1000);
  fail_unless_equals_int(gst_element_set_state(pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  gst_object_unref(pipeline);
}
GST_END_TEST;

namespace {
// True once the ring's writer side sleeps waiting for space or a reader
// (the waiter count in its control block), polled for up to 5 s.
bool writer_waiters_eventually(const std::string &ring) {
  for (int i = 0; i < 5000; ++i) {
    int fd = shm_open(("/shmring." + ring).c_str(), O_RDONLY, 0);
    if (fd >= 0) {
      shmring::object::ObjectHeader header;
      guint32 waiters = 0;
      const bool read =
          pread(fd, &header, sizeof header, 0) == static_cast<ssize_t>(sizeof header) &&
          header.ready.load() == 1 &&
          pread(fd, &waiters, sizeof waiters,
                static_cast<off_t>(header.control_offset +
                                   offsetof(shmring::ring::RingControl, space_waiters))) ==
              static_cast<ssize_t>(sizeof waiters);
      close(fd);
      if (read && waiters > 0)
        return true;
    }
    g_usleep(1000);
  }
  return false;
}
}  // namespace

GST_START_TEST(test_stopping_a_writer_that_waits_does_not_hang) {
  // One writer waits for its writer_a reader, one for a reader that never reads.
  const std::string waiting = ring_name("waits-for-reader");
  const std::string blocked = ring_name("blocked");
  const std::string d1 = "videotestsrc ! shmringsink wait-for-readers=true ring=" + waiting;
  const std::string d2 =
      "videotestsrc ! shmringsink sync=false timeout=60000000000 slots=2 ring=" + blocked;
  GstElement *p1 = gst_parse_launch(d1.c_str(), nullptr);
  GstElement *p2 = gst_parse_launch(d2.c_str(), nullptr);
  gst_element_set_state(p1, GST_STATE_PLAYING);
  gst_element_set_state(p2, GST_STATE_PLAYING);
  fail_unless_equals_int(gst_element_get_state(p2, nullptr, nullptr, 5 * GST_SECOND),
                         GST_STATE_CHANGE_SUCCESS);
  // A blocking reader that is never scheduled: its pipeline stays PAUSED.
  const std::string d3 = "shmringsrc ring=" + blocked + " ! fakesink";
  GstElement *reader = gst_parse_launch(d3.c_str(), nullptr);
  gst_element_set_state(reader, GST_STATE_PAUSED);
  // Both writers are really in their waits before they are stopped: each
  // sleeps on its ring's "space" futex (the one for a reader, the other for
  // a slot the stalled reader keeps).
  fail_unless(writer_waiters_eventually(waiting), "the first writer never waited for a reader");
  fail_unless(writer_waiters_eventually(blocked), "the second writer never waited for a slot");
  fail_unless_equals_int(gst_element_set_state(p1, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  fail_unless_equals_int(gst_element_set_state(p2, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  gst_element_set_state(reader, GST_STATE_NULL);
  gst_object_unref(p1);
  gst_object_unref(p2);
  gst_object_unref(reader);
  fail_if(ring_exists(waiting));
  fail_if(ring_exists(blocked));
}
GST_END_TEST;

namespace {

const char *kSmallI420 = "video/x-raw,format=I420,width=64,height=48,framerate=25/1";

// The pool shmringsink offers in answer to an allocation query for `caps`.
GstBufferPool *offered_pool(GstHarness *sink, const char *caps_text, bool *video_meta) {
  GstCaps *caps = gst_caps_from_string(caps_text);
  GstQuery *query = gst_query_new_allocation(caps, TRUE);
  fail_unless(gst_pad_peer_query(sink->srcpad, query));
  *video_meta = gst_query_find_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr);
  GstBufferPool *pool = nullptr;
  if (gst_query_get_n_allocation_pools(query) > 0)
    gst_query_parse_nth_allocation_pool(query, 0, &pool, nullptr, nullptr, nullptr);
  gst_query_unref(query);
  gst_caps_unref(caps);
  return pool;
}

guint8 pixel_value(guint frame, guint plane, guint x, guint y) {
  return static_cast<guint8>(frame * 7 + plane * 50 + x * 3 + y * 5);
}

// Writes a known value into every visible pixel of every plane.
void paint(GstBuffer *buffer, const GstVideoInfo *info, guint frame) {
  GstVideoFrame video;
  fail_unless(gst_video_frame_map(&video, info, buffer, GST_MAP_WRITE));
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(&video); ++p) {
    auto *data = static_cast<guint8 *>(GST_VIDEO_FRAME_PLANE_DATA(&video, p));
    const gint stride = GST_VIDEO_FRAME_PLANE_STRIDE(&video, p);
    for (gint y = 0; y < GST_VIDEO_FRAME_COMP_HEIGHT(&video, p); ++y)
      for (gint x = 0; x < GST_VIDEO_FRAME_COMP_WIDTH(&video, p); ++x)
        data[y * stride + x] = pixel_value(frame, p, x, y);
  }
  gst_video_frame_unmap(&video);
}

void check_painted(GstBuffer *buffer, const GstVideoInfo *info, guint frame) {
  GstVideoFrame video;
  fail_unless(gst_video_frame_map(&video, info, buffer, GST_MAP_READ));
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(&video); ++p) {
    auto *data = static_cast<const guint8 *>(GST_VIDEO_FRAME_PLANE_DATA(&video, p));
    const gint stride = GST_VIDEO_FRAME_PLANE_STRIDE(&video, p);
    for (gint y = 0; y < GST_VIDEO_FRAME_COMP_HEIGHT(&video, p); ++y)
      for (gint x = 0; x < GST_VIDEO_FRAME_COMP_WIDTH(&video, p); ++x)
        fail_unless_equals_int(data[y * stride + x], pixel_value(frame, p, x, y));
  }
  gst_video_frame_unmap(&video);
}

guint64 stat_of(GstElement *element, const char *field) {
  GstStructure *stats = nullptr;
  g_object_get(element, "stats", &stats, nullptr);
  guint64 value = 0;
  fail_unless(gst_structure_get_uint64(stats, field, &value), "no %s", field);
  gst_structure_free(stats);
  return value;
}

}  // namespace

GST_START_TEST(test_pool_buffers_are_slots_published_without_a_copy) {
  const std::string ring = ring_name("pool");
  GstHarness *sink = sink_harness(ring, "slots=6");
  gst_harness_set_src_caps_str(sink, kSmallI420);
  GstHarness *src = src_harness(ring, "timestamp-mode=original");
  bool video_meta = false;
  GstBufferPool *pool = offered_pool(sink, kSmallI420, &video_meta);
  fail_unless(pool != nullptr, "the sink offers a pool of ring slots");
  fail_unless(video_meta, "and accepts video meta");
  fail_unless(gst_buffer_pool_set_active(pool, TRUE));
  GstVideoInfo info;
  GstCaps *caps = gst_caps_from_string(kSmallI420);
  gst_video_info_from_caps(&info, caps);
  gst_caps_unref(caps);

  // Upstream keeps two pool buffers and never pushes them: the ring turns on.
  GstBuffer *kept[2];
  for (GstBuffer *&buffer : kept) {
    fail_unless_equals_int(gst_buffer_pool_acquire_buffer(pool, &buffer, nullptr), GST_FLOW_OK);
    paint(buffer, &info, 999);
  }
  GstBuffer *held = nullptr;  // the reader keeps its first frame all along
  for (guint n = 0; n < 40; ++n) {
    GstBuffer *buffer = nullptr;
    fail_unless_equals_int(gst_buffer_pool_acquire_buffer(pool, &buffer, nullptr), GST_FLOW_OK);
    paint(buffer, &info, n);
    GST_BUFFER_OFFSET(buffer) = n;
    fail_unless_equals_int(gst_harness_push(sink, buffer), GST_FLOW_OK);
    GstBuffer *out = gst_harness_pull(src);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(out), n);
    check_painted(out, &info, n);
    if (n == 0)
      held = out;
    else
      gst_buffer_unref(out);
  }
  check_painted(held, &info, 0);  // its slot was never handed out again
  for (GstBuffer *buffer : kept)
    check_painted(buffer, &info, 999);
  gst_buffer_unref(held);
  for (GstBuffer *buffer : kept)
    gst_buffer_unref(buffer);

  GstElement *writer = element_of(sink, "shmringsink");
  fail_unless_equals_uint64(stat_of(writer, "published"), 40);
  fail_unless_equals_uint64(stat_of(writer, "copied"), 0);
  // A buffer from elsewhere is copied once, and counted.
  GstBuffer *foreign = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
  paint(foreign, &info, 41);
  fail_unless_equals_int(gst_harness_push(sink, foreign), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull(src);
  check_painted(out, &info, 41);
  gst_buffer_unref(out);
  fail_unless_equals_uint64(stat_of(writer, "copied"), 1);
  fail_unless_equals_uint64(stat_of(writer, "bytes-copied"), GST_VIDEO_INFO_SIZE(&info));

  gst_buffer_pool_set_active(pool, FALSE);
  gst_object_unref(pool);
  gst_harness_teardown(src);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

GST_START_TEST(test_padded_frames_keep_their_layout_or_are_repacked) {
  const char *caps_text = "video/x-raw,format=I420,width=60,height=40,framerate=25/1";
  const std::string ring = ring_name("padded");
  // Room for the padding upstream will ask for.
  GstHarness *sink = sink_harness(ring, "slot-size=65536");
  gst_harness_set_src_caps_str(sink, caps_text);
  GstHarness *with_meta =
      gst_harness_new_parse(("shmringsrc timestamp-mode=original ring=" + ring).c_str());
  gst_harness_add_propose_allocation_meta(with_meta, GST_VIDEO_META_API_TYPE, nullptr);
  gst_harness_play(with_meta);
  GstHarness *without_meta = src_harness(ring, "timestamp-mode=original");

  bool video_meta = false;
  GstBufferPool *pool = offered_pool(sink, caps_text, &video_meta);
  fail_unless(pool != nullptr);
  GstStructure *config = gst_buffer_pool_get_config(pool);
  GstVideoAlignment align;
  gst_video_alignment_reset(&align);
  align.padding_right = 12;
  align.padding_bottom = 6;
  align.stride_align[0] = align.stride_align[1] = align.stride_align[2] = 31;
  gst_buffer_pool_config_add_option(config, GST_BUFFER_POOL_OPTION_VIDEO_META);
  gst_buffer_pool_config_add_option(config, GST_BUFFER_POOL_OPTION_VIDEO_ALIGNMENT);
  gst_buffer_pool_config_set_video_alignment(config, &align);
  fail_unless(gst_buffer_pool_set_config(pool, config));
  fail_unless(gst_buffer_pool_set_active(pool, TRUE));

  GstVideoInfo plain;
  GstCaps *caps = gst_caps_from_string(caps_text);
  gst_video_info_from_caps(&plain, caps);
  gst_caps_unref(caps);
  GstVideoInfo padded = plain;
  gst_video_info_align(&padded, &align);
  fail_unless(padded.stride[0] != plain.stride[0], "the padding changes the layout");

  // One frame at a time, so that neither reader holds enough slots to make
  // it copy for the writer's sake: every copy counted below is a repacking.
  for (guint n = 0; n < 5; ++n) {
    GstBuffer *buffer = nullptr;
    fail_unless_equals_int(gst_buffer_pool_acquire_buffer(pool, &buffer, nullptr), GST_FLOW_OK);
    GstVideoMeta *meta = gst_buffer_get_video_meta(buffer);
    fail_unless(meta != nullptr);
    fail_unless_equals_int(meta->stride[0], padded.stride[0]);
    paint(buffer, &plain, n);  // through the meta: lands in the padded layout
    fail_unless_equals_int(gst_harness_push(sink, buffer), GST_FLOW_OK);

    // Downstream that reads video meta gets the padded frame as it is...
    GstBuffer *out = gst_harness_pull(with_meta);
    GstVideoMeta *out_meta = gst_buffer_get_video_meta(out);
    fail_unless(out_meta != nullptr);
    fail_unless_equals_int(out_meta->stride[0], padded.stride[0]);
    fail_unless_equals_uint64(out_meta->offset[1], padded.offset[1]);
    check_painted(out, &plain, n);
    gst_buffer_unref(out);
    // ...and downstream that does not gets a packed copy.
    out = gst_harness_pull(without_meta);
    fail_unless_equals_uint64(gst_buffer_get_size(out), GST_VIDEO_INFO_SIZE(&plain));
    GstVideoMeta *packed_meta = gst_buffer_get_video_meta(out);
    fail_unless(packed_meta == nullptr || packed_meta->stride[0] == plain.stride[0]);
    check_painted(out, &plain, n);
    gst_buffer_unref(out);
  }
  fail_unless_equals_uint64(stat_of(element_of(without_meta, "shmringsrc"), "copied"), 5);
  fail_unless_equals_uint64(stat_of(element_of(with_meta, "shmringsrc"), "copied"), 0);
  fail_unless_equals_uint64(stat_of(element_of(sink, "shmringsink"), "copied"), 0);

  gst_buffer_pool_set_active(pool, FALSE);
  gst_object_unref(pool);
  gst_harness_teardown(with_meta);
  gst_harness_teardown(without_meta);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

GST_START_TEST(test_the_pool_leaves_the_ring_a_slot_of_its_own) {
  const std::string ring = ring_name("pool-limit");
  GstHarness *sink = sink_harness(ring, "slots=3");
  gst_harness_set_src_caps_str(sink, kSmallI420);
  GstHarness *src = src_harness(ring, "timestamp-mode=original");
  bool video_meta = false;
  GstBufferPool *pool = offered_pool(sink, kSmallI420, &video_meta);
  fail_unless(pool != nullptr);
  fail_unless(gst_buffer_pool_set_active(pool, TRUE));
  GstVideoInfo info;
  GstCaps *caps = gst_caps_from_string(kSmallI420);
  gst_video_info_from_caps(&info, caps);
  gst_caps_unref(caps);

  // Upstream takes all it may (slots - 1) and keeps them.
  GstBuffer *kept[2];
  for (GstBuffer *&buffer : kept)
    fail_unless_equals_int(gst_buffer_pool_acquire_buffer(pool, &buffer, nullptr), GST_FLOW_OK);
  GstBufferPoolAcquireParams dont_wait = {};
  dont_wait.flags = GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT;
  GstBuffer *more = nullptr;
  fail_unless_equals_int(gst_buffer_pool_acquire_buffer(pool, &more, &dont_wait), GST_FLOW_EOS);

  // The ring still turns on its own slot: copied buffers, then EOS.
  for (guint n = 0; n < 5; ++n) {
    GstBuffer *foreign = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
    paint(foreign, &info, n);
    fail_unless_equals_int(gst_harness_push(sink, foreign), GST_FLOW_OK);
    GstBuffer *out = gst_harness_pull(src);
    check_painted(out, &info, n);
    gst_buffer_unref(out);
  }
  fail_unless(gst_harness_push_event(sink, gst_event_new_eos()));
  GstEvent *event;
  while ((event = gst_harness_pull_event(src)) && GST_EVENT_TYPE(event) != GST_EVENT_EOS)
    gst_event_unref(event);
  fail_unless(event != nullptr);
  gst_event_unref(event);

  // A returned buffer makes room for the next one.
  gst_buffer_unref(kept[0]);
  fail_unless_equals_int(gst_buffer_pool_acquire_buffer(pool, &more, &dont_wait), GST_FLOW_OK);
  gst_buffer_unref(more);
  gst_buffer_unref(kept[1]);
  gst_buffer_pool_set_active(pool, FALSE);
  gst_object_unref(pool);
  gst_harness_teardown(src);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
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
    const std::string ring = ring_name(mode);
    const std::string extra = std::string("slots=2 timeout=200000000 on-reader-timeout=") + mode;
    GstHarness *sink = sink_harness(ring, extra.c_str());
    GstBus *bus = gst_bus_new();
    GstElement *writer = element_of(sink, "shmringsink");
    gst_element_set_bus(writer, bus);
    gst_harness_set_src_caps_str(sink, "application/x-test");
    GstElement *reader = paused_reader(ring);
    // Two records fill both slots unread; the third waits for the reader.
    fail_unless_equals_int(gst_harness_push(sink, numbered_buffer(0, 8)), GST_FLOW_OK);
    fail_unless_equals_int(gst_harness_push(sink, numbered_buffer(1, 8)), GST_FLOW_OK);
    const GstFlowReturn third = gst_harness_push(sink, numbered_buffer(2, 8));
    if (std::string(mode) == "drop") {
      fail_unless_equals_int(third, GST_FLOW_OK);
      fail_unless_equals_uint64(stat_of(writer, "overruns"), 1);
      // README: ... "and stop waiting for it until it reads again": more
      // frames go out without another wait, and without another overrun.
      for (guint64 n = 3; n < 6; ++n)
        fail_unless_equals_int(gst_harness_push(sink, numbered_buffer(n, 8)), GST_FLOW_OK);
      fail_unless_equals_uint64(stat_of(writer, "overruns"), 1);
    } else {
      fail_unless_equals_int(third, GST_FLOW_ERROR);
      GstMessage *message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
      fail_unless(message != nullptr);
      GError *error = nullptr;
      gst_message_parse_error(message, &error, nullptr);
      fail_unless(strstr(error->message, "stopped reading") != nullptr, "%s", error->message);
      g_error_free(error);
      gst_message_unref(message);
      fail_unless_equals_uint64(stat_of(writer, "overruns"), 0);
    }
    gst_element_set_state(reader, GST_STATE_NULL);
    gst_object_unref(reader);
    gst_element_set_bus(writer, nullptr);
    gst_object_unref(bus);
    gst_harness_teardown(sink);
    fail_if(ring_exists(ring));
  }
}
GST_END_TEST;

namespace {
guint readers_of(GstElement *writer) {
  GstStructure *stats = nullptr;
  g_object_get(writer, "stats", &stats, nullptr);
  guint readers = 0;
  fail_unless(gst_structure_get_uint(stats, "readers", &readers));
  gst_structure_free(stats);
  return readers;
}
}  // namespace

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

GST_START_TEST(test_clock_mode_maps_across_different_clocks) {
  const std::string ring = ring_name("other-clock");
  GstHarness *sink = sink_harness(ring);
  gst_harness_set_src_caps_str(sink, "application/x-test");
  GstHarness *src = src_harness(ring);  // timestamp-mode=clock
  // The writer on the monotonic system clock; the reader on a clock of its
  // own (as under an audio sink's clock) that reads 1000 s.
  GstClock *system = gst_system_clock_obtain();
  GstElement *writer = element_of(sink, "shmringsink");
  GstElement *reader = element_of(src, "shmringsrc");
  gst_element_set_clock(writer, system);
  GstClock *other = gst_test_clock_new_with_start_time(1000 * GST_SECOND);
  gst_element_set_clock(reader, other);
  gst_element_set_base_time(reader, 990 * GST_SECOND);  // reader running time now: 10 s
  // Writer: PTS 2 s at base time "now - 3 s": the instant 1 s ago.
  const GstClockTime pushed_at = gst_clock_get_time(system);
  gst_element_set_base_time(writer, pushed_at - 3 * GST_SECOND);
  GstBuffer *buffer = numbered_buffer(0, 8);
  GST_BUFFER_PTS(buffer) = 2 * GST_SECOND;
  GST_BUFFER_DTS(buffer) = GST_CLOCK_TIME_NONE;
  gst_harness_push(sink, buffer);
  GstBuffer *out = gst_harness_pull(src);
  const GstClockTime pulled_at = gst_clock_get_time(system);
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
  gst_object_unref(system);
  gst_harness_teardown(src);
  gst_harness_teardown(sink);
}
GST_END_TEST;

GstBuffer *with_reference_timestamp(GstBuffer *buffer, const char *caps_text,
                                    GstClockTime timestamp, GstClockTime duration) {
  GstCaps *caps = gst_caps_from_string(caps_text);
  gst_buffer_add_reference_timestamp_meta(buffer, caps, timestamp, duration);
  gst_caps_unref(caps);
  return buffer;
}

GstReferenceTimestampMeta *reference_of(GstBuffer *buffer, const char *caps_text) {
  GstCaps *caps = gst_caps_from_string(caps_text);
  GstReferenceTimestampMeta *meta = gst_buffer_get_reference_timestamp_meta(buffer, caps);
  gst_caps_unref(caps);
  return meta;
}

guint count_reference_metas(GstBuffer *buffer) {
  guint n = 0;
  gpointer state = nullptr;
  while (gst_buffer_iterate_meta_filtered(buffer, &state, GST_REFERENCE_TIMESTAMP_META_API_TYPE))
    ++n;
  return n;
}

// Tags (global and stream scope) and reference timestamps cross the ring in
// their place among the buffers; a tag list sent before the first buffer
// still follows the reader's segment.
GST_START_TEST(test_tags_and_reference_timestamps_travel_in_order) {
  const std::string ring = ring_name("tags");
  GstHarness *sink = sink_harness(ring);
  gst_harness_set_src_caps_str(sink, "application/x-test");
  Trace trace;
  GstHarness *src = src_harness(ring, "timestamp-mode=original", &trace);

  GstTagList *global = gst_tag_list_new(GST_TAG_TITLE, "first", nullptr);
  gst_tag_list_set_scope(global, GST_TAG_SCOPE_GLOBAL);
  fail_unless(gst_harness_push_event(sink, gst_event_new_tag(global)));
  GstBuffer *first = numbered_buffer(0, 64);
  with_reference_timestamp(first, "timestamp/x-ntp", 111 * GST_SECOND, 5 * GST_MSECOND);
  with_reference_timestamp(first, "timestamp/x-unix", 222 * GST_SECOND, GST_CLOCK_TIME_NONE);
  // A third, and one whose caps are too long, are outside the whitelist.
  with_reference_timestamp(first, "timestamp/x-ptp, domain=(int)0", 1, 1);
  gst_harness_push(sink, first);
  fail_unless(gst_harness_push_event(
      sink, gst_event_new_tag(gst_tag_list_new(GST_TAG_TITLE, "second", nullptr))));
  gst_harness_push(sink,
                   with_reference_timestamp(
                       numbered_buffer(1, 64),
                       "timestamp/x-a-reference-clock-whose-caps-are-far-too-long-to-fit", 3, 3));
  fail_unless(gst_harness_push_event(sink, gst_event_new_eos()));

  GstBuffer *out = gst_harness_pull(src);
  fail_unless_equals_int(count_reference_metas(out), 2);
  GstReferenceTimestampMeta *ntp = reference_of(out, "timestamp/x-ntp");
  fail_unless(ntp != nullptr);
  fail_unless_equals_uint64(ntp->timestamp, 111 * GST_SECOND);
  fail_unless_equals_uint64(ntp->duration, 5 * GST_MSECOND);
  GstReferenceTimestampMeta *unix_time = reference_of(out, "timestamp/x-unix");
  fail_unless(unix_time != nullptr);
  fail_unless_equals_uint64(unix_time->timestamp, 222 * GST_SECOND);
  fail_unless_equals_uint64(unix_time->duration, GST_CLOCK_TIME_NONE);
  gst_buffer_unref(out);
  out = gst_harness_pull(src);
  fail_unless_equals_int(count_reference_metas(out), 0);
  gst_buffer_unref(out);

  std::vector<std::pair<std::string, GstTagScope>> tags;
  GstEvent *event;
  while ((event = gst_harness_pull_event(src)) && GST_EVENT_TYPE(event) != GST_EVENT_EOS) {
    if (GST_EVENT_TYPE(event) == GST_EVENT_TAG) {
      GstTagList *list = nullptr;
      gst_event_parse_tag(event, &list);
      gchar *title = nullptr;
      fail_unless(gst_tag_list_get_string(list, GST_TAG_TITLE, &title));
      tags.emplace_back(title, gst_tag_list_get_scope(list));
      g_free(title);
    }
    gst_event_unref(event);
  }
  fail_unless(event != nullptr, "EOS reached the reader");
  gst_event_unref(event);
  fail_unless_equals_int(tags.size(), 2);
  fail_unless_equals_string(tags[0].first.c_str(), "first");
  fail_unless_equals_int(tags[0].second, GST_TAG_SCOPE_GLOBAL);
  fail_unless_equals_string(tags[1].first.c_str(), "second");
  fail_unless_equals_int(tags[1].second, GST_TAG_SCOPE_STREAM);

  expect_sequence(trace.snapshot(),
                  {"event:stream-start", "caps:application/x-test", "event:segment", "event:tag",
                   "buffer:0", "event:tag", "buffer:1", "event:eos"});
  gst_harness_teardown(src);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

// Text in the ring is another process's. A tag record whose text is not a
// tag list, a custom event whose structure name starts with a digit, and a
// reference timestamp without a time are dropped, and none of them makes
// GStreamer print a critical warning (gst-check makes those fatal).
GST_START_TEST(test_hostile_text_in_the_ring_is_dropped_without_a_warning) {
  using shmring::gst::RecordKind;
  const std::string ring = ring_name("hostile-text");
  shmring::WriterOptions options;
  options.name = ring;
  options.slot_count = 8;
  options.slot_size = 4096;
  options.user = shmring::gst::kRecordSchema;
  auto writer = shmring::Writer::create(options);
  const std::uint64_t caps = writer->set_caps("application/x-test");
  Trace trace;
  GstHarness *src = src_harness(ring, "timestamp-mode=original", &trace);
  for (int i = 0; i < 500 && writer->readers().empty(); ++i)
    g_usleep(10 * 1000);
  fail_if(writer->readers().empty(), "the source joined the ring");
  auto put = [&](RecordKind kind, const std::string &payload,
                 const shmring::gst::BufferMeta &meta) {
    shmring::gst::RecordInfo info;
    info.kind = kind;
    info.size = payload.size();
    info.caps_id = caps;
    info.meta = meta;
    fail_unless(writer->write(shmring::gst::header_of(info), payload.data(),
                              shmring::deadline_after(std::chrono::seconds(5)),
                              &info.meta) == shmring::WaitStatus::Ok);
  };
  shmring::gst::BufferMeta plain;
  put(RecordKind::Tags, "not-a-taglist, title=(string)x", plain);
  put(RecordKind::Event, "9event, n=(int)1", plain);
  shmring::gst::BufferMeta with_reference;
  with_reference.offset = 7;
  with_reference.n_references = 1;
  std::strcpy(with_reference.references[0].caps, "timestamp/x-ntp");
  with_reference.references[0].timestamp = shmring::kNoTime;
  put(RecordKind::Buffer, std::string(64, 'x'), with_reference);
  put(RecordKind::Eos, "", plain);

  GstBuffer *out = gst_harness_pull(src);
  fail_unless(out != nullptr);
  fail_unless_equals_int(count_reference_metas(out), 0);
  gst_buffer_unref(out);
  GstEvent *event;
  while ((event = gst_harness_pull_event(src)) && GST_EVENT_TYPE(event) != GST_EVENT_EOS)
    gst_event_unref(event);
  fail_unless(event != nullptr, "EOS reached the reader");
  gst_event_unref(event);
  expect_sequence(trace.snapshot(), {"event:stream-start", "caps:application/x-test",
                                     "event:segment", "buffer:7", "event:eos"});
  gst_harness_teardown(src);
  writer.reset();
  fail_if(ring_exists(ring));
}
GST_END_TEST;

// Upstream that may choose picks the sink's first listed format: a common
// one, not the widest its template allows; a constrained upstream keeps its
// format, and a stream of another kind passes as before.
GST_START_TEST(test_an_unconstrained_upstream_sends_a_common_format) {
  struct Case {
    const char *upstream;
    const char *expected;
  };
  const Case cases[] = {
      {"videotestsrc num-buffers=1", "video/x-raw, format=(string)I420"},
      {"audiotestsrc num-buffers=1", "audio/x-raw, format=(string)S16LE"},
      {"videotestsrc num-buffers=1 ! video/x-raw,format=AYUV64",
       "video/x-raw, format=(string)AYUV64"},
      {"videotestsrc num-buffers=1 ! video/x-raw,width=64,height=48 ! jpegenc", "image/jpeg"},
  };
  for (const Case &c : cases) {
    const std::string ring = ring_name("preferred");
    const std::string description =
        std::string(c.upstream) + " ! shmringsink name=sink ring=" + ring;
    GstElement *pipeline = gst_parse_launch(description.c_str(), nullptr);
    fail_unless(pipeline != nullptr);
    fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    GstBus *bus = gst_element_get_bus(pipeline);
    GstMessage *done = gst_bus_timed_pop_filtered(
        bus, 10 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    fail_unless(done != nullptr && GST_MESSAGE_TYPE(done) == GST_MESSAGE_EOS, c.upstream);
    gst_message_unref(done);
    gst_object_unref(bus);
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    GstPad *pad = gst_element_get_static_pad(sink, "sink");
    GstCaps *caps = gst_pad_get_current_caps(pad);
    fail_unless(caps != nullptr);
    gchar *text = gst_caps_to_string(caps);
    fail_unless(g_str_has_prefix(text, c.expected), "%s gave %s", c.upstream, text);
    g_free(text);
    gst_caps_unref(caps);
    gst_object_unref(pad);
    gst_object_unref(sink);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
    fail_if(ring_exists(ring));
  }
}
GST_END_TEST;

// A stream without caps (fakesrc, filesrc) passes as bytes: the reader
// pushes the same bytes, and no caps.
GST_START_TEST(test_a_stream_without_caps_passes_as_bytes) {
  const std::string ring = ring_name("no-caps");
  // The ring is made at the first buffer; the writer holds it until the
  // reader is in, or a reader joining late would start at the newest.
  GstHarness *sink = sink_harness(ring, "wait-for-readers=true");
  GstHarness *src = src_harness(ring, "timestamp-mode=original");
  // A stream start and a segment, as any source sends them, but no caps.
  fail_unless(gst_harness_push_event(sink, gst_event_new_stream_start("no-caps")));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  fail_unless(gst_harness_push_event(sink, gst_event_new_segment(&segment)));
  gst_harness_push(sink, numbered_buffer(0, 100));
  gst_harness_push(sink, numbered_buffer(1, 100));
  for (guint64 n = 0; n < 2; ++n) {
    GstBuffer *buffer = gst_harness_pull(src);
    check_numbered_buffer(buffer, n, 100);
    gst_buffer_unref(buffer);
  }
  GstCaps *caps = gst_pad_get_current_caps(src->sinkpad);
  fail_unless(caps == nullptr, "no caps downstream of a caps-less stream");
  gst_harness_teardown(src);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

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
    gst_buffer_unref(gst_harness_pull(src));
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
  gst_element_set_state(sink->element, GST_STATE_NULL);
  pusher.join();
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

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

// Every reader process that comes and goes while buffers flow is announced
// once as joined and once as left, however briefly it stayed (here: two
// records; each takes the entry the one before it left).
GST_START_TEST(test_every_brief_reader_is_announced_joined_and_left) {
  const std::string ring = ring_name("brief-readers");
  GstHarness *sink = sink_harness(ring);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(element_of(sink, "shmringsink"), bus);
  gst_harness_set_src_caps_str(sink, "application/x-test");
  guint64 n = 0;
  fail_unless_equals_int(gst_harness_push(sink, numbered_buffer(n++, 64)), GST_FLOW_OK);
  constexpr int kReaders = 5;
  for (int r = 0; r < kReaders; ++r) {
    int joined_pipe[2];
    fail_unless(pipe(joined_pipe) == 0);
    const pid_t child = fork();
    if (child == 0) {
      auto reader = plugin_schema_reader(ring);
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
      fail_unless_equals_int(gst_harness_push(sink, numbered_buffer(n++, 64)), GST_FLOW_OK);
    int status = 0;
    fail_unless(waitpid(child, &status, 0) == child);
    fail_unless(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reader %d: status %d", r, status);
  }
  fail_unless_equals_int(gst_harness_push(sink, numbered_buffer(n++, 64)), GST_FLOW_OK);
  const ReaderMessages messages = reader_messages(bus);
  fail_unless_equals_int(messages.joined, kReaders);
  fail_unless_equals_int(messages.left, kReaders);
  gst_element_set_bus(element_of(sink, "shmringsink"), nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

// A reader that leaves and comes back in the same process (a pipeline set
// to NULL and to PLAYING again) takes the same entry with the same pid: it
// is announced as having left and joined again all the same.
GST_START_TEST(test_a_reader_back_in_the_same_process_is_announced_again) {
  const std::string ring = ring_name("back-again");
  GstHarness *sink = sink_harness(ring);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(element_of(sink, "shmringsink"), bus);
  gst_harness_set_src_caps_str(sink, "application/x-test");
  guint64 n = 0;
  fail_unless_equals_int(gst_harness_push(sink, numbered_buffer(n++, 64)), GST_FLOW_OK);
  constexpr int kStays = 3;
  for (int stay = 0; stay < kStays; ++stay) {
    auto reader = plugin_schema_reader(ring);
    fail_unless_equals_int(gst_harness_push(sink, numbered_buffer(n++, 64)), GST_FLOW_OK);
    fail_unless(read_and_release(*reader));
  }  // each stay's reader leaves before the next one joins
  fail_unless_equals_int(gst_harness_push(sink, numbered_buffer(n++, 64)), GST_FLOW_OK);
  const ReaderMessages messages = reader_messages(bus);
  fail_unless_equals_int(messages.joined, kStays);
  fail_unless_equals_int(messages.left, kStays);
  gst_element_set_bus(element_of(sink, "shmringsink"), nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

// Both elements are made from shmring:// URIs: the ring from the URI, other
// properties from its query; the URI reads back without the query.
GST_START_TEST(test_elements_are_made_from_shmring_uris) {
  GError *error = nullptr;
  GstElement *src = gst_element_make_from_uri(
      GST_URI_SRC, "shmring://cam0?policy=leaky&timeout=5000&on-writer-lost=wait", nullptr, &error);
  fail_unless(src != nullptr, "%s", error ? error->message : "");
  fail_unless_equals_string(GST_OBJECT_NAME(gst_element_get_factory(src)), "shmringsrc");
  gchar *ring = nullptr;
  gint policy = 0;
  guint64 timeout = 0;
  g_object_get(src, "ring", &ring, "timeout", &timeout, "policy", &policy, nullptr);
  GParamSpec *spec = g_object_class_find_property(G_OBJECT_GET_CLASS(src), "policy");
  GEnumClass *policies = G_ENUM_CLASS(g_type_class_ref(spec->value_type));
  fail_unless_equals_string(g_enum_get_value(policies, policy)->value_nick, "leaky");
  g_type_class_unref(policies);
  fail_unless_equals_string(ring, "cam0");
  fail_unless_equals_uint64(timeout, 5000);
  gchar *uri = gst_uri_handler_get_uri(GST_URI_HANDLER(src));
  fail_unless_equals_string(uri, "shmring://cam0");
  g_free(uri);
  g_free(ring);
  gst_object_unref(src);

  GstElement *sink =
      gst_element_make_from_uri(GST_URI_SINK, "shmring:///cam1?perms=416", nullptr, &error);
  fail_unless(sink != nullptr, "%s", error ? error->message : "");
  guint perms = 0;
  g_object_get(sink, "ring", &ring, "perms", &perms, nullptr);
  fail_unless_equals_string(ring, "cam1");
  fail_unless_equals_int(perms, 0640);
  g_free(ring);
  // Refused: another scheme, a bad name, a property that is not there.
  for (const char *bad :
       {"file:///tmp/x", "shmring://a..b/c", "shmring://x?slots=many", "shmring://x?name=evil"}) {
    fail_if(gst_uri_handler_set_uri(GST_URI_HANDLER(sink), bad, &error), bad);
    fail_unless(error != nullptr, bad);
    g_clear_error(&error);
  }
  gst_object_unref(sink);
}
GST_END_TEST;

namespace {

// Debug lines of the shmring categories, as GST_DEBUG would print them.
struct DebugLines {
  std::mutex lock;
  std::vector<std::pair<GstDebugLevel, std::string>> lines;  // level, "category: message"
};

void collect_debug(GstDebugCategory *category, GstDebugLevel level, const gchar *, const gchar *,
                   gint, GObject *, GstDebugMessage *message, gpointer data) {
  const gchar *name = gst_debug_category_get_name(category);
  if (!g_str_has_prefix(name, "shmring"))
    return;
  auto *debug = static_cast<DebugLines *>(data);
  std::lock_guard<std::mutex> guard(debug->lock);
  debug->lines.emplace_back(level, std::string(name) + ": " + gst_debug_message_get(message));
}

std::size_t count_lines(DebugLines &debug, GstDebugLevel level, const std::string &text) {
  std::lock_guard<std::mutex> guard(debug.lock);
  std::size_t n = 0;
  for (const auto &[at, line] : debug.lines)
    n += at == level && line.find(text) != std::string::npos;
  return n;
}

}  // namespace

// GST_DEBUG=shmring*:N tells the story: at INFO the ring made, caps, a
// reader attached and joined, EOS; at DEBUG the waits, with how long and
// why; at LOG one line per buffer; and the core's own messages in
// "shmringcore".
GST_START_TEST(test_debug_output_tells_the_story) {
  DebugLines debug;
  gst_debug_set_threshold_for_name("shmring*", GST_LEVEL_LOG);
  gst_debug_add_log_function(collect_debug, &debug, nullptr);
  const std::string ring = ring_name("story");
  GstHarness *sink = sink_harness(ring);
  gst_harness_set_src_caps_str(sink, "application/x-test");
  GstHarness *src = src_harness(ring, "timestamp-mode=original");
  g_usleep(30 * 1000);  // the reader waits for a first frame: a wait to be told
  for (guint64 n = 0; n < 5; ++n)
    gst_harness_push(sink, numbered_buffer(n, 64));
  for (guint64 n = 0; n < 5; ++n)
    gst_buffer_unref(gst_harness_pull(src));
  fail_unless(gst_harness_push_event(sink, gst_event_new_eos()));
  GstEvent *event;
  while ((event = gst_harness_pull_event(src)) && GST_EVENT_TYPE(event) != GST_EVENT_EOS)
    gst_event_unref(event);
  if (event)
    gst_event_unref(event);
  gst_harness_teardown(src);
  gst_harness_teardown(sink);
  gst_debug_remove_log_function(collect_debug);
  gst_debug_set_threshold_for_name("shmring*", GST_LEVEL_NONE);

  fail_unless(count_lines(debug, GST_LEVEL_INFO, "shmringcore: ring '" + ring + "' created") == 1);
  fail_unless(count_lines(debug, GST_LEVEL_INFO, "shmringsink: created ring") == 1);
  fail_unless(count_lines(debug, GST_LEVEL_INFO, "shmringsink: caps id 1: application/x-test") ==
              1);
  fail_unless(count_lines(debug, GST_LEVEL_INFO, "shmringsrc: attached to ring") == 1);
  fail_unless(count_lines(debug, GST_LEVEL_INFO, "shmringsrc: caps id 1") == 1);
  fail_unless(count_lines(debug, GST_LEVEL_INFO, "shmringsink: EOS") == 1);
  fail_unless(count_lines(debug, GST_LEVEL_INFO, "shmringsrc: writer sent EOS") == 1);
  fail_unless(count_lines(debug, GST_LEVEL_DEBUG, "shmringsrc: waited ") >= 1);
  fail_unless_equals_int(count_lines(debug, GST_LEVEL_LOG, "shmringsrc: frame "), 5);
  fail_unless_equals_int(count_lines(debug, GST_LEVEL_LOG, "shmringsink: published "), 5);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

// The source's LATENCY answer: live, min = the writer pipeline's latency
// (published by its sink) + one frame, max = the writer's + the ring's
// depth in frames.
GST_START_TEST(test_latency_is_the_writers_plus_one_frame) {
  const std::string ring = ring_name("latency");
  GstHarness *sink = sink_harness(ring, "slots=6");
  gst_harness_set_src_caps_str(sink, "video/x-raw,format=GRAY8,width=8,height=4,framerate=25/1");
  GstHarness *src = src_harness(ring);
  // What a live writer pipeline tells its sinks once it has its latency.
  fail_unless(gst_element_send_event(element_of(sink, "shmringsink"),
                                     gst_event_new_latency(100 * GST_MSECOND)));
  gst_harness_push(sink, numbered_buffer(0, 32));
  gst_buffer_unref(gst_harness_pull(src));

  GstQuery *query = gst_query_new_latency();
  fail_unless(gst_element_query(element_of(src, "shmringsrc"), query));
  gboolean live = FALSE;
  GstClockTime min = 0, max = 0;
  gst_query_parse_latency(query, &live, &min, &max);
  gst_query_unref(query);
  fail_unless(live);
  fail_unless_equals_uint64(min, 100 * GST_MSECOND + 40 * GST_MSECOND);
  fail_unless_equals_uint64(max, 100 * GST_MSECOND + 6 * 40 * GST_MSECOND);
  gst_harness_teardown(src);
  gst_harness_teardown(sink);
}
GST_END_TEST;

// When what the source would answer changes (the writer pipeline's latency
// here), it posts a LATENCY message so that the pipeline asks again: once,
// and within the next buffers (it compares at most every 10 ms).
GST_START_TEST(test_a_new_writer_latency_is_announced_with_a_latency_message) {
  const std::string ring = ring_name("latency-change");
  GstHarness *sink = sink_harness(ring, "slots=6");
  gst_harness_set_src_caps_str(sink, "video/x-raw,format=GRAY8,width=8,height=4,framerate=25/1");
  GstHarness *src = src_harness(ring);
  GstElement *reader = element_of(src, "shmringsrc");
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(reader, bus);
  fail_unless(gst_element_send_event(element_of(sink, "shmringsink"),
                                     gst_event_new_latency(100 * GST_MSECOND)));
  gst_harness_push(sink, numbered_buffer(0, 32));
  gst_buffer_unref(gst_harness_pull(src));
  GstQuery *query = gst_query_new_latency();
  fail_unless(gst_element_query(reader, query));
  gst_query_unref(query);
  gst_bus_set_flushing(bus, TRUE);  // what came before the answer
  gst_bus_set_flushing(bus, FALSE);

  fail_unless(gst_element_send_event(element_of(sink, "shmringsink"),
                                     gst_event_new_latency(300 * GST_MSECOND)));
  int latency_messages = 0;
  for (int n = 1; n <= 30; ++n) {
    g_usleep(5 * 1000);
    gst_harness_push(sink, numbered_buffer(n, 32));
    gst_buffer_unref(gst_harness_pull(src));
    while (GstMessage *message = gst_bus_pop_filtered(bus, GST_MESSAGE_LATENCY)) {
      ++latency_messages;
      gst_message_unref(message);
    }
  }
  fail_unless_equals_int(latency_messages, 1);
  gst_element_set_bus(reader, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(src);
  gst_harness_teardown(sink);
}
GST_END_TEST;

namespace {

// A sink and a timestamp-mode=arrival source on one ring, the source on the
// system clock (each test sets its base time).
struct ArrivalPair {
  GstHarness *sink;
  GstHarness *src;
  GstClock *clock;
  GstElement *reader;

  explicit ArrivalPair(const std::string &ring)
      : sink(sink_harness(ring)),
        src(src_harness(ring, "timestamp-mode=arrival")),
        clock(gst_system_clock_obtain()),
        reader(element_of(src, "shmringsrc")) {
    gst_harness_set_src_caps_str(sink, "application/x-test");
    gst_element_set_clock(reader, clock);
  }
  ~ArrivalPair() {
    gst_object_unref(clock);
    gst_harness_teardown(src);
    gst_harness_teardown(sink);
  }
};

}  // namespace

// Our running time stands still while the source is paused: a frame that
// reached the ring then (a writer's backlog, read on resume) is stamped no
// earlier than the frame before it. The base time a pipeline sets on
// resume (moved on by the pause) placed it before the pause, one backwards
// step per pause (found by a hostile test cycling PLAYING and PAUSED).
GST_START_TEST(test_arrival_stamps_never_go_back_across_a_pause) {
  ArrivalPair pair(ring_name("arrival-pause"));
  const GstClockTime base = gst_clock_get_time(pair.clock);
  gst_element_set_base_time(pair.reader, base);
  g_usleep(100 * 1000);
  gst_harness_push(pair.sink, numbered_buffer(0, 8));
  GstBuffer *before = gst_harness_pull(pair.src);
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
    GstBuffer *after = gst_harness_pull(pair.src);
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
  ArrivalPair pair(ring_name("arrival"));
  gst_element_set_base_time(pair.reader, gst_clock_get_time(pair.clock));
  gst_harness_push(pair.sink, numbered_buffer(0, 8));
  g_usleep(200 * 1000);
  gst_harness_push(pair.sink, numbered_buffer(1, 8));
  g_usleep(300 * 1000);
  GstBuffer *first = gst_harness_pull(pair.src);
  GstBuffer *second = gst_harness_pull(pair.src);
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

namespace {

// Whether `size` bytes at `data` lie inside one of this process's mappings of
// the ring's shared memory object (/proc/self/maps names the file).
bool inside_ring_mapping(const std::string &ring, const void *data, gsize size) {
  const std::string path = "/dev/shm/shmring." + ring;
  gchar *maps = nullptr;
  fail_unless(g_file_get_contents("/proc/self/maps", &maps, nullptr, nullptr));
  const auto at = reinterpret_cast<guintptr>(data);
  bool inside = false;
  gchar **lines = g_strsplit(maps, "\n", -1);
  for (gchar **line = lines; *line && !inside; ++line) {
    if (!g_str_has_suffix(*line, path.c_str()))
      continue;
    guint64 start = 0, end = 0;
    if (sscanf(*line, "%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x", &start, &end) == 2)
      inside = at >= start && at + size <= end;
  }
  g_strfreev(lines);
  g_free(maps);
  return inside;
}

// Whether the buffer's bytes lie in the ring (a wrapped slot), not in memory
// of their own (a copy).
bool buffer_in_ring(const std::string &ring, GstBuffer *buffer) {
  fail_unless_equals_int(gst_buffer_n_memory(buffer), 1);
  GstMapInfo map;
  fail_unless(gst_buffer_map(buffer, &map, GST_MAP_READ));
  const bool inside = inside_ring_mapping(ring, map.data, map.size);
  gst_buffer_unmap(buffer, &map);
  return inside;
}

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

  ReaderPipeline(const std::string &ring, const char *extra) {
    const std::string description = "shmringsrc name=src timestamp-mode=original ring=" + ring +
                                    " " + extra +
                                    " ! appsink name=out sync=false max-buffers=1 "
                                    "enable-last-sample=false";
    pipeline = gst_parse_launch(description.c_str(), nullptr);
    fail_unless(pipeline != nullptr);
    src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    out = gst_bin_get_by_name(GST_BIN(pipeline), "out");
    bus = gst_element_get_bus(pipeline);
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
  }
  ~ReaderPipeline() {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(bus);
    gst_object_unref(src);
    gst_object_unref(out);
    gst_object_unref(pipeline);
  }
  // The next buffer (a new reference), or a failure after 5 s.
  GstBuffer *pull() {
    GstSample *sample = gst_app_sink_try_pull_sample(GST_APP_SINK(out), 5 * GST_SECOND);
    fail_unless(sample != nullptr, "no buffer within 5 s");
    GstBuffer *buffer = gst_buffer_ref(gst_sample_get_buffer(sample));
    gst_sample_unref(sample);
    return buffer;
  }
};

// Pushes numbered buffers from..to, each accepted.
void push_numbered(GstHarness *sink, guint64 from, guint64 to) {
  for (guint64 n = from; n <= to; ++n)
    fail_unless_equals_int(gst_harness_push(sink, numbered_buffer(n, 32)), GST_FLOW_OK);
}

}  // namespace

// README: "Readers wrap the shared memory directly: no copy on the read side."
// The pushed buffer's bytes are the ring slot itself, read-only.
GST_START_TEST(test_reader_buffers_wrap_the_ring_slot_without_a_copy) {
  const std::string ring = ring_name("zero-copy");
  GstHarness *sink = sink_harness(ring);
  gst_harness_set_src_caps_str(sink, "application/x-test");
  GstHarness *src = src_harness(ring, "timestamp-mode=original");
  for (guint64 n = 0; n < 3; ++n) {
    fail_unless_equals_int(gst_harness_push(sink, numbered_buffer(n, 4096)), GST_FLOW_OK);
    GstBuffer *out = gst_harness_pull(src);
    check_numbered_buffer(out, n, 4096);
    fail_unless(buffer_in_ring(ring, out), "buffer %u is not the ring slot", guint(n));
    fail_unless(GST_MEMORY_FLAG_IS_SET(gst_buffer_peek_memory(out, 0), GST_MEMORY_FLAG_READONLY),
                "the slot is lent read-only");
    gst_buffer_unref(out);
  }
  fail_unless_equals_uint64(stat_of(element_of(src, "shmringsrc"), "copied"), 0);
  gst_harness_teardown(src);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

// README: "When downstream already holds half of the slots ..., further
// frames are copied instead so that a reader can never starve the writer.
// Both copies count in `copied`."
GST_START_TEST(test_a_reader_whose_downstream_holds_half_the_slots_copies) {
  const std::string ring = ring_name("half");
  GstHarness *sink = sink_harness(ring, "slots=4");
  gst_harness_set_src_caps_str(sink, "application/x-test");
  GstHarness *src = src_harness(ring, "timestamp-mode=original");
  GstElement *reader = element_of(src, "shmringsrc");
  std::vector<GstBuffer *> held;
  for (guint64 n = 0; n < 4; ++n) {
    fail_unless_equals_int(gst_harness_push(sink, numbered_buffer(n, 256)), GST_FLOW_OK);
    GstBuffer *out = gst_harness_pull(src);
    check_numbered_buffer(out, n, 256);
    // Two of four slots kept downstream: the first two wrap, the rest copy.
    fail_unless_equals_int(buffer_in_ring(ring, out), n < 2);
    held.push_back(out);
  }
  fail_unless_equals_uint64(stat_of(reader, "copied"), 2);
  GstStructure *stats = nullptr;
  g_object_get(reader, "stats", &stats, nullptr);
  guint slots_held = 0;
  fail_unless(gst_structure_get_uint(stats, "slots-held", &slots_held));
  gst_structure_free(stats);
  fail_unless_equals_int(slots_held, 2);
  for (GstBuffer *buffer : held)
    gst_buffer_unref(buffer);
  // Given back: wrapping again.
  fail_unless_equals_int(gst_harness_push(sink, numbered_buffer(4, 256)), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull(src);
  fail_unless(buffer_in_ring(ring, out));
  gst_buffer_unref(out);
  fail_unless_equals_uint64(stat_of(reader, "copied"), 2);
  gst_harness_teardown(src);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

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

// README: "With on-writer-lost=wait, a new writer on the same name ... is
// picked up with its caps, a new segment and a DISCONT buffer."
GST_START_TEST(test_a_new_writer_brings_caps_a_new_segment_and_discont) {
  const std::string ring = ring_name("new-writer");
  GstHarness *first = sink_harness(ring);
  gst_harness_set_src_caps_str(first, "video/x-raw,format=GRAY8,width=8,height=4,framerate=25/1");
  Trace trace;
  GstHarness *src = src_harness(ring, "timestamp-mode=original on-writer-lost=wait", &trace);
  gst_harness_push(first, numbered_buffer(0, 32));
  GstBuffer *buffer = gst_harness_pull(src);
  fail_unless_equals_uint64(GST_BUFFER_OFFSET(buffer), 0);
  gst_buffer_unref(buffer);
  gst_harness_teardown(first);  // stops without EOS
  fail_if(ring_exists(ring));

  GstHarness *second = sink_harness(ring);
  gst_harness_set_src_caps_str(second, "video/x-raw,format=RGB8P,width=8,height=4,framerate=25/1");
  // The new writer starts mid-GOP: its delta unit 101 is read (first, or as
  // the newest when the source joins) and skipped until keyframe 102.
  GstElement *reader = element_of(src, "shmringsrc");
  gst_harness_push(second, numbered_buffer(101, 32));
  fail_unless(eventually([&] { return stat_of(reader, "dropped") == 1; }));
  gst_harness_push(second, numbered_buffer(102, 32));
  buffer = gst_harness_pull(src);
  fail_unless_equals_uint64(GST_BUFFER_OFFSET(buffer), 102);
  fail_unless(GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DISCONT), "a new writer's first");
  gst_buffer_unref(buffer);
  gst_harness_push(second, numbered_buffer(103, 32));
  buffer = gst_harness_pull(src);
  fail_unless_equals_uint64(GST_BUFFER_OFFSET(buffer), 103);
  fail_if(GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref(buffer);

  std::vector<std::string> tail;
  for (const std::string &item : trace.snapshot())
    if (item != "event:stream-start")
      tail.push_back(item);
  expect_sequence(tail, {"caps:GRAY8", "event:segment", "buffer:0", "caps:RGB8P", "event:segment",
                         "buffer:102", "buffer:103"});
  gst_harness_teardown(src);
  gst_harness_teardown(second);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

// README: `perms` is the "File mode of the shared memory object".
GST_START_TEST(test_perms_is_the_mode_of_the_ring) {
  // 0: perms left unset, which must be 0600 (this user only).
  for (guint mode : {0u, 0640u, 0644u, 0600u}) {
    const std::string ring = ring_name("perms");
    gchar *extra = mode ? g_strdup_printf("perms=0%o", mode) : g_strdup("");
    GstHarness *sink = sink_harness(ring, extra);
    g_free(extra);
    gst_harness_set_src_caps_str(sink, "application/x-test");
    struct stat st;
    fail_unless_equals_int(stat(("/dev/shm/shmring." + ring).c_str(), &st), 0);
    fail_unless_equals_int(st.st_mode & 0777, mode ? mode : 0600);
    gst_harness_teardown(sink);
    fail_if(ring_exists(ring));
  }
}
GST_END_TEST;

// README, shmringsrc `timeout`: "Nanoseconds to wait for a writer to appear
// before posting an error". Not before: a writer that comes within it is read.
GST_START_TEST(test_source_timeout_waits_that_long_for_a_writer_then_errors) {
  const std::string ring = ring_name("src-timeout");
  const std::string description = "shmringsrc timeout=300000000 ring=" + ring + " ! fakesink";
  GstElement *pipeline = gst_parse_launch(description.c_str(), nullptr);
  const gint64 started = g_get_monotonic_time();
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GError *error = first_error(pipeline);
  const gint64 errored = g_get_monotonic_time();
  fail_unless(error != nullptr, "no error without a writer");
  fail_unless(strstr(error->message, "No writer on ring") != nullptr, "%s", error->message);
  g_error_free(error);
  fail_unless(errored - started >= 300 * 1000, "gave up after %" G_GINT64_FORMAT " us",
              errored - started);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);

  // A writer that comes within the timeout is read, and nothing is posted.
  ReaderPipeline reader(ring, "timeout=4000000000");
  GstHarness *sink = sink_harness(ring);
  gst_harness_set_src_caps_str(sink, "application/x-test");
  push_numbered(sink, 0, 0);
  GstBuffer *buffer = reader.pull();
  fail_unless_equals_uint64(GST_BUFFER_OFFSET(buffer), 0);
  gst_buffer_unref(buffer);
  GstMessage *message = gst_bus_pop_filtered(reader.bus, GST_MESSAGE_ERROR);
  fail_unless(message == nullptr, "an error although the writer came in time");
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

// README: `dropped` counts frames "read but not pushed"; a video layout
// that does not fit its buffer is one, and the next buffer is DISCONT.
GST_START_TEST(test_a_layout_that_does_not_fit_is_dropped_and_counted) {
  const std::string ring = ring_name("bad-layout");
  GstHarness *sink = sink_harness(ring);
  gst_harness_set_src_caps_str(sink, "video/x-raw,format=GRAY8,width=8,height=4,framerate=25/1");
  GstHarness *src = src_harness(ring, "timestamp-mode=original");
  gst_harness_push(sink, numbered_buffer(0, 32));
  // A keyframe whose meta claims rows of 16 bytes: 64 bytes, in a 32-byte buffer.
  GstBuffer *bad = numbered_buffer(2, 32);
  gsize offsets[GST_VIDEO_MAX_PLANES] = {0};
  gint strides[GST_VIDEO_MAX_PLANES] = {16};
  gst_buffer_add_video_meta_full(bad, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_FORMAT_GRAY8, 8, 4, 1,
                                 offsets, strides);
  gst_harness_push(sink, bad);
  gst_harness_push(sink, numbered_buffer(4, 32));
  GstBuffer *out = gst_harness_pull(src);
  check_numbered_buffer(out, 0, 32);
  gst_buffer_unref(out);
  out = gst_harness_pull(src);
  check_numbered_buffer(out, 4, 32);
  fail_unless(GST_BUFFER_FLAG_IS_SET(out, GST_BUFFER_FLAG_DISCONT), "after a dropped frame");
  gst_buffer_unref(out);
  GstElement *reader = element_of(src, "shmringsrc");
  fail_unless_equals_uint64(stat_of(reader, "dropped"), 1);
  fail_unless_equals_uint64(stat_of(reader, "received"), 2);
  fail_unless_equals_uint64(stat_of(reader, "lost"), 0);
  gst_harness_teardown(src);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

// design-notes: a source copies "when the readers of the ring already hold
// half of its slots between them": two readers holding one slot each make a
// third held slot copied, though neither downstream holds half on its own.
GST_START_TEST(test_readers_together_holding_half_the_slots_copy) {
  const std::string ring = ring_name("half-together");
  GstHarness *sink = sink_harness(ring, "slots=4");
  gst_harness_set_src_caps_str(sink, "application/x-test");
  GstHarness *a = src_harness(ring, "timestamp-mode=original");
  GstHarness *b = src_harness(ring, "timestamp-mode=original");
  gst_harness_push(sink, numbered_buffer(0, 256));
  GstBuffer *kept_by_a = gst_harness_pull(a);
  gst_buffer_unref(gst_harness_pull(b));
  gst_harness_push(sink, numbered_buffer(1, 256));
  gst_buffer_unref(gst_harness_pull(a));
  GstBuffer *kept_by_b = gst_harness_pull(b);
  fail_unless(buffer_in_ring(ring, kept_by_a) && buffer_in_ring(ring, kept_by_b));
  gst_harness_push(sink, numbered_buffer(2, 256));
  for (GstHarness *h : {a, b}) {
    GstBuffer *out = gst_harness_pull(h);
    check_numbered_buffer(out, 2, 256);
    fail_if(buffer_in_ring(ring, out), "a third slot held while two are held: copied");
    gst_buffer_unref(out);
    fail_unless_equals_uint64(stat_of(element_of(h, "shmringsrc"), "copied"), 1);
  }
  gst_buffer_unref(kept_by_a);
  gst_buffer_unref(kept_by_b);
  gst_harness_teardown(a);
  gst_harness_teardown(b);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}
GST_END_TEST;

// README, `slot-size` 0: "from the first caps (a raw video frame's size,
// else 4 MiB)".
GST_START_TEST(test_slot_size_comes_from_the_first_caps) {
  const struct {
    const char *caps;
    std::uint64_t slot_size;
  } cases[] = {
      {"video/x-raw,format=GRAY8,width=8,height=4,framerate=25/1", 32},
      {"video/x-raw,format=I420,width=64,height=48,framerate=25/1", 64 * 48 * 3 / 2},
      {"application/x-test", 4 * 1024 * 1024},
  };
  for (const auto &c : cases) {
    const std::string ring = ring_name("slot-size");
    GstHarness *sink = sink_harness(ring);
    gst_harness_set_src_caps_str(sink, c.caps);
    const shmring::ObjectInfo info = shmring::inspect_object(ring);
    fail_unless_equals_uint64(info.slot_size, c.slot_size);
    fail_unless_equals_int(info.slots, 8);  // `slots` defaults to 8
    gst_harness_teardown(sink);
    fail_if(ring_exists(ring));
  }
}
GST_END_TEST;

// design-notes: "A frame written before the reader's pipeline started
// playing maps to a negative running time; it is stamped 0 (the reader's
// start) rather than dropped".
GST_START_TEST(test_clock_mode_stamps_a_frame_older_than_the_reader_zero) {
  const std::string ring = ring_name("before-start");
  GstHarness *sink = sink_harness(ring);
  gst_harness_set_src_caps_str(sink, "application/x-test");
  GstHarness *src = src_harness(ring);  // timestamp-mode=clock
  GstClock *clock = gst_system_clock_obtain();
  GstElement *writer = element_of(sink, "shmringsink");
  GstElement *reader = element_of(src, "shmringsrc");
  gst_element_set_clock(writer, clock);
  gst_element_set_clock(reader, clock);
  const GstClockTime base = gst_clock_get_time(clock);
  gst_element_set_base_time(writer, base);
  gst_element_set_base_time(reader, base + 5 * GST_SECOND);  // started 4 s after the frame
  gst_object_unref(clock);
  GstBuffer *buffer = numbered_buffer(0, 8);
  GST_BUFFER_PTS(buffer) = 1 * GST_SECOND;
  GST_BUFFER_DTS(buffer) = 1 * GST_SECOND - 10 * GST_MSECOND;
  gst_harness_push(sink, buffer);
  GstBuffer *out = gst_harness_pull(src);
  fail_unless_equals_uint64(GST_BUFFER_PTS(out), 0);
  fail_unless_equals_uint64(GST_BUFFER_DTS(out), 0);
  gst_buffer_unref(out);
  fail_unless_equals_uint64(stat_of(reader, "received"), 1);
  gst_harness_teardown(src);
  gst_harness_teardown(sink);
}
GST_END_TEST;

static Suite *shmring_suite(void) {
  Suite *suite = suite_create("shmring elements");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 60);
  suite_add_tcase(suite, tc);
  tcase_add_test(tc, test_caps_timestamps_flags_and_payload_round_trip);
  tcase_add_test(tc, test_caps_change_reaches_the_reader_at_the_right_buffer);
  tcase_add_test(tc, test_eos_and_custom_events_travel_in_order);
  tcase_add_test(tc, test_tags_and_reference_timestamps_travel_in_order);
  tcase_add_test(tc, test_hostile_text_in_the_ring_is_dropped_without_a_warning);
  tcase_add_test(tc, test_an_unconstrained_upstream_sends_a_common_format);
  tcase_add_test(tc, test_a_stream_without_caps_passes_as_bytes);
  tcase_add_test(tc, test_a_sink_holds_the_stream_as_soon_as_its_last_reader_leaves);
  tcase_add_test(tc, test_every_brief_reader_is_announced_joined_and_left);
  tcase_add_test(tc, test_a_reader_back_in_the_same_process_is_announced_again);
  tcase_add_test(tc, test_elements_are_made_from_shmring_uris);
  tcase_add_test(tc, test_debug_output_tells_the_story);
  tcase_add_test(tc, test_latency_is_the_writers_plus_one_frame);
  tcase_add_test(tc, test_a_new_writer_latency_is_announced_with_a_latency_message);
  tcase_add_test(tc, test_arrival_mode_stamps_when_the_frame_reached_the_ring);
  tcase_add_test(tc, test_arrival_stamps_never_go_back_across_a_pause);
  tcase_add_test(tc, test_clock_mode_maps_writer_time_to_reader_running_time);
  tcase_add_test(tc, test_clock_mode_maps_across_different_clocks);
  tcase_add_test(tc, test_late_reader_starts_at_the_newest_keyframe_with_caps);
  tcase_add_test(tc, test_invalid_ring_names_are_element_errors);
  tcase_add_test(tc, test_perms_that_shut_out_the_owner_are_a_settings_error);
  tcase_add_test(tc, test_second_writer_on_a_live_ring_is_an_error);
  tcase_add_test(tc, test_second_writer_without_slot_size_fails_its_state_change);
  tcase_add_test(tc, test_buffer_larger_than_a_slot_is_an_error_not_a_truncation);
  tcase_add_test(tc, test_corrupt_or_foreign_ring_is_a_reader_error);
  tcase_add_test(tc, test_stopping_a_reader_that_waits_for_a_writer_does_not_hang);
  tcase_add_test(tc, test_stopping_a_writer_that_waits_does_not_hang);
  tcase_add_test(tc, test_pool_buffers_are_slots_published_without_a_copy);
  tcase_add_test(tc, test_padded_frames_keep_their_layout_or_are_repacked);
  tcase_add_test(tc, test_the_pool_leaves_the_ring_a_slot_of_its_own);
  tcase_add_test(tc, test_a_stalled_blocking_reader_is_dropped_or_an_error_as_configured);
  tcase_add_test(tc, test_paused_and_playing_again_keeps_the_connection);
  tcase_add_test(tc, test_reader_buffers_wrap_the_ring_slot_without_a_copy);
  tcase_add_test(tc, test_a_reader_whose_downstream_holds_half_the_slots_copies);
  tcase_add_test(tc, test_readers_together_holding_half_the_slots_copy);
  tcase_add_test(tc, test_a_leaky_reader_that_lost_frames_marks_discont_and_posts_qos);
  tcase_add_test(tc, test_after_a_loss_the_reader_waits_for_a_keyframe);
  tcase_add_test(tc, test_a_new_writer_brings_caps_a_new_segment_and_discont);
  tcase_add_test(tc, test_perms_is_the_mode_of_the_ring);
  tcase_add_test(tc, test_source_timeout_waits_that_long_for_a_writer_then_errors);
  tcase_add_test(tc, test_a_layout_that_does_not_fit_is_dropped_and_counted);
  tcase_add_test(tc, test_slot_size_comes_from_the_first_caps);
  tcase_add_test(tc, test_clock_mode_stamps_a_frame_older_than_the_reader_zero);
  return suite;
}

int main(int argc, char **argv) {
  runner_pid = getpid();
  gst_check_init(&argc, &argv);
  int failed = gst_check_run_suite(shmring_suite(), "shmring", __FILE__);
  // Whatever a test left behind (it may have crashed) goes now, and counts
  // as a failure.
  const std::string suffix = "-" + std::to_string(runner_pid);
  if (GDir *dir = g_dir_open("/dev/shm", 0, nullptr)) {
    while (const gchar *entry = g_dir_read_name(dir)) {
      std::string name = entry;
      if (name.rfind("shmring.check-", 0) == 0 && g_str_has_suffix(entry, suffix.c_str())) {
        g_printerr("left behind: /dev/shm/%s\n", entry);
        shm_unlink(("/" + name).c_str());
        failed = 1;
      }
    }
    g_dir_close(dir);
  }
  return failed;
}
