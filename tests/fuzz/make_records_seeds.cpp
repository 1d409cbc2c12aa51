// Writes fuzz-records' seeds into a folder: records as shmringsink writes
// them, described by the plugin's own code so that they never fall out of
// step with it. tools/test.sh checks what each decodes to.
//
//   make-records-seeds DIR
#include <gst/gst.h>
#include <gst/video/video.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "buffer_record.h"
#include "record_input.hpp"
#include "ring_record.h"

namespace {

bool write_file(const std::string &path, const std::vector<std::uint8_t> &bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char *>(bytes.data()), std::streamsize(bytes.size()));
  return bool(out);
}

// A 64x48 I420 frame whose rows are `stride` bytes apart (64: packed).
std::vector<std::uint8_t> video_seed(const std::string &caps_text, int stride) {
  GstCaps *caps = gst_caps_from_string(caps_text.c_str());
  GstVideoInfo info;
  gst_video_info_from_caps(&info, caps);
  gst_caps_unref(caps);
  gsize offsets[GST_VIDEO_MAX_PLANES] = {0, gsize(stride) * 48, gsize(stride) * 48 * 5 / 4};
  gint strides[GST_VIDEO_MAX_PLANES] = {stride, stride / 2, stride / 2};
  const gsize size = gsize(stride) * 48 * 3 / 2;
  GstBuffer *buffer = gst_buffer_new_allocate(nullptr, size, nullptr);
  gst_buffer_memset(buffer, 0, 0x80, size);
  GST_BUFFER_PTS(buffer) = 40 * GST_MSECOND;
  GST_BUFFER_DURATION(buffer) = 40 * GST_MSECOND;
  gst_buffer_add_video_meta_full(buffer, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_FORMAT_I420, 64, 48,
                                 3, offsets, strides);
  shmring::gst::RecordInfo record;
  shmring::gst::describe_buffer(buffer, record);
  record.size = size;
  record.caps_id = 1;
  GstMapInfo map;
  gst_buffer_map(buffer, &map, GST_MAP_READ);
  const std::string payload(reinterpret_cast<const char *>(map.data), map.size);
  gst_buffer_unmap(buffer, &map);
  gst_buffer_unref(buffer);
  return shmring::fuzz::encode_record_input(shmring::gst::header_of(record), record.meta, caps_text,
                                            payload);
}

std::vector<std::uint8_t> text_seed(shmring::gst::RecordKind kind, std::uint32_t flags,
                                    const std::string &text) {
  shmring::gst::RecordInfo record;
  record.kind = kind;
  record.flags = flags;
  record.size = text.size();
  return shmring::fuzz::encode_record_input(shmring::gst::header_of(record), record.meta, "", text);
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  setenv("GST_REGISTRY_DISABLE", "yes", 1);
  gst_init(nullptr, nullptr);
  const std::string dir = argv[1];
  const std::string caps = "video/x-raw,format=I420,width=64,height=48,framerate=25/1";
  using shmring::gst::RecordKind;
  const bool ok = write_file(dir + "/video-packed", video_seed(caps, 64)) &&
                  write_file(dir + "/video-padded", video_seed(caps, 128)) &&
                  write_file(dir + "/tags", text_seed(RecordKind::Tags, GST_TAG_SCOPE_STREAM,
                                                      "taglist, title=(string)\"a title\"")) &&
                  write_file(dir + "/event", text_seed(RecordKind::Event, 0, "my-event, n=(int)3"));
  return ok ? 0 : 1;
}
