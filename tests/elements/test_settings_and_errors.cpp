// Settings and bad input: ring names, perms, a second writer, a buffer
// larger than a slot, a corrupt or foreign ring, timeouts, stopping while
// waiting (never a hang), shmring:// URIs and the debug log.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include "element_test_support.hpp"
#include "named_object.hpp"
#include "ring_layout.hpp"
#include "shmring/writer.hpp"

using namespace shmring_check;

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
  WatchedSink sink(ring_name("large"), "slot-size=64");
  fail_unless_equals_int(gst_harness_push(sink.harness, numbered_buffer(0, 64)), GST_FLOW_OK);
  fail_unless_equals_int(gst_harness_push(sink.harness, numbered_buffer(1, 65)), GST_FLOW_ERROR);
  expect_error_on(sink.bus, "65 bytes does not fit", "slot-size");
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

// README, shmringsrc `timeout`: "Nanoseconds to wait for a writer to appear
// before posting an error". Not before: a writer that comes within it is read.
GST_START_TEST(test_source_timeout_waits_that_long_for_a_writer_then_errors) {
  const std::string ring = ring_name("src-timeout");
  const std::string description = "shmringsrc timeout=300000000 ring=" + ring + " ! fakesink";
  GstElement *pipeline = gst_parse_launch(description.c_str(), nullptr);
  const gint64 started = g_get_monotonic_time();
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  expect_error_containing(pipeline, "No writer on ring");
  const gint64 errored = g_get_monotonic_time();
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
  fail_unless_equals_int(set_state_within_5_s(p1, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  fail_unless_equals_int(set_state_within_5_s(p2, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  gst_element_set_state(reader, GST_STATE_NULL);
  gst_object_unref(p1);
  gst_object_unref(p2);
  gst_object_unref(reader);
  fail_if(ring_exists(waiting));
  fail_if(ring_exists(blocked));
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
    gst_buffer_unref(pull_buffer(src));
  fail_unless(gst_harness_push_event(sink, gst_event_new_eos()));
  events_until_eos(src);
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

void add_settings_and_errors_tests(TCase *tc) {
  tcase_add_test(tc, test_invalid_ring_names_are_element_errors);
  tcase_add_test(tc, test_perms_that_shut_out_the_owner_are_a_settings_error);
  tcase_add_test(tc, test_perms_is_the_mode_of_the_ring);
  tcase_add_test(tc, test_second_writer_on_a_live_ring_is_an_error);
  tcase_add_test(tc, test_second_writer_without_slot_size_fails_its_state_change);
  tcase_add_test(tc, test_buffer_larger_than_a_slot_is_an_error_not_a_truncation);
  tcase_add_test(tc, test_corrupt_or_foreign_ring_is_a_reader_error);
  tcase_add_test(tc, test_source_timeout_waits_that_long_for_a_writer_then_errors);
  tcase_add_test(tc, test_stopping_a_reader_that_waits_for_a_writer_does_not_hang);
  tcase_add_test(tc, test_stopping_a_writer_that_waits_does_not_hang);
  tcase_add_test(tc, test_elements_are_made_from_shmring_uris);
  tcase_add_test(tc, test_debug_output_tells_the_story);
}
