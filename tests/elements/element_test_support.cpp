// The element tests' shared helpers (element_test_support.hpp says what
// each is for).
#include "element_test_support.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <thread>

namespace shmring_check {

namespace {
pid_t runner_pid = 0;

// Before src_harness, which adds it to the source it makes.
void trace_source(GstHarness *src, Trace *trace);
}  // namespace

void remember_runner() { runner_pid = getpid(); }

std::string ring_name(const char *what) {
  return std::string("check-") + what + "-" + std::to_string(runner_pid);
}

bool remove_rings_left_behind() {
  bool any = false;
  const std::string suffix = "-" + std::to_string(runner_pid);
  if (GDir *dir = g_dir_open("/dev/shm", 0, nullptr)) {
    while (const gchar *entry = g_dir_read_name(dir)) {
      std::string name = entry;
      if (name.rfind("shmring.check-", 0) == 0 && g_str_has_suffix(entry, suffix.c_str())) {
        g_printerr("left behind: /dev/shm/%s\n", entry);
        shm_unlink(("/" + name).c_str());
        any = true;
      }
    }
    g_dir_close(dir);
  }
  return any;
}

bool ring_exists(const std::string &name) {
  return access(("/dev/shm/shmring." + name).c_str(), F_OK) == 0;
}

GstHarness *sink_harness(const std::string &ring, const char *extra) {
  std::string description = "shmringsink sync=false ring=" + ring + " " + extra;
  return gst_harness_new_parse(description.c_str());
}

WatchedSink::WatchedSink(const std::string &ring, const char *extra)
    : ring(ring),
      harness(sink_harness(ring, extra)),
      element(element_of(harness, "shmringsink")),
      bus(gst_bus_new()) {
  gst_element_set_bus(element, bus);
  gst_harness_set_src_caps_str(harness, "application/x-test");
}

WatchedSink::~WatchedSink() {
  gst_element_set_bus(element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(harness);
  fail_if(ring_exists(ring));
}

HarnessPair::HarnessPair(const std::string &ring, const char *caps, const char *sink_extra,
                         const char *src_extra, Trace *trace)
    : ring(ring), sink(sink_harness(ring, sink_extra)) {
  gst_harness_set_src_caps_str(sink, caps);
  src = src_harness(ring, src_extra, trace);
}

HarnessPair::~HarnessPair() {
  gst_harness_teardown(src);
  gst_harness_teardown(sink);
  fail_if(ring_exists(ring));
}

GstHarness *src_harness(const std::string &ring, const char *extra, Trace *trace) {
  std::string description = "shmringsrc ring=" + ring + " " + extra;
  GstHarness *h = gst_harness_new_parse(description.c_str());
  if (trace)
    trace_source(h, trace);
  gst_harness_play(h);
  return h;
}

namespace {
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

void trace_source(GstHarness *src, Trace *trace) {
  GstPad *pad = gst_element_get_static_pad(element_of(src, "shmringsrc"), "src");
  gst_pad_add_probe(
      pad,
      static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
      trace_probe, trace, nullptr);
  gst_object_unref(pad);
}
}  // namespace

GstElement *element_of(GstHarness *h, const char *factory) {
  GstElement *element = gst_harness_find_element(h, factory);
  fail_unless(element != nullptr);
  gst_object_unref(element);  // the harness keeps it alive
  return element;
}

void expect_sequence(const std::vector<std::string> &items,
                     const std::vector<std::string> &expected) {
  fail_unless_equals_int(items.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    fail_unless_equals_string(items[i].c_str(), expected[i].c_str());
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

namespace {
// Polls `try_pull` (one of the harness's non-blocking pulls) through
// eventually(), which bounds it at 5 s.
template <typename Item>
Item *pull_within_5_s(GstHarness *h, Item *(*try_pull)(GstHarness *)) {
  Item *item = nullptr;
  eventually([&] { return (item = try_pull(h)) != nullptr; });
  return item;
}
}  // namespace

GstBuffer *pull_buffer(GstHarness *h) {
  GstBuffer *buffer = pull_within_5_s(h, gst_harness_try_pull);
  fail_unless(buffer != nullptr, "no buffer left the source within 5 s");
  return buffer;
}

GstEvent *pull_event(GstHarness *h) { return pull_within_5_s(h, gst_harness_try_pull_event); }

void events_until_eos(GstHarness *h, const std::function<void(GstEvent *)> &look) {
  GstEvent *event;
  while ((event = pull_event(h)) && GST_EVENT_TYPE(event) != GST_EVENT_EOS) {
    if (look)
      look(event);
    gst_event_unref(event);
  }
  fail_unless(event != nullptr, "EOS reached the reader");
  gst_event_unref(event);
}

GstStateChangeReturn set_state_within_5_s(GstElement *element, GstState state) {
  // The thread is detached: if the change hangs, the test fails and its
  // process (check forks one per test) ends with the thread still in it.
  auto change = std::make_shared<std::packaged_task<GstStateChangeReturn()>>(
      [element = GST_ELEMENT(gst_object_ref(element)), state] {
        GstStateChangeReturn result = gst_element_set_state(element, state);
        gst_object_unref(element);
        return result;
      });
  std::future<GstStateChangeReturn> result = change->get_future();
  std::thread([change] { (*change)(); }).detach();
  fail_unless(result.wait_for(std::chrono::seconds(5)) == std::future_status::ready,
              "%s: the change to %s did not return within 5 s", GST_ELEMENT_NAME(element),
              gst_element_state_get_name(state));
  return result.get();
}

GError *first_error(GstBus *bus, gchar **debug) {
  GstMessage *message = gst_bus_timed_pop_filtered(bus, 5 * GST_SECOND, GST_MESSAGE_ERROR);
  if (!message)
    return nullptr;
  GError *error = nullptr;
  gst_message_parse_error(message, &error, debug);
  gst_message_unref(message);
  return error;
}

GError *first_error(GstElement *pipeline) {
  GstBus *bus = gst_element_get_bus(pipeline);
  GError *error = first_error(bus);
  gst_object_unref(bus);
  return error;
}

void expect_error_on(GstBus *bus, const char *text, const char *debug_text) {
  gchar *debug = nullptr;
  GError *error = first_error(bus, &debug);
  fail_unless(error != nullptr, "no error on the bus");
  fail_unless(strstr(error->message, text) != nullptr, "error '%s' lacks '%s'", error->message,
              text);
  if (debug_text)
    fail_unless(debug && strstr(debug, debug_text) != nullptr, "debug '%s' lacks '%s'",
                debug ? debug : "(none)", debug_text);
  g_error_free(error);
  g_free(debug);
}

void expect_error_containing(GstElement *pipeline, const char *text) {
  GstBus *bus = gst_element_get_bus(pipeline);
  expect_error_on(bus, text);
  gst_object_unref(bus);
}

void expect_start_to_fail_with(const char *description, const char *text) {
  GstElement *pipeline = gst_parse_launch(description, nullptr);
  fail_unless(pipeline != nullptr);
  fail_unless_equals_int(gst_element_set_state(pipeline, GST_STATE_PAUSED),
                         GST_STATE_CHANGE_FAILURE);
  expect_error_containing(pipeline, text);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
}

guint64 stat_of(GstElement *element, const char *field) {
  GstStructure *stats = nullptr;
  g_object_get(element, "stats", &stats, nullptr);
  guint64 value = 0;
  fail_unless(gst_structure_get_uint64(stats, field, &value), "no %s", field);
  gst_structure_free(stats);
  return value;
}

guint uint_stat_of(GstElement *element, const char *field) {
  GstStructure *stats = nullptr;
  g_object_get(element, "stats", &stats, nullptr);
  guint value = 0;
  fail_unless(gst_structure_get_uint(stats, field, &value), "no %s", field);
  gst_structure_free(stats);
  return value;
}

guint readers_of(GstElement *writer) { return uint_stat_of(writer, "readers"); }

void push_numbered(GstHarness *sink, guint64 from, guint64 to) {
  for (guint64 n = from; n <= to; ++n)
    fail_unless_equals_int(gst_harness_push(sink, numbered_buffer(n, 32)), GST_FLOW_OK);
}

ReaderPipeline::ReaderPipeline(const std::string &ring, const char *extra) {
  const std::string description = "shmringsrc name=src timestamp-mode=original ring=" + ring + " " +
                                  extra +
                                  " ! appsink name=out sync=false max-buffers=1 "
                                  "enable-last-sample=false";
  pipeline = gst_parse_launch(description.c_str(), nullptr);
  fail_unless(pipeline != nullptr);
  src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  out = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  bus = gst_element_get_bus(pipeline);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
}

ReaderPipeline::~ReaderPipeline() {
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(src);
  gst_object_unref(out);
  gst_object_unref(pipeline);
}

GstBuffer *ReaderPipeline::pull() {
  GstSample *sample = gst_app_sink_try_pull_sample(GST_APP_SINK(out), 5 * GST_SECOND);
  fail_unless(sample != nullptr, "no buffer within 5 s");
  GstBuffer *buffer = gst_buffer_ref(gst_sample_get_buffer(sample));
  gst_sample_unref(sample);
  return buffer;
}

}  // namespace shmring_check
