// What travels through a ring from shmringsink to shmringsrc: caps,
// timestamps, flags, payload, events, tags and reference timestamps, in
// order; streams without caps; a late reader's first frame; a new writer.
#include <cstring>
#include <string>
#include <vector>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include "element_test_support.hpp"
#include "ring_record.h"
#include "shmring/writer.hpp"

using namespace shmring_check;

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
    GstBuffer *buffer = pull_buffer(src);
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

  GstElement *reader = element_of(src, "shmringsrc");
  fail_unless_equals_uint64(stat_of(reader, "received"), 10);
  fail_unless_equals_uint64(stat_of(reader, "lost"), 0);
  GstElement *writer = element_of(sink, "shmringsink");
  fail_unless_equals_uint64(stat_of(writer, "published"), 10);
  fail_unless_equals_int(readers_of(writer), 1);

  gst_harness_teardown(src);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring), "the sink removes the ring when it stops");
}
GST_END_TEST;

GST_START_TEST(test_caps_change_reaches_the_reader_at_the_right_buffer) {
  Trace trace;
  HarnessPair pair(ring_name("recaps"), "video/x-raw,format=GRAY8,width=8,height=4,framerate=25/1",
                   "", "timestamp-mode=original", &trace);
  for (guint64 n = 0; n < 3; ++n)
    gst_harness_push(pair.sink, numbered_buffer(n, 32));
  gst_harness_set_src_caps_str(pair.sink,
                               "video/x-raw,format=RGB8P,width=8,height=4,framerate=25/1");
  for (guint64 n = 3; n < 6; ++n)
    gst_harness_push(pair.sink, numbered_buffer(n, 32));
  for (int n = 0; n < 6; ++n)
    gst_buffer_unref(pull_buffer(pair.src));

  std::vector<std::string> items = trace.snapshot();
  std::vector<std::string> data;
  for (const std::string &item : items) {
    if (item.rfind("caps:", 0) == 0 || item.rfind("buffer:", 0) == 0)
      data.push_back(item);
  }
  const std::vector<std::string> expected = {"caps:GRAY8", "buffer:0", "buffer:1", "buffer:2",
                                             "caps:RGB8P", "buffer:3", "buffer:4", "buffer:5"};
  expect_sequence(data, expected);
}
GST_END_TEST;

GST_START_TEST(test_eos_and_custom_events_travel_in_order) {
  Trace trace;
  HarnessPair pair(ring_name("eos"), "application/x-test", "", "", &trace);
  gst_harness_push(pair.sink, numbered_buffer(0, 100));
  fail_unless(gst_harness_push_event(
      pair.sink,
      gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM,
                           gst_structure_new("shmring-test-marker", "n", G_TYPE_INT, 7, nullptr))));
  gst_harness_push(pair.sink, numbered_buffer(1, 100));
  fail_unless(gst_harness_push_event(pair.sink, gst_event_new_eos()));

  gst_buffer_unref(pull_buffer(pair.src));
  gst_buffer_unref(pull_buffer(pair.src));
  // Events: stream-start, caps, segment, the marker, then EOS.
  bool saw_marker = false;
  events_until_eos(pair.src, [&](GstEvent *event) {
    if (GST_EVENT_TYPE(event) == GST_EVENT_CUSTOM_DOWNSTREAM) {
      const GstStructure *s = gst_event_get_structure(event);
      int n = 0;
      fail_unless(gst_structure_has_name(s, "shmring-test-marker"));
      fail_unless(gst_structure_get_int(s, "n", &n) && n == 7);
      saw_marker = true;
    }
  });
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
}
GST_END_TEST;

namespace {

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

}  // namespace

