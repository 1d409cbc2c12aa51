// One-way latency through any transport, measured by stamping
// CLOCK_MONOTONIC on the writer side and reading it on the reader side (the
// same clock in every process of the machine).
//
//   latency produce COUNT INTERVAL_US SIZE PIPELINE...   (has appsrc name=src)
//     pushes COUNT buffers of SIZE bytes, one every INTERVAL_US, each
//     starting with the time it was pushed, then EOS;
//   latency consume COUNT PIPELINE...                    (has appsink name=sink)
//     reads COUNT buffers (or until EOS) and prints
//     samples=N median_us=M p99_us=P max_us=X
//     leaving out the first twentieth (at least 10), while the pipelines
//     settle and any backlog from connecting drains;
//   latency both COUNT INTERVAL_US SIZE PIPELINE...      (has both)
//     the two in one process and one pipeline (the in-process anchor, e.g.
//     appsrc name=src ! queue ! appsink name=sink): pushes from this thread,
//     reads in another, prints as consume does.
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

std::uint64_t monotonic_ns() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return std::uint64_t(now.tv_sec) * 1000000000u + std::uint64_t(now.tv_nsec);
}

GstElement *launch(int argc, char **argv, int from) {
  std::string description;
  for (int i = from; i < argc; ++i)
    description += std::string(argv[i]) + " ";
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(description.c_str(), &error);
  if (!pipeline) {
    g_printerr("bad pipeline: %s\n", error->message);
    std::exit(2);
  }
  return pipeline;
}

// Pushes COUNT stamped buffers, one every INTERVAL_US, then EOS; false if
// the pipeline refused one.
bool push_stamped(GstElement *src, guint64 count, guint64 interval_us, gsize size) {
  gint64 next = g_get_monotonic_time();
  for (guint64 n = 0; n < count; ++n) {
    next += static_cast<gint64>(interval_us);
    const gint64 wait = next - g_get_monotonic_time();
    if (wait > 0)
      g_usleep(static_cast<gulong>(wait));
    GstBuffer *buffer = gst_buffer_new_allocate(nullptr, size, nullptr);
    gst_buffer_memset(buffer, 0, 0, size);
    const std::uint64_t stamp = monotonic_ns();
    gst_buffer_fill(buffer, 0, &stamp, sizeof(stamp));
    if (gst_app_src_push_buffer(GST_APP_SRC(src), buffer) != GST_FLOW_OK)
      return false;
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  return true;
}

void wait_for_eos(GstElement *pipeline) {
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *message = gst_bus_timed_pop_filtered(
      bus, 30 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  if (message)
    gst_message_unref(message);
  gst_object_unref(bus);
}

// Reads up to COUNT stamped buffers; the latencies after the settling ones.
std::vector<double> pull_stamped(GstElement *sink, guint64 count) {
  const guint64 settle = std::max<guint64>(10, count / 20);
  std::vector<double> latencies_us;
  for (guint64 n = 0; n < count; ++n) {
    GstSample *sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_SECOND);
    if (!sample)
      break;  // EOS, or nothing for 10 s
    const std::uint64_t now = monotonic_ns();
    std::uint64_t stamp = 0;
    gst_buffer_extract(gst_sample_get_buffer(sample), 0, &stamp, sizeof(stamp));
    gst_sample_unref(sample);
    if (n >= settle)
      latencies_us.push_back(double(now - stamp) / 1000.0);
  }
  return latencies_us;
}

int report(std::vector<double> latencies_us) {
  if (latencies_us.empty()) {
    g_print("samples=0\n");
    return 3;
  }
  std::sort(latencies_us.begin(), latencies_us.end());
  const auto at = [&](double q) {
    return latencies_us[std::min(latencies_us.size() - 1,
                                 static_cast<std::size_t>(q * latencies_us.size()))];
  };
  g_print("samples=%zu median_us=%.1f p99_us=%.1f max_us=%.1f\n", latencies_us.size(), at(0.5),
          at(0.99), latencies_us.back());
  return 0;
}

// COUNT INTERVAL_US SIZE, as produce and both take them.
struct Pushes {
  guint64 count;
  guint64 interval_us;
  gsize size;
};
Pushes pushes_of(char **argv) {
  return {std::strtoull(argv[2], nullptr, 10), std::strtoull(argv[3], nullptr, 10),
          std::max<gsize>(8, std::strtoull(argv[4], nullptr, 10))};
}

int produce(int argc, char **argv) {
  const Pushes pushes = pushes_of(argv);
  GstElement *pipeline = launch(argc, argv, 5);
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  if (!push_stamped(src, pushes.count, pushes.interval_us, pushes.size))
    return 1;
  wait_for_eos(pipeline);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(src);
  gst_object_unref(pipeline);
  return 0;
}

int consume(int argc, char **argv) {
  const guint64 count = std::strtoull(argv[2], nullptr, 10);
  GstElement *pipeline = launch(argc, argv, 3);
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  std::vector<double> latencies_us = pull_stamped(sink, count);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return report(std::move(latencies_us));
}

int both(int argc, char **argv) {
  const Pushes pushes = pushes_of(argv);
  GstElement *pipeline = launch(argc, argv, 5);
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  std::vector<double> latencies_us;
  std::thread reader([&] { latencies_us = pull_stamped(sink, pushes.count); });
  const bool pushed = push_stamped(src, pushes.count, pushes.interval_us, pushes.size);
  reader.join();
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(src);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return pushed ? report(std::move(latencies_us)) : 1;
}

}  // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  if (argc > 4 && !std::strcmp(argv[1], "produce"))
    return produce(argc, argv);
  if (argc > 3 && !std::strcmp(argv[1], "consume"))
    return consume(argc, argv);
  if (argc > 5 && !std::strcmp(argv[1], "both"))
    return both(argc, argv);
  g_printerr(
      "usage: latency produce COUNT INTERVAL_US SIZE PIPELINE...\n"
      "       latency consume COUNT PIPELINE...\n"
      "       latency both COUNT INTERVAL_US SIZE PIPELINE...\n");
  return 2;
}
