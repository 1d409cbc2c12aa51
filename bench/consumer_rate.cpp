// Runs a consumer pipeline whose last element is named "sink", counts the
// buffers reaching it and times the first and the last one. Prints
//   frames=N seconds=T
// where T is the time from the first to the last buffer: start-up and
// negotiation are left out of the rate. Ends at EOS or after --count buffers;
// exits 3 if no buffer arrives within --timeout seconds of the last one.
//
//   consumer-rate [--count N] [--timeout S] PIPELINE...
#include <gst/gst.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace {

struct Counter {
  guint64 count = 0;
  guint64 limit = 0;  // 0: until EOS
  gint64 first_us = 0;
  gint64 last_us = 0;
  GMainLoop *loop = nullptr;
};

GstPadProbeReturn count_buffer(GstPad *, GstPadProbeInfo *, gpointer data) {
  auto *counter = static_cast<Counter *>(data);
  const gint64 now = g_get_monotonic_time();
  if (counter->count++ == 0)
    counter->first_us = now;
  counter->last_us = now;
  if (counter->limit && counter->count == counter->limit)
    g_main_loop_quit(counter->loop);  // thread-safe
  return GST_PAD_PROBE_OK;
}

gboolean on_message(GstBus *, GstMessage *message, gpointer data) {
  auto *counter = static_cast<Counter *>(data);
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_EOS) {
    g_main_loop_quit(counter->loop);
  } else if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
    GError *error = nullptr;
    gst_message_parse_error(message, &error, nullptr);
    g_printerr("error: %s\n", error->message);
    g_error_free(error);
    std::exit(2);
  }
  return TRUE;
}

struct Watchdog {
  Counter *counter;
  guint64 seen = ~guint64{0};
  int timeout_s;
};

gboolean check_progress(gpointer data) {
  auto *watchdog = static_cast<Watchdog *>(data);
  if (watchdog->counter->count == watchdog->seen) {
    g_print("frames=%" G_GUINT64_FORMAT " stalled=1\n", watchdog->counter->count);
    std::exit(3);
  }
  watchdog->seen = watchdog->counter->count;
  return G_SOURCE_CONTINUE;
}

}  // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  Counter counter;
  int timeout_s = 10;
  int at = 1;
  for (; at < argc && std::strncmp(argv[at], "--", 2) == 0; ++at) {
    if (!std::strcmp(argv[at], "--count") && at + 1 < argc)
      counter.limit = std::strtoull(argv[++at], nullptr, 10);
    else if (!std::strcmp(argv[at], "--timeout") && at + 1 < argc)
      timeout_s = std::atoi(argv[++at]);
  }
  std::string description;
  for (; at < argc; ++at)
    description += std::string(argv[at]) + " ";
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(description.c_str(), &error);
  if (!pipeline) {
    g_printerr("bad pipeline: %s\n", error->message);
    return 2;
  }
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  if (!sink) {
    g_printerr("the pipeline needs an element named 'sink'\n");
    return 2;
  }
  GstPad *pad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, &counter, nullptr);
  gst_object_unref(pad);
  gst_object_unref(sink);

  counter.loop = g_main_loop_new(nullptr, FALSE);
  GstBus *bus = gst_element_get_bus(pipeline);
  gst_bus_add_watch(bus, on_message, &counter);
  gst_object_unref(bus);
  Watchdog watchdog{&counter, ~guint64{0}, timeout_s};
  g_timeout_add_seconds(timeout_s, check_progress, &watchdog);

  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  g_main_loop_run(counter.loop);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  g_print("frames=%" G_GUINT64_FORMAT " seconds=%.6f\n", counter.count,
          (counter.last_us - counter.first_us) / 1e6);
  return 0;
}