// Tags (global and stream scope) and reference timestamps cross the ring in
// their place among the buffers; a tag list sent before the first buffer
// still follows the reader's segment.
GST_START_TEST(test_tags_and_reference_timestamps_travel_in_order) {
  Trace trace;
  HarnessPair pair(ring_name("tags"), "application/x-test", "", "timestamp-mode=original", &trace);

  GstTagList *global = gst_tag_list_new(GST_TAG_TITLE, "first", nullptr);
  gst_tag_list_set_scope(global, GST_TAG_SCOPE_GLOBAL);
  fail_unless(gst_harness_push_event(pair.sink, gst_event_new_tag(global)));
  GstBuffer *first = numbered_buffer(0, 64);
  with_reference_timestamp(first, "timestamp/x-ntp", 111 * GST_SECOND, 5 * GST_MSECOND);
  with_reference_timestamp(first, "timestamp/x-unix", 222 * GST_SECOND, GST_CLOCK_TIME_NONE);
  // A third, and one whose caps are too long, are outside the whitelist.
  with_reference_timestamp(first, "timestamp/x-ptp, domain=(int)0", 1, 1);
  gst_harness_push(pair.sink, first);
  fail_unless(gst_harness_push_event(
      pair.sink, gst_event_new_tag(gst_tag_list_new(GST_TAG_TITLE, "second", nullptr))));
  gst_harness_push(pair.sink,
                   with_reference_timestamp(
                       numbered_buffer(1, 64),
                       "timestamp/x-a-reference-clock-whose-caps-are-far-too-long-to-fit", 3, 3));
  fail_unless(gst_harness_push_event(pair.sink, gst_event_new_eos()));

  GstBuffer *out = pull_buffer(pair.src);
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
  out = pull_buffer(pair.src);
  fail_unless_equals_int(count_reference_metas(out), 0);
  gst_buffer_unref(out);

  std::vector<std::pair<std::string, GstTagScope>> tags;
  events_until_eos(pair.src, [&](GstEvent *event) {
    if (GST_EVENT_TYPE(event) == GST_EVENT_TAG) {
      GstTagList *list = nullptr;
      gst_event_parse_tag(event, &list);
      gchar *title = nullptr;
      fail_unless(gst_tag_list_get_string(list, GST_TAG_TITLE, &title));
      tags.emplace_back(title, gst_tag_list_get_scope(list));
      g_free(title);
    }
  });
  fail_unless_equals_int(tags.size(), 2);
  fail_unless_equals_string(tags[0].first.c_str(), "first");
  fail_unless_equals_int(tags[0].second, GST_TAG_SCOPE_GLOBAL);
  fail_unless_equals_string(tags[1].first.c_str(), "second");
  fail_unless_equals_int(tags[1].second, GST_TAG_SCOPE_STREAM);

  expect_sequence(trace.snapshot(),
                  {"event:stream-start", "caps:application/x-test", "event:segment", "event:tag",
                   "buffer:0", "event:tag", "buffer:1", "event:eos"});
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

  GstBuffer *out = pull_buffer(src);
  fail_unless(out != nullptr);
  fail_unless_equals_int(count_reference_metas(out), 0);
  gst_buffer_unref(out);
  events_until_eos(src);
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
    GstBuffer *buffer = pull_buffer(src);
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
  GstBuffer *buffer = pull_buffer(src);
  check_numbered_buffer(buffer, 20, 32);
  fail_unless(GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DISCONT), "after a skip");
  gst_buffer_unref(buffer);
  GstCaps *caps = gst_pad_get_current_caps(src->sinkpad);
  fail_unless(caps != nullptr);
  gst_caps_unref(caps);
  buffer = pull_buffer(src);
  check_numbered_buffer(buffer, 21, 32);
  fail_if(GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref(buffer);
  fail_unless_equals_uint64(stat_of(element_of(src, "shmringsrc"), "dropped"), 1);
  gst_harness_teardown(src);
  gst_harness_teardown(sink);
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
  GstBuffer *buffer = pull_buffer(src);
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
  buffer = pull_buffer(src);
  fail_unless_equals_uint64(GST_BUFFER_OFFSET(buffer), 102);
  fail_unless(GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DISCONT), "a new writer's first");
  gst_buffer_unref(buffer);
  gst_harness_push(second, numbered_buffer(103, 32));
  buffer = pull_buffer(src);
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

void add_stream_tests(TCase *tc) {
  tcase_add_test(tc, test_caps_timestamps_flags_and_payload_round_trip);
  tcase_add_test(tc, test_caps_change_reaches_the_reader_at_the_right_buffer);
  tcase_add_test(tc, test_eos_and_custom_events_travel_in_order);
  tcase_add_test(tc, test_tags_and_reference_timestamps_travel_in_order);
  tcase_add_test(tc, test_hostile_text_in_the_ring_is_dropped_without_a_warning);
  tcase_add_test(tc, test_an_unconstrained_upstream_sends_a_common_format);
  tcase_add_test(tc, test_a_stream_without_caps_passes_as_bytes);
  tcase_add_test(tc, test_late_reader_starts_at_the_newest_keyframe_with_caps);
  tcase_add_test(tc, test_a_new_writer_brings_caps_a_new_segment_and_discont);
}
