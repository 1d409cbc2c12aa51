// Memory: the sink's pool of ring slots (published without a copy, padded
// layouts, a slot left for the ring), the source's buffers that wrap the
// slot, and the copies made when downstream holds too many slots.
#include <cstdio>
#include <string>
#include <vector>

#include <gst/video/video.h>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include "element_test_support.hpp"
#include "shmring/inspect.hpp"

using namespace shmring_check;

namespace {

const char *kSmallI420 = "video/x-raw,format=I420,width=64,height=48,framerate=25/1";

// The pool shmringsink offers in answer to an allocation query for
// `caps_text` (and whether it accepts video meta too), with the video info
// of those caps; deactivated and let go at the end.
struct OfferedPool {
  GstBufferPool *pool = nullptr;
  bool video_meta = false;
  GstVideoInfo info;

  OfferedPool(GstHarness *sink, const char *caps_text) {
    GstCaps *caps = gst_caps_from_string(caps_text);
    fail_unless(gst_video_info_from_caps(&info, caps));
    GstQuery *query = gst_query_new_allocation(caps, TRUE);
    fail_unless(gst_pad_peer_query(sink->srcpad, query));
    video_meta = gst_query_find_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr);
    if (gst_query_get_n_allocation_pools(query) > 0)
      gst_query_parse_nth_allocation_pool(query, 0, &pool, nullptr, nullptr, nullptr);
    gst_query_unref(query);
    gst_caps_unref(caps);
    fail_unless(pool != nullptr, "the sink offers a pool of ring slots");
  }
  ~OfferedPool() {
    gst_buffer_pool_set_active(pool, FALSE);
    gst_object_unref(pool);
  }
  OfferedPool(const OfferedPool &) = delete;
  OfferedPool &operator=(const OfferedPool &) = delete;
  void activate() { fail_unless(gst_buffer_pool_set_active(pool, TRUE)); }
};

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

}  // namespace

GST_START_TEST(test_pool_buffers_are_slots_published_without_a_copy) {
  HarnessPair pair(ring_name("pool"), kSmallI420, "slots=6", "timestamp-mode=original");
  OfferedPool offered(pair.sink, kSmallI420);
  fail_unless(offered.video_meta, "and accepts video meta");
  offered.activate();

  // Upstream keeps two pool buffers and never pushes them: the ring turns on.
  GstBuffer *kept[2];
  for (GstBuffer *&buffer : kept) {
    fail_unless_equals_int(gst_buffer_pool_acquire_buffer(offered.pool, &buffer, nullptr),
                           GST_FLOW_OK);
    paint(buffer, &offered.info, 999);
  }
  GstBuffer *held = nullptr;  // the reader keeps its first frame all along
  for (guint n = 0; n < 40; ++n) {
    GstBuffer *buffer = nullptr;
    fail_unless_equals_int(gst_buffer_pool_acquire_buffer(offered.pool, &buffer, nullptr),
                           GST_FLOW_OK);
    paint(buffer, &offered.info, n);
    GST_BUFFER_OFFSET(buffer) = n;
    fail_unless_equals_int(gst_harness_push(pair.sink, buffer), GST_FLOW_OK);
    GstBuffer *out = pull_buffer(pair.src);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(out), n);
    check_painted(out, &offered.info, n);
    if (n == 0)
      held = out;
    else
      gst_buffer_unref(out);
  }
  check_painted(held, &offered.info, 0);  // its slot was never handed out again
  for (GstBuffer *buffer : kept)
    check_painted(buffer, &offered.info, 999);
  gst_buffer_unref(held);
  for (GstBuffer *buffer : kept)
    gst_buffer_unref(buffer);

  GstElement *writer = element_of(pair.sink, "shmringsink");
  fail_unless_equals_uint64(stat_of(writer, "published"), 40);
  fail_unless_equals_uint64(stat_of(writer, "copied"), 0);
  // A buffer from elsewhere is copied once, and counted.
  GstBuffer *foreign =
      gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&offered.info), nullptr);
  paint(foreign, &offered.info, 41);
  fail_unless_equals_int(gst_harness_push(pair.sink, foreign), GST_FLOW_OK);
  GstBuffer *out = pull_buffer(pair.src);
  check_painted(out, &offered.info, 41);
  gst_buffer_unref(out);
  fail_unless_equals_uint64(stat_of(writer, "copied"), 1);
  fail_unless_equals_uint64(stat_of(writer, "bytes-copied"), GST_VIDEO_INFO_SIZE(&offered.info));
}
GST_END_TEST;

