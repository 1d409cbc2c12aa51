// An application that produces video frames itself and publishes them with
// appsrc ! shmringsink, for any number of shmringsrc readers in other
// processes. Every frame carries its number in its first 4 bytes and is
// filled with (number & 0xff) after that, so a reader can check it.
//
//   push-frames RING [FRAMES]      (default 90 frames, 320x240 RGBA at 30 fps)
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

constexpr int kWidth = 320, kHeight = 240, kFps = 30;
constexpr gsize kFrameBytes = kWidth * kHeight * 4;

GstBuffer *make_frame(guint32 number) {
  GstBuffer *buffer = gst_buffer_new_allocate(nullptr, kFrameBytes, nullptr);
  GstMapInfo map;
  gst_buffer_map(buffer, &map, GST_MAP_WRITE);
  std::memset(map.data, static_cast<int>(number & 0xff), map.size);
  std::memcpy(map.data, &number, sizeof number);
  gst_buffer_unmap(buffer, &map);
  GST_BUFFER_PTS(buffer) = gst_util_uint64_scale(number, GST_SECOND, kFps);
  GST_BUFFER_DURATION(buffer) = gst_util_uint64_scale(1, GST_SECOND, kFps);
  return buffer;
}

}  // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s RING [FRAMES]\n", argv[0]);
    return 2;
  }
  const std::string ring = argv[1];
  const guint32 frames = argc > 2 ? static_cast<guint32>(std::atoi(argv[2])) : 90;

  // wait-for-readers: the first frame waits until a reader has joined, so a
  // reader started a moment later still sees every frame.
  const std::string description =
      "appsrc name=source is-live=true format=time "
      "caps=video/x-raw,format=RGBA,width=" +
      std::to_string(kWidth) + ",height=" + std::to_string(kHeight) +
      ",framerate=" + std::to_string(kFps) + "/1 ! shmringsink ring=" + ring +
      " wait-for-readers=true";
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(description.c_str(), &error);
  if (!pipeline) {
    std::fprintf(stderr, "cannot build the pipeline: %s\n", error->message);
    g_error_free(error);
    return 1;
  }
  GstElement *source = gst_bin_get_by_name(GST_BIN(pipeline), "source");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);

  for (guint32 n = 0; n < frames; ++n) {
    // push_buffer takes the buffer; it blocks while appsrc's queue is full.
    if (gst_app_src_push_buffer(GST_APP_SRC(source), make_frame(n)) != GST_FLOW_OK)
      break;
  }
  gst_app_src_end_of_stream(GST_APP_SRC(source));

  // Wait for EOS to reach shmringsink (it is then in the ring, after the
  // last frame), or for an error.
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *message = gst_bus_timed_pop_filtered(
      bus, GST_CLOCK_TIME_NONE, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  int status = 0;
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
    GError *failure = nullptr;
    gst_message_parse_error(message, &failure, nullptr);
    std::fprintf(stderr, "error: %s\n", failure->message);
    g_error_free(failure);
    status = 1;
  } else {
    std::printf("pushed %u frames into ring %s\n", frames, ring.c_str());
  }
  gst_message_unref(message);
  gst_object_unref(bus);
  gst_object_unref(source);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return status;
}
