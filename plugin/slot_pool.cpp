#include "slot_pool.h"

#include <chrono>
#include <condition_variable>
#include <mutex>

GST_DEBUG_CATEGORY_STATIC(shmring_slot_pool_debug);
#define GST_CAT_DEFAULT shmring_slot_pool_debug

namespace shmring::gst {

// How many slots the pool has lent at most at once (the configured max, at
// most all slots but one): the ring keeps a slot of its own for buffers it
// must copy and for EOS, whatever upstream keeps.
struct PoolLimit {
  std::mutex lock;
  std::condition_variable returned;
  guint lent = 0;
  guint max = 1;
  bool flushing = false;
};

namespace {

GQuark lease_quark() {
  static GQuark quark = g_quark_from_static_string("shmring-slot-lease");
  return quark;
}

void give_back_lease_place(PoolLimit &limit) {
  {
    std::lock_guard<std::mutex> guard(limit.lock);
    limit.lent--;
  }
  limit.returned.notify_all();
}

void end_lease(gpointer data) {
  auto *lease = static_cast<SlotLease *>(data);
  if (!lease->published.load()) {
    lease->writer->abandon(lease->slot);
    give_back_lease_place(*lease->limit);  // a published one gave it back then
  }
  delete lease;
}

// Waits until the pool may lend one more slot, as GstBufferPool does at its
// maximum: GST_FLOW_OK once it may, FLUSHING when flushed, EOS at the
// maximum when the caller asked not to wait, GST_FLOW_ERROR when upstream
// kept every buffer past the deadline (never a wait without end).
GstFlowReturn take_lease_place(PoolLimit &limit, bool dont_wait, shmring::Deadline deadline) {
  std::unique_lock<std::mutex> guard(limit.lock);
  if (dont_wait && !limit.flushing && limit.lent >= limit.max)
    return GST_FLOW_EOS;
  if (!limit.returned.wait_until(guard, deadline,
                                 [&] { return limit.flushing || limit.lent < limit.max; }))
    return GST_FLOW_ERROR;
  if (limit.flushing)
    return GST_FLOW_FLUSHING;
  limit.lent++;
  return GST_FLOW_OK;
}

}  // namespace

void publish_lease(SlotLease &lease, const RecordHeader &record, const void *user) {
  lease.writer->publish(lease.slot, record, user);
  lease.published.store(true);
  give_back_lease_place(*lease.limit);
}

// Plain C++ state beside the GstBufferPool instance.
struct SlotPoolState {
  std::shared_ptr<Writer> writer;
  GWeakRef element;
  GstClockTime timeout = GST_SECOND;
  shmring::AtDeadline at_deadline = shmring::AtDeadline::OverrunStalledReaders;
  std::atomic<bool> flushing{false};
  std::shared_ptr<PoolLimit> limit = std::make_shared<PoolLimit>();
  // From the configuration:
  gsize size = 0;
  bool add_video_meta = false;
  GstVideoInfo info;
  bool is_video = false;
};

}  // namespace shmring::gst

using shmring::gst::SlotPoolState;

typedef struct {
  GstBufferPool parent;
  SlotPoolState *state;
} GstShmringSlotPool;

typedef struct {
  GstBufferPoolClass parent_class;
} GstShmringSlotPoolClass;

G_DEFINE_TYPE(GstShmringSlotPool, gst_shmring_slot_pool, GST_TYPE_BUFFER_POOL);

static void gst_shmring_slot_pool_init(GstShmringSlotPool *pool) {
  pool->state = new SlotPoolState();
  g_weak_ref_init(&pool->state->element, nullptr);
}

static void gst_shmring_slot_pool_finalize(GObject *object) {
  auto *pool = reinterpret_cast<GstShmringSlotPool *>(object);
  g_weak_ref_clear(&pool->state->element);
  delete pool->state;
  G_OBJECT_CLASS(gst_shmring_slot_pool_parent_class)->finalize(object);
}

static const gchar **gst_shmring_slot_pool_get_options(GstBufferPool *) {
  static const gchar *options[] = {GST_BUFFER_POOL_OPTION_VIDEO_META,
                                   GST_BUFFER_POOL_OPTION_VIDEO_ALIGNMENT, nullptr};
  return options;
}

