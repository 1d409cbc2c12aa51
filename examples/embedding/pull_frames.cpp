// An application that takes frames out of a ring with shmringsrc ! appsink
// and uses them itself: here it checks what push-frames put in, and prints
// one line about what arrived.
//
//   pull-frames RING
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s RING\n", argv[0]);
    return 2;
  }
  const std::string ring = argv[1];
  // on-writer-lost=wait lets this start before the writer; the caps come
  // from the ring, so they need not be repeated here.
  const std::string description =
      "shmringsrc ring=" + ring + " on-writer-lost=wait ! appsink name=sink sync=false";
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(description.c_str(), &error);
  if (!pipeline) {
    std::fprintf(stderr, "cannot build the pipeline: %s\n", error->message);
    g_error_free(error);
    return 1;
  }
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  gst_element_get_state(pipeline, nullptr, nullptr, 5 * GST_SECOND);
  // From here on, frames get timestamps on this pipeline's running time.
  std::printf("pulling from ring %s\n", ring.c_str());
  std::fflush(stdout);

  guint32 received = 0, wrong = 0;
  GstClockTime first_pts = GST_CLOCK_TIME_NONE, last_pts = GST_CLOCK_TIME_NONE;
  std::string caps_text;
  for (;;) {
    GstSample *sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_SECOND);
    if (!sample)
      break;  // EOS (or nothing for 10 s)
    GstBuffer *buffer = gst_sample_get_buffer(sample);
    GstVideoInfo info;
    if (caps_text.empty()) {
      gchar *text = gst_caps_to_string(gst_sample_get_caps(sample));
      caps_text = text;
      g_free(text);
    }
    GstMapInfo map;
    if (gst_video_info_from_caps(&info, gst_sample_get_caps(sample)) &&
        gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      guint32 number = 0;
      std::memcpy(&number, map.data, sizeof number);
      const bool intact =
          number == received && map.size == info.size && map.data[map.size - 1] == (number & 0xff);
      wrong += intact ? 0 : 1;
      gst_buffer_unmap(buffer, &map);
    } else {
      ++wrong;
    }
    if (received == 0)
      first_pts = GST_BUFFER_PTS(buffer);
    last_pts = GST_BUFFER_PTS(buffer);
    ++received;
    gst_sample_unref(sample);
  }
  const bool eos = gst_app_sink_is_eos(GST_APP_SINK(sink));
  std::printf("received %u frames (%u wrong), eos=%s, pts %" G_GUINT64_FORMAT
              " .. %" G_GUINT64_FORMAT " ns, caps %s\n",
              received, wrong, eos ? "yes" : "no", first_pts, last_pts, caps_text.c_str());
  gst_object_unref(sink);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return eos && wrong == 0 && received > 0 ? 0 : 1;
}