GST_START_TEST(test_padded_frames_keep_their_layout_or_are_repacked) {
  const char *caps_text = "video/x-raw,format=I420,width=60,height=40,framerate=25/1";
  // Room for the padding upstream will ask for; the pair's source is a
  // downstream that does not read video meta.
  HarnessPair pair(ring_name("padded"), caps_text, "slot-size=65536", "timestamp-mode=original");
  GstHarness *without_meta = pair.src;
  GstHarness *with_meta =
      gst_harness_new_parse(("shmringsrc timestamp-mode=original ring=" + pair.ring).c_str());
  gst_harness_add_propose_allocation_meta(with_meta, GST_VIDEO_META_API_TYPE, nullptr);
  gst_harness_play(with_meta);

  OfferedPool offered(pair.sink, caps_text);
  GstBufferPool *pool = offered.pool;
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

  const GstVideoInfo &plain = offered.info;
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
    fail_unless_equals_int(gst_harness_push(pair.sink, buffer), GST_FLOW_OK);

    // Downstream that reads video meta gets the padded frame as it is...
    GstBuffer *out = pull_buffer(with_meta);
    GstVideoMeta *out_meta = gst_buffer_get_video_meta(out);
    fail_unless(out_meta != nullptr);
    fail_unless_equals_int(out_meta->stride[0], padded.stride[0]);
    fail_unless_equals_uint64(out_meta->offset[1], padded.offset[1]);
    check_painted(out, &plain, n);
    gst_buffer_unref(out);
    // ...and downstream that does not gets a packed copy.
    out = pull_buffer(without_meta);
    fail_unless_equals_uint64(gst_buffer_get_size(out), GST_VIDEO_INFO_SIZE(&plain));
    GstVideoMeta *packed_meta = gst_buffer_get_video_meta(out);
    fail_unless(packed_meta == nullptr || packed_meta->stride[0] == plain.stride[0]);
    check_painted(out, &plain, n);
    gst_buffer_unref(out);
  }
  fail_unless_equals_uint64(stat_of(element_of(without_meta, "shmringsrc"), "copied"), 5);
  fail_unless_equals_uint64(stat_of(element_of(with_meta, "shmringsrc"), "copied"), 0);
  fail_unless_equals_uint64(stat_of(element_of(pair.sink, "shmringsink"), "copied"), 0);

  gst_harness_teardown(with_meta);
}
GST_END_TEST;

GST_START_TEST(test_the_pool_leaves_the_ring_a_slot_of_its_own) {
  HarnessPair pair(ring_name("pool-limit"), kSmallI420, "slots=3", "timestamp-mode=original");
  OfferedPool offered(pair.sink, kSmallI420);
  offered.activate();

  // Upstream takes all it may (slots - 1) and keeps them.
  GstBuffer *kept[2];
  for (GstBuffer *&buffer : kept)
    fail_unless_equals_int(gst_buffer_pool_acquire_buffer(offered.pool, &buffer, nullptr),
                           GST_FLOW_OK);
  GstBufferPoolAcquireParams dont_wait = {};
  dont_wait.flags = GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT;
  GstBuffer *more = nullptr;
  fail_unless_equals_int(gst_buffer_pool_acquire_buffer(offered.pool, &more, &dont_wait),
                         GST_FLOW_EOS);

  // The ring still turns on its own slot: copied buffers, then EOS.
  for (guint n = 0; n < 5; ++n) {
    GstBuffer *foreign =
        gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&offered.info), nullptr);
    paint(foreign, &offered.info, n);
    fail_unless_equals_int(gst_harness_push(pair.sink, foreign), GST_FLOW_OK);
    GstBuffer *out = pull_buffer(pair.src);
    check_painted(out, &offered.info, n);
    gst_buffer_unref(out);
  }
  fail_unless(gst_harness_push_event(pair.sink, gst_event_new_eos()));
  events_until_eos(pair.src);

  // A returned buffer makes room for the next one.
  gst_buffer_unref(kept[0]);
  fail_unless_equals_int(gst_buffer_pool_acquire_buffer(offered.pool, &more, &dont_wait),
                         GST_FLOW_OK);
  gst_buffer_unref(more);
  gst_buffer_unref(kept[1]);
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

// README: `dropped` counts frames "read but not pushed"; a video layout
// that does not fit its buffer is one, and the next buffer is DISCONT.
GST_START_TEST(test_a_layout_that_does_not_fit_is_dropped_and_counted) {
  HarnessPair pair(ring_name("bad-layout"),
                   "video/x-raw,format=GRAY8,width=8,height=4,framerate=25/1", "",
                   "timestamp-mode=original");
  gst_harness_push(pair.sink, numbered_buffer(0, 32));
  // A keyframe whose meta claims rows of 16 bytes: 64 bytes, in a 32-byte buffer.
  GstBuffer *bad = numbered_buffer(2, 32);
  gsize offsets[GST_VIDEO_MAX_PLANES] = {0};
  gint strides[GST_VIDEO_MAX_PLANES] = {16};
  gst_buffer_add_video_meta_full(bad, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_FORMAT_GRAY8, 8, 4, 1,
                                 offsets, strides);
  gst_harness_push(pair.sink, bad);
  gst_harness_push(pair.sink, numbered_buffer(4, 32));
  GstBuffer *out = pull_buffer(pair.src);
  check_numbered_buffer(out, 0, 32);
  gst_buffer_unref(out);
  out = pull_buffer(pair.src);
  check_numbered_buffer(out, 4, 32);
  fail_unless(GST_BUFFER_FLAG_IS_SET(out, GST_BUFFER_FLAG_DISCONT), "after a dropped frame");
  gst_buffer_unref(out);
  GstElement *reader = element_of(pair.src, "shmringsrc");
  fail_unless_equals_uint64(stat_of(reader, "dropped"), 1);
  fail_unless_equals_uint64(stat_of(reader, "received"), 2);
  fail_unless_equals_uint64(stat_of(reader, "lost"), 0);
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

}  // namespace