static gboolean gst_shmring_slot_pool_set_config(GstBufferPool *base, GstStructure *config) {
  auto *pool = reinterpret_cast<GstShmringSlotPool *>(base);
  SlotPoolState &s = *pool->state;
  GstCaps *caps = nullptr;
  guint size = 0, min = 0, max = 0;
  if (!gst_buffer_pool_config_get_params(config, &caps, &size, &min, &max) || !caps)
    return FALSE;
  s.is_video = gst_video_info_from_caps(&s.info, caps);
  s.add_video_meta = gst_buffer_pool_config_has_option(config, GST_BUFFER_POOL_OPTION_VIDEO_META);
  gsize needed = size;
  if (s.is_video) {
    // Upstream may ask for padding (wider strides, extra rows): lay the
    // frame out with it, which only works with video meta to describe it.
    if (gst_buffer_pool_config_has_option(config, GST_BUFFER_POOL_OPTION_VIDEO_ALIGNMENT)) {
      GstVideoAlignment align;
      gst_buffer_pool_config_get_video_alignment(config, &align);
      if (!gst_video_info_align(&s.info, &align))
        return FALSE;
      gst_buffer_pool_config_set_video_alignment(config, &align);
      if (!s.add_video_meta &&
          (align.padding_top || align.padding_left || align.padding_right || align.padding_bottom))
        return FALSE;
    }
    needed = MAX(needed, GST_VIDEO_INFO_SIZE(&s.info));
  }
  if (needed == 0 || needed > s.writer->slot_size()) {
    GST_WARNING_OBJECT(
        pool, "%" G_GSIZE_FORMAT " bytes per buffer do not fit a slot of %" G_GUINT64_FORMAT,
        needed, s.writer->slot_size());
    return FALSE;
  }
  s.size = needed;
  const guint most = s.writer->slot_count() - 1;
  max = max == 0 ? most : MIN(max, most);
  {
    std::lock_guard<std::mutex> guard(s.limit->lock);
    s.limit->max = max;
  }
  // No buffers are made up front: a slot is lent only when upstream asks.
  gst_buffer_pool_config_set_params(config, caps, static_cast<guint>(needed), 0, max);
  return GST_BUFFER_POOL_CLASS(gst_shmring_slot_pool_parent_class)->set_config(base, config);
}

static gboolean gst_shmring_slot_pool_start(GstBufferPool *) {
  return TRUE;  // nothing to preallocate: slots are lent on demand
}

static gboolean gst_shmring_slot_pool_stop(GstBufferPool *) { return TRUE; }

static GstFlowReturn gst_shmring_slot_pool_acquire_buffer(GstBufferPool *base, GstBuffer **out,
                                                          GstBufferPoolAcquireParams *params) {
  auto *pool = reinterpret_cast<GstShmringSlotPool *>(base);
  SlotPoolState &s = *pool->state;
  const bool dont_wait = params && (params->flags & GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT);
  const shmring::Deadline deadline = shmring::deadline_after_ns(s.timeout);
  const GstFlowReturn place = shmring::gst::take_lease_place(*s.limit, dont_wait, deadline);
  if (place == GST_FLOW_ERROR) {
    if (GstElement *element = static_cast<GstElement *>(g_weak_ref_get(&s.element))) {
      GST_ELEMENT_ERROR(
          element, RESOURCE, WRITE,
          ("Upstream kept every buffer of the pool of ring '%s'", s.writer->name().c_str()),
          ("%u buffers lent and none given back within the timeout", s.limit->max));
      gst_object_unref(element);
    }
  }
  if (place != GST_FLOW_OK)
    return place;
  shmring::WritableSlot slot;
  const shmring::WaitStatus status = s.writer->acquire(slot, deadline, &s.flushing, s.at_deadline);
  if (status != shmring::WaitStatus::Ok)
    shmring::gst::give_back_lease_place(*s.limit);
  switch (status) {
    case shmring::WaitStatus::Ok: break;
    case shmring::WaitStatus::Interrupted: return GST_FLOW_FLUSHING;
    case shmring::WaitStatus::Timeout: {
      if (GstElement *element = static_cast<GstElement *>(g_weak_ref_get(&s.element))) {
        GST_ELEMENT_ERROR(
            element, RESOURCE, WRITE,
            ("No slot of ring '%s' came free for upstream's buffer pool", s.writer->name().c_str()),
            ("A reader with policy=block stopped reading, or readers hold "
             "all %u slots",
             s.writer->slot_count()));
        gst_object_unref(element);
      }
      return GST_FLOW_ERROR;
    }
  }
  auto *lease = new shmring::gst::SlotLease{s.writer, slot, s.limit, {}};
  GstMemory *memory =
      gst_memory_new_wrapped(static_cast<GstMemoryFlags>(0), slot.data, slot.capacity, 0, s.size,
                             lease, shmring::gst::end_lease);
  gst_mini_object_set_qdata(GST_MINI_OBJECT(memory), shmring::gst::lease_quark(), lease, nullptr);
  GstBuffer *buffer = gst_buffer_new();
  gst_buffer_append_memory(buffer, memory);
  if (s.is_video && s.add_video_meta) {
    gst_buffer_add_video_meta_full(buffer, GST_VIDEO_FRAME_FLAG_NONE,
                                   GST_VIDEO_INFO_FORMAT(&s.info), GST_VIDEO_INFO_WIDTH(&s.info),
                                   GST_VIDEO_INFO_HEIGHT(&s.info), GST_VIDEO_INFO_N_PLANES(&s.info),
                                   s.info.offset, s.info.stride);
  }
  *out = buffer;
  return GST_FLOW_OK;
}

