#include "buffer_record.h"

#include <gst/video/video.h>

namespace shmring::gst {

namespace {

// Buffer flags that describe the data (keyframe, discontinuity, ...). The
// mini-object flags below GST_BUFFER_FLAG_LIVE and TAG_MEMORY describe one
// process's object, not the data, and stay behind.
constexpr std::uint32_t kCarriedFlags =
    GST_BUFFER_FLAG_LIVE | GST_BUFFER_FLAG_DECODE_ONLY | GST_BUFFER_FLAG_DISCONT |
    GST_BUFFER_FLAG_RESYNC | GST_BUFFER_FLAG_CORRUPTED | GST_BUFFER_FLAG_MARKER |
    GST_BUFFER_FLAG_HEADER | GST_BUFFER_FLAG_GAP | GST_BUFFER_FLAG_DROPPABLE |
    GST_BUFFER_FLAG_DELTA_UNIT | GST_BUFFER_FLAG_SYNC_AFTER | GST_BUFFER_FLAG_NON_DROPPABLE;

}  // namespace

bool raw_video_info(GstCaps *caps, GstVideoInfo &info) {
  if (!caps || gst_caps_is_empty(caps) ||
      !gst_structure_has_name(gst_caps_get_structure(caps, 0), "video/x-raw"))
    return false;
  return gst_video_info_from_caps(&info, caps);
}

void describe_buffer(GstBuffer *buffer, RecordInfo &info) {
  info.meta.pts = GST_BUFFER_PTS(buffer);
  info.meta.dts = GST_BUFFER_DTS(buffer);
  info.meta.duration = GST_BUFFER_DURATION(buffer);
  info.meta.offset = GST_BUFFER_OFFSET(buffer);
  info.meta.offset_end = GST_BUFFER_OFFSET_END(buffer);
  info.flags = GST_BUFFER_FLAGS(buffer) & kCarriedFlags;
  info.meta.video = VideoLayout{};
  if (GstVideoMeta *meta = gst_buffer_get_video_meta(buffer)) {
    info.meta.video.format = meta->format;
    info.meta.video.width = meta->width;
    info.meta.video.height = meta->height;
    info.meta.video.n_planes = MIN(meta->n_planes, kMaxPlanes);
    for (unsigned p = 0; p < info.meta.video.n_planes; ++p) {
      info.meta.video.plane_offset[p] = meta->offset[p];
      info.meta.video.stride[p] = meta->stride[p];
    }
  }
}

bool apply_record(const RecordInfo &info, const GstVideoInfo *video_info, GstBuffer *buffer) {
  GST_BUFFER_OFFSET(buffer) = info.meta.offset;
  GST_BUFFER_OFFSET_END(buffer) = info.meta.offset_end;
  GST_BUFFER_FLAG_SET(buffer, info.flags & kCarriedFlags);
  if (info.meta.video.n_planes == 0)
    return true;
  if (!video_info ||
      info.meta.video.format != static_cast<std::uint32_t>(GST_VIDEO_INFO_FORMAT(video_info)) ||
      info.meta.video.width != guint(GST_VIDEO_INFO_WIDTH(video_info)) ||
      info.meta.video.height != guint(GST_VIDEO_INFO_HEIGHT(video_info)) ||
      info.meta.video.n_planes != GST_VIDEO_INFO_N_PLANES(video_info))
    return false;
  gsize offsets[GST_VIDEO_MAX_PLANES] = {};
  gint strides[GST_VIDEO_MAX_PLANES] = {};
  for (unsigned p = 0; p < info.meta.video.n_planes; ++p) {
    if (info.meta.video.stride[p] <= 0)
      return false;
    offsets[p] = info.meta.video.plane_offset[p];
    strides[p] = info.meta.video.stride[p];
  }
  // Every plane, at its offset and stride, must lie inside the buffer: the
  // layout comes from another process and downstream will read through it.
  const GstVideoFormatInfo *finfo = video_info->finfo;
  const std::uint64_t size = gst_buffer_get_size(buffer);
  for (unsigned p = 0; p < info.meta.video.n_planes; ++p) {
    gint components[GST_VIDEO_MAX_COMPONENTS];
    gst_video_format_info_component(finfo, p, components);
    if (components[0] < 0)
      return false;
    const std::uint64_t rows = static_cast<std::uint64_t>(
        GST_VIDEO_FORMAT_INFO_SCALE_HEIGHT(finfo, components[0], info.meta.video.height));
    const std::uint64_t row_bytes = static_cast<std::uint64_t>(
        GST_VIDEO_FORMAT_INFO_SCALE_WIDTH(finfo, components[0], info.meta.video.width) *
        GST_VIDEO_FORMAT_INFO_PSTRIDE(finfo, components[0]));
    if (row_bytes > std::uint64_t(info.meta.video.stride[p]) ||
        info.meta.video.plane_offset[p] + std::uint64_t(info.meta.video.stride[p]) * rows > size)
      return false;
  }
  gst_buffer_add_video_meta_full(
      buffer, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT(video_info), info.meta.video.width,
      info.meta.video.height, info.meta.video.n_planes, offsets, strides);
  return true;
}

bool has_default_layout(const RecordInfo &info, const GstVideoInfo &video_info) {
  if (info.meta.video.n_planes == 0)
    return true;
  for (unsigned p = 0; p < info.meta.video.n_planes; ++p) {
    if (info.meta.video.plane_offset[p] != video_info.offset[p] ||
        info.meta.video.stride[p] != video_info.stride[p])
      return false;
  }
  return true;
}

GstBuffer *packed_copy(GstBuffer *strided, const GstVideoInfo &video_info) {
  GstVideoInfo info = video_info;
  GstVideoFrame from, to;
  if (!gst_video_frame_map(&from, &info, strided, GST_MAP_READ))
    return nullptr;
  GstBuffer *packed = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
  if (!gst_video_frame_map(&to, &info, packed, GST_MAP_WRITE)) {
    gst_video_frame_unmap(&from);
    gst_buffer_unref(packed);
    return nullptr;
  }
  const bool copied = gst_video_frame_copy(&to, &from);
  gst_video_frame_unmap(&to);
  gst_video_frame_unmap(&from);
  if (!copied) {
    gst_buffer_unref(packed);
    return nullptr;
  }
  gst_buffer_copy_into(
      packed, strided,
      static_cast<GstBufferCopyFlags>(GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS), 0, 0);
  return packed;
}

}  // namespace shmring::gst