// README: "Readers wrap the shared memory directly: no copy on the read side."
// The pushed buffer's bytes are the ring slot itself, read-only.
GST_START_TEST(test_reader_buffers_wrap_the_ring_slot_without_a_copy) {
  HarnessPair pair(ring_name("zero-copy"), "application/x-test", "", "timestamp-mode=original");
  for (guint64 n = 0; n < 3; ++n) {
    fail_unless_equals_int(gst_harness_push(pair.sink, numbered_buffer(n, 4096)), GST_FLOW_OK);
    GstBuffer *out = pull_buffer(pair.src);
    check_numbered_buffer(out, n, 4096);
    fail_unless(buffer_in_ring(pair.ring, out), "buffer %u is not the ring slot", guint(n));
    fail_unless(GST_MEMORY_FLAG_IS_SET(gst_buffer_peek_memory(out, 0), GST_MEMORY_FLAG_READONLY),
                "the slot is lent read-only");
    gst_buffer_unref(out);
  }
  fail_unless_equals_uint64(stat_of(element_of(pair.src, "shmringsrc"), "copied"), 0);
}
GST_END_TEST;

// README: "When downstream already holds half of the slots ..., further
// frames are copied instead so that a reader can never starve the writer.
// Both copies count in `copied`."
GST_START_TEST(test_a_reader_whose_downstream_holds_half_the_slots_copies) {
  HarnessPair pair(ring_name("half"), "application/x-test", "slots=4", "timestamp-mode=original");
  GstElement *reader = element_of(pair.src, "shmringsrc");
  std::vector<GstBuffer *> held;
  for (guint64 n = 0; n < 4; ++n) {
    fail_unless_equals_int(gst_harness_push(pair.sink, numbered_buffer(n, 256)), GST_FLOW_OK);
    GstBuffer *out = pull_buffer(pair.src);
    check_numbered_buffer(out, n, 256);
    // Two of four slots kept downstream: the first two wrap, the rest copy.
    fail_unless_equals_int(buffer_in_ring(pair.ring, out), n < 2);
    held.push_back(out);
  }
  fail_unless_equals_uint64(stat_of(reader, "copied"), 2);
  fail_unless_equals_int(uint_stat_of(reader, "slots-held"), 2);
  for (GstBuffer *buffer : held)
    gst_buffer_unref(buffer);
  // Given back: wrapping again.
  fail_unless_equals_int(gst_harness_push(pair.sink, numbered_buffer(4, 256)), GST_FLOW_OK);
  GstBuffer *out = pull_buffer(pair.src);
  fail_unless(buffer_in_ring(pair.ring, out));
  gst_buffer_unref(out);
  fail_unless_equals_uint64(stat_of(reader, "copied"), 2);
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
  GstBuffer *kept_by_a = pull_buffer(a);
  gst_buffer_unref(pull_buffer(b));
  gst_harness_push(sink, numbered_buffer(1, 256));
  gst_buffer_unref(pull_buffer(a));
  GstBuffer *kept_by_b = pull_buffer(b);
  fail_unless(buffer_in_ring(ring, kept_by_a) && buffer_in_ring(ring, kept_by_b));
  gst_harness_push(sink, numbered_buffer(2, 256));
  for (GstHarness *h : {a, b}) {
    GstBuffer *out = pull_buffer(h);
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

void add_zero_copy_tests(TCase *tc) {
  tcase_add_test(tc, test_pool_buffers_are_slots_published_without_a_copy);
  tcase_add_test(tc, test_padded_frames_keep_their_layout_or_are_repacked);
  tcase_add_test(tc, test_the_pool_leaves_the_ring_a_slot_of_its_own);
  tcase_add_test(tc, test_slot_size_comes_from_the_first_caps);
  tcase_add_test(tc, test_a_layout_that_does_not_fit_is_dropped_and_counted);
  tcase_add_test(tc, test_reader_buffers_wrap_the_ring_slot_without_a_copy);
  tcase_add_test(tc, test_a_reader_whose_downstream_holds_half_the_slots_copies);
  tcase_add_test(tc, test_readers_together_holding_half_the_slots_copy);
}