// Buffers are never recycled (see the header): the pool has already been
// detached from the buffer, so this frees it and ends its lease.
static void gst_shmring_slot_pool_release_buffer(GstBufferPool *, GstBuffer *buffer) {
  gst_buffer_unref(buffer);
}

static void gst_shmring_slot_pool_flush_start(GstBufferPool *base) {
  SlotPoolState &s = *reinterpret_cast<GstShmringSlotPool *>(base)->state;
  s.flushing.store(true);
  {
    std::lock_guard<std::mutex> guard(s.limit->lock);
    s.limit->flushing = true;
  }
  s.limit->returned.notify_all();
  s.writer->wake();
}

static void gst_shmring_slot_pool_flush_stop(GstBufferPool *base) {
  SlotPoolState &s = *reinterpret_cast<GstShmringSlotPool *>(base)->state;
  {
    std::lock_guard<std::mutex> guard(s.limit->lock);
    s.limit->flushing = false;
  }
  s.flushing.store(false);
}

static void gst_shmring_slot_pool_class_init(GstShmringSlotPoolClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS(klass);
  gobject_class->finalize = gst_shmring_slot_pool_finalize;
  pool_class->get_options = gst_shmring_slot_pool_get_options;
  pool_class->set_config = gst_shmring_slot_pool_set_config;
  pool_class->start = gst_shmring_slot_pool_start;
  pool_class->stop = gst_shmring_slot_pool_stop;
  pool_class->acquire_buffer = gst_shmring_slot_pool_acquire_buffer;
  pool_class->release_buffer = gst_shmring_slot_pool_release_buffer;
  pool_class->flush_start = gst_shmring_slot_pool_flush_start;
  pool_class->flush_stop = gst_shmring_slot_pool_flush_stop;
  GST_DEBUG_CATEGORY_INIT(shmring_slot_pool_debug, "shmringslotpool", 0,
                          "shmringsink's buffer pool of ring slots");
}

namespace shmring::gst {

SlotLease *unpublished_lease_of(GstBuffer *buffer, const Writer *writer) {
  if (gst_buffer_n_memory(buffer) != 1)
    return nullptr;
  GstMemory *memory = gst_buffer_peek_memory(buffer, 0);
  auto *lease =
      static_cast<SlotLease *>(gst_mini_object_get_qdata(GST_MINI_OBJECT(memory), lease_quark()));
  // A lease of an earlier ring, a resized view into the slot, or a buffer
  // pushed twice (already published) is copied like any other.
  if (!lease || lease->writer.get() != writer || lease->published.load() || memory->offset != 0)
    return nullptr;
  return lease;
}

GstBufferPool *slot_pool_new(std::shared_ptr<Writer> writer, GstElement *element,
                             GstClockTime timeout, AtDeadline at_deadline) {
  auto *pool =
      static_cast<GstShmringSlotPool *>(g_object_new(gst_shmring_slot_pool_get_type(), nullptr));
  gst_object_ref_sink(pool);
  pool->state->writer = std::move(writer);
  pool->state->timeout = timeout;
  pool->state->at_deadline = at_deadline;
  g_weak_ref_set(&pool->state->element, element);
  return GST_BUFFER_POOL(pool);
}

}  // namespace shmring::gst
