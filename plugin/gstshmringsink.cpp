/**
 * SECTION:element-shmringsink
 * @title: shmringsink
 * @see_also: shmringsrc
 *
 * Publishes buffers, with their caps, timestamps, flags, video layout and
 * serialized events (EOS, tags, custom events), into a ring in POSIX shared
 * memory (`/dev/shm/shmring.NAME`), from which any number of `shmringsrc`
 * elements in other processes read. Raw video upstream can draw straight into
 * the ring through the buffer pool this sink proposes; other buffers are
 * copied once. The ring is created with the first caps and removed when the
 * sink stops; a ring left by a writer that died is replaced, a live writer's
 * (in any container sharing `/dev/shm`) is an error.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc is-live=true ! video/x-raw,format=I420,width=1280,height=720 ! shmringsink ring=cam0
 * ]| A live camera-like producer; readers come and go.
 * |[
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! shmringsink ring=job wait-for-readers=true
 * ]| A finite stream handed over losslessly: nothing is published before a
 * reader is attached, and EOS reaches the reader.
 * |[
 * gst-launch-1.0 audiotestsrc is-live=true ! shmringsink ring=mic perms=0640
 * ]| Audio, readable by the owner's group.
 *
 * Since: 0.1
 */
#include "gstshmringsink.h"

#include <grp.h>
#include <gst/video/video.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "buffer_record.h"
#include "clock_mapping.h"
#include "reference_timestamps.h"
#include "ring_growth.h"
#include "ring_uri.h"
#include "shmring/error.hpp"
#include "shmring/object_name.hpp"
#include "shmring/perms.hpp"
#include "shmring/writer.hpp"
#include "shmring_enums.h"
#include "slot_pool.h"

GST_DEBUG_CATEGORY_STATIC(gst_shmring_sink_debug);
#define GST_CAT_DEFAULT gst_shmring_sink_debug

namespace {

constexpr guint kDefaultSlots = 8;
constexpr guint64 kDefaultSlotSize = 0;
constexpr guint kDefaultPerms = 0600;
constexpr gboolean kDefaultWaitForReaders = FALSE;
constexpr guint64 kDefaultSpinTime = 0;
constexpr guint64 kDefaultTimeout = GST_SECOND;
constexpr GstShmringReaderTimeout kDefaultOnReaderTimeout = GST_SHMRING_READER_TIMEOUT_DROP;
// Slot size when slot-size is 0 and the caps are not raw video, whose frame
// size is known from the caps.
constexpr guint64 kFallbackSlotSize = 4 * 1024 * 1024;
// A stream that ends before its first caps still gets a ring, just for its
// EOS, so that a reader waiting for the ring ends too.
constexpr guint64 kEosOnlySlotSize = 4096;
// At EOS with no reader attached, how long the ring stays for one to attach
// and read the EOS (a waiting source is woken the moment the ring appears).
constexpr auto kEosGrace = std::chrono::milliseconds(200);

enum {
  PROP_0,
  PROP_RING,
  PROP_SLOTS,
  PROP_SLOT_SIZE,
  PROP_PERMS,
  PROP_GROUP,
  PROP_WAIT_FOR_READERS,
  PROP_TIMEOUT,
  PROP_SPIN_TIME,
  PROP_ON_READER_TIMEOUT,
  PROP_STATS,
};

struct Settings {
  std::string ring;
  guint slots = kDefaultSlots;
  guint64 slot_size = kDefaultSlotSize;
  guint perms = kDefaultPerms;
  std::string group;  // a group name or gid; empty: the process's own
  bool wait_for_readers = kDefaultWaitForReaders;
  guint64 timeout = kDefaultTimeout;
  guint64 spin_time = kDefaultSpinTime;  // ns
  GstShmringReaderTimeout on_reader_timeout = kDefaultOnReaderTimeout;

  shmring::AtDeadline at_deadline() const {
    return on_reader_timeout == GST_SHMRING_READER_TIMEOUT_ERROR
               ? shmring::AtDeadline::GiveUp
               : shmring::AtDeadline::OverrunStalledReaders;
  }
};

// Counted by the streaming thread and upstream's pool threads, read by
// `stats`: relaxed atomics, no lock per buffer.
struct Counters {
  std::atomic<guint64> published{0};
  std::atomic<guint64> copied{0};
  std::atomic<guint64> bytes_copied{0};
  std::atomic<guint64> moves{0};  // times the ring grew (moved to bigger slots)

  void reset() {
    for (std::atomic<guint64> *counter : {&published, &copied, &bytes_copied, &moves})
      counter->store(0, std::memory_order_relaxed);
  }
  static void add(std::atomic<guint64> &counter, guint64 amount = 1) {
    counter.fetch_add(amount, std::memory_order_relaxed);
  }
};

// The settings the streaming thread reads for every buffer, mirrored from
// Settings by set_property, so that it reads them with neither a lock nor a
// copy of Settings' strings. (They may change while playing.)
struct LiveSettings {
  std::atomic<guint64> timeout{kDefaultTimeout};
  std::atomic<bool> wait_for_readers{kDefaultWaitForReaders};
  std::atomic<bool> error_on_reader_timeout{kDefaultOnReaderTimeout ==
                                            GST_SHMRING_READER_TIMEOUT_ERROR};

  void mirror(const Settings &settings) {
    timeout.store(settings.timeout, std::memory_order_relaxed);
    wait_for_readers.store(settings.wait_for_readers, std::memory_order_relaxed);
    error_on_reader_timeout.store(settings.on_reader_timeout == GST_SHMRING_READER_TIMEOUT_ERROR,
                                  std::memory_order_relaxed);
  }
  shmring::AtDeadline at_deadline() const {
    return error_on_reader_timeout.load(std::memory_order_relaxed)
               ? shmring::AtDeadline::GiveUp
               : shmring::AtDeadline::OverrunStalledReaders;
  }
};

struct KnownReader {
  guint32 index;
  gint pid;
  guint32 session;  // a reader that left and came back to the same entry is another one
  bool operator==(const KnownReader &o) const {
    return index == o.index && pid == o.pid && session == o.session;
  }
};

}  // namespace

// C++ state behind the GObject. Settings are guarded by the object lock
// (and mirrored in `live`); `writer` is created and destroyed under `writer_lock` so that
// unlock() can interrupt it from another thread; the streaming thread uses it
// without a lock, never holding any lock across a wait.
struct SinkState {
  Settings settings;
  LiveSettings live;
  Counters counters;
  shmring::gst::ClockMapping clock;
  std::mutex writer_lock;
  std::shared_ptr<shmring::Writer> writer;  // shared with pools lent upstream
  shmring::WriterStats earlier_rings;       // of rings left for bigger ones; writer_lock
  bool unlocked = false;                    // guarded by writer_lock
  guint64 caps_id = 0;
  std::string caps_text;        // the current caps, for a grown ring; streaming thread only
  bool caps_are_video = false;  // raw video: frames are sized by the caps; streaming thread only
  std::vector<KnownReader> readers;     // streaming thread only
  std::uint64_t readers_signature = 0;  // of `readers`; streaming thread only
  bool readers_unknown = true;          // `readers` is not of this ring yet
  // Set when a LATENCY event reaches the sink: the next buffer publishes
  // the pipeline's latency for readers.
  std::atomic<bool> latency_changed{true};
  // Set when this sink posts an error. The EOS upstream sends after a flow
  // error (GstBaseSrc does) is then not passed on: readers must not take a
  // failed stream for a finished one (they see the writer stop without EOS,
  // and answer with on-writer-lost).
  std::atomic<bool> failed{false};
};

struct _GstShmringSink {
  GstBaseSink parent;
  SinkState *state;
};

static void gst_shmring_sink_uri_handler_init(gpointer g_iface, gpointer iface_data) {
  shmring::gst::init_ring_uri_handler(g_iface, iface_data, GST_URI_SINK);
}

G_DEFINE_TYPE_WITH_CODE(GstShmringSink, gst_shmring_sink, GST_TYPE_BASE_SINK,
                        G_IMPLEMENT_INTERFACE(GST_TYPE_URI_HANDLER,
                                              gst_shmring_sink_uri_handler_init));
GST_ELEMENT_REGISTER_DEFINE(shmringsink, "shmringsink", GST_RANK_NONE, GST_TYPE_SHMRING_SINK);

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

namespace {

Settings settings_of(GstShmringSink *self) {
  GST_OBJECT_LOCK(self);
  Settings copy = self->state->settings;
  GST_OBJECT_UNLOCK(self);
  return copy;
}

guint64 slot_size_for(const Settings &settings, GstCaps *caps) {
  if (settings.slot_size > 0)
    return settings.slot_size;
  GstVideoInfo info;
  if (shmring::gst::raw_video_info(caps, info) && GST_VIDEO_INFO_SIZE(&info) > 0)
    return GST_VIDEO_INFO_SIZE(&info);
  return kFallbackSlotSize;
}

// The gid a group name or number names; nullopt when it names none.
std::optional<gid_t> group_id(const std::string &group) {
  if (group.find_first_not_of("0123456789") == std::string::npos && group.size() < 10)
    return static_cast<gid_t>(std::stoul(group));
  struct group entry;
  struct group *found = nullptr;
  char buffer[4096];
  if (getgrnam_r(group.c_str(), &entry, buffer, sizeof buffer, &found) != 0 || !found)
    return std::nullopt;
  return found->gr_gid;
}

// Why the ring could not be created, as an element error of the fitting kind.
// `hint`, when given, is said with a NoSpace error (why it did not fit).
void report_create_error(GstShmringSink *self, const shmring::Error &error,
                         const char *hint = nullptr) {
  switch (error.code()) {
    case shmring::ErrorCode::InvalidName:
    case shmring::ErrorCode::InvalidArgument:
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", error.what()), (nullptr));
      break;
    case shmring::ErrorCode::OwnerAlive:
    case shmring::ErrorCode::WrongKind:
    case shmring::ErrorCode::VersionMismatch:
    case shmring::ErrorCode::PermissionDenied:
      GST_ELEMENT_ERROR(self, RESOURCE, BUSY, ("%s", error.what()), (nullptr));
      break;
    case shmring::ErrorCode::NoSpace:
      GST_ELEMENT_ERROR(self, RESOURCE, NO_SPACE_LEFT, ("%s", error.what()),
                        ("%s", hint ? hint : ""));
      break;
    default: GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE, ("%s", error.what()), (nullptr)); break;
  }
}

// Creates a ring of `slot_size` bytes per slot under the ring's name; posts
// an element error and returns null on failure.
// `first_sequence`: where a ring that carries on another's stream goes on
// numbering its records (WriterOptions::first_sequence).
std::shared_ptr<shmring::Writer> make_writer(GstShmringSink *self, guint64 slot_size,
                                             const char *space_hint = nullptr,
                                             guint64 first_sequence = 0) {
  const Settings settings = settings_of(self);
  try {
    shmring::WriterOptions options;
    options.name = settings.ring;
    options.slot_count = settings.slots;
    options.slot_size = slot_size;
    options.user = shmring::gst::kRecordSchema;
    options.first_sequence = first_sequence;
    options.spin_time = std::chrono::nanoseconds(std::min<guint64>(settings.spin_time, G_MAXINT64));
    options.perms = static_cast<mode_t>(settings.perms);
    if (!settings.group.empty()) {
      options.group = group_id(settings.group);
      if (!options.group) {
        GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                          ("No group '%s' (group)", settings.group.c_str()),
                          ("Give a group name known here, or a gid"));
        return nullptr;
      }
    }
    std::shared_ptr<shmring::Writer> writer = shmring::Writer::create(options);
    GST_INFO_OBJECT(self, "created ring '%s': %u slots of %" G_GUINT64_FORMAT " bytes",
                    settings.ring.c_str(), settings.slots, slot_size);
    return writer;
  } catch (const shmring::Error &error) {
    report_create_error(self, error, space_hint);
    return nullptr;
  }
}

// Makes `writer` the sink's, interrupted at once if unlock() came first.
// The stats of a ring the sink leaves for a bigger one are kept, so that
// `stats` counts for the whole stream.
void install_writer(GstShmringSink *self, std::shared_ptr<shmring::Writer> writer) {
  SinkState &s = *self->state;
  std::lock_guard<std::mutex> guard(s.writer_lock);
  if (s.writer) {
    const shmring::WriterStats left = s.writer->stats();
    s.earlier_rings.overruns += left.overruns;
    s.earlier_rings.readers_reclaimed += left.readers_reclaimed;
  }
  if (writer && s.unlocked)
    writer->interrupt();
  s.writer = std::move(writer);
  s.latency_changed.store(true);  // a new ring knows nothing of it yet
}

// Creates the ring; posts an element error and returns false on failure.
bool create_writer(GstShmringSink *self, guint64 slot_size) {
  std::shared_ptr<shmring::Writer> writer = make_writer(self, slot_size);
  if (!writer)
    return false;
  install_writer(self, std::move(writer));
  return true;
}

void post_reader_message(GstShmringSink *self, const char *name, const KnownReader &r) {
  GstStructure *structure =
      gst_structure_new(name, "ring", G_TYPE_STRING, self->state->settings.ring.c_str(), "pid",
                        G_TYPE_INT, r.pid, "index", G_TYPE_UINT, r.index, nullptr);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), structure));
}

// Posts shmring-reader-joined / -left element messages for changes in the
// reader table since the last call.
void announce_reader_changes(GstShmringSink *self) {
  SinkState &s = *self->state;
  // Looked at for every buffer: the reader table is read in full (and a
  // vector allocated) only when a reader came or went.
  const std::uint64_t signature = s.writer->readers_signature();
  if (signature == s.readers_signature && !s.readers_unknown)
    return;
  s.readers_signature = signature;
  s.readers_unknown = false;
  std::vector<KnownReader> now;
  for (const shmring::ReaderInfo &info : s.writer->readers())
    now.push_back({info.index, info.pid, info.session});
  for (const KnownReader &r : now) {
    if (std::find(s.readers.begin(), s.readers.end(), r) == s.readers.end()) {
      GST_INFO_OBJECT(self, "reader pid %d joined", r.pid);
      post_reader_message(self, "shmring-reader-joined", r);
    }
  }
  for (const KnownReader &r : s.readers) {
    if (std::find(now.begin(), now.end(), r) == now.end()) {
      GST_INFO_OBJECT(self, "reader pid %d left", r.pid);
      post_reader_message(self, "shmring-reader-left", r);
    }
  }
  s.readers = std::move(now);
}

// After unlock() interrupted a wait: wait for preroll (PLAYING -> PAUSED)
// as any sink does, unless the sink is flushing (going down, or a flush).
// GstBaseSink's wait_preroll does not look at `flushing` before it sleeps,
// and the flush that set it has already signalled: waiting now would never
// end. Called with the PREROLL_LOCK held (render, event), as `flushing` needs.
GstFlowReturn wait_preroll_unless_flushing(GstShmringSink *self) {
  if (GST_BASE_SINK(self)->flushing)
    return GST_FLOW_FLUSHING;
  return gst_base_sink_wait_preroll(GST_BASE_SINK(self));
}

// Lends a slot, waiting as long as the timeout allows. While the element is
// unlocked (flushing, or going to PAUSED) it waits for preroll like any sink
// and retries once playing again.
GstFlowReturn acquire_slot(GstShmringSink *self, shmring::WritableSlot &slot) {
  SinkState &s = *self->state;
  // A slot free now needs no deadline (and no clock read for it).
  if (s.writer->try_acquire(slot))
    return GST_FLOW_OK;
  for (;;) {
    const guint64 timeout = s.live.timeout.load(std::memory_order_relaxed);
    const shmring::AtDeadline at_deadline = s.live.at_deadline();
    switch (s.writer->acquire(slot, shmring::deadline_after_ns(timeout), nullptr, at_deadline)) {
      case shmring::WaitStatus::Ok: return GST_FLOW_OK;
      case shmring::WaitStatus::Timeout:
        if (at_deadline == shmring::AtDeadline::GiveUp)
          GST_ELEMENT_ERROR(self, RESOURCE, WRITE,
                            ("A reader of ring '%s' stopped reading", s.writer->name().c_str()),
                            ("No slot came free within %" GST_TIME_FORMAT
                             ": a reader with policy=block did not read (on-reader-timeout="
                             "error), or readers hold all %u slots",
                             GST_TIME_ARGS(timeout), s.writer->slot_count()));
        else
          GST_ELEMENT_ERROR(self, RESOURCE, WRITE,
                            ("All %u slots of ring '%s' are held by readers",
                             s.writer->slot_count(), s.writer->name().c_str()),
                            ("No slot came free within %" GST_TIME_FORMAT
                             "; readers hold on to buffers (raise 'slots')",
                             GST_TIME_ARGS(timeout)));
        return GST_FLOW_ERROR;
      case shmring::WaitStatus::Interrupted: {
        GstFlowReturn ret = wait_preroll_unless_flushing(self);
        if (ret != GST_FLOW_OK)
          return ret;
        break;
      }
    }
  }
}

GstFlowReturn wait_for_a_reader(GstShmringSink *self) {
  SinkState &s = *self->state;
  const shmring::Deadline since = shmring::Clock::now();
  GST_DEBUG_OBJECT(self, "holding the stream until a reader attaches (wait-for-readers)");
  for (;;) {
    switch (s.writer->wait_for_reader(shmring::deadline_after_ns(GST_SECOND))) {
      case shmring::WaitStatus::Ok:
        GST_DEBUG_OBJECT(self, "waited %" G_GINT64_FORMAT " ms for a reader",
                         static_cast<gint64>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 shmring::Clock::now() - since)
                                                 .count()));
        return GST_FLOW_OK;
      case shmring::WaitStatus::Timeout:
        break;  // keep waiting: that is what wait-for-readers asks for
      case shmring::WaitStatus::Interrupted: {
        GstFlowReturn ret = wait_preroll_unless_flushing(self);
        if (ret != GST_FLOW_OK)
          return ret;
        break;
      }
    }
  }
}

// Tells readers this pipeline's latency (set by the LATENCY event the
// pipeline sends its sinks): a frame is in the ring that long after its
// timestamp, which readers add to their own latency. Only after a LATENCY
// event or a new ring: one relaxed load per buffer otherwise.
void publish_latency(GstShmringSink *self) {
  SinkState &s = *self->state;
  if (!s.latency_changed.load(std::memory_order_acquire))
    return;
  // Cleared before reading, so that a LATENCY event meanwhile is not lost.
  s.latency_changed.store(false, std::memory_order_relaxed);
  const GstClockTime latency = gst_base_sink_get_latency(GST_BASE_SINK(self));
  GST_DEBUG_OBJECT(self, "pipeline latency %" GST_TIME_FORMAT, GST_TIME_ARGS(latency));
  s.writer->set_latency(latency);
}

// The buffer's PTS as CLOCK_MONOTONIC time (running time + base time, through
// this pipeline's clock): what a reader maps back to its own running time.
guint64 clock_time_of(GstShmringSink *self, GstBuffer *buffer) {
  GstBaseSink *base = GST_BASE_SINK(self);
  if (!GST_BUFFER_PTS_IS_VALID(buffer) || base->segment.format != GST_FORMAT_TIME)
    return shmring::kNoTime;
  const guint64 running =
      gst_segment_to_running_time(&base->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
  if (!GST_CLOCK_TIME_IS_VALID(running))
    return shmring::kNoTime;
  return self->state->clock.to_monotonic(GST_ELEMENT(self),
                                         running + gst_element_get_base_time(GST_ELEMENT(self)));
}

GstFlowReturn publish_record(GstShmringSink *self, const shmring::gst::RecordInfo &info,
                             const void *payload) {
  SinkState &s = *self->state;
  shmring::WritableSlot slot;
  GstFlowReturn ret = acquire_slot(self, slot);
  if (ret != GST_FLOW_OK)
    return ret;
  if (info.size > 0 && payload)
    memcpy(slot.data, payload, info.size);
  s.writer->publish(slot, shmring::gst::header_of(info), &info.meta);
  return GST_FLOW_OK;
}

// The readers known before a move that are not in the new ring: they did
// not follow (leaky ones still catching up come later, as joins).
void announce_move(GstShmringSink *self) {
  SinkState &s = *self->state;
  std::vector<KnownReader> now;
  for (const shmring::ReaderInfo &info : s.writer->readers())
    now.push_back({info.index, info.pid, info.session});
  for (const KnownReader &r : s.readers) {
    const bool followed =
        std::any_of(now.begin(), now.end(), [&r](const KnownReader &n) { return n.pid == r.pid; });
    if (!followed) {
      GST_INFO_OBJECT(self, "reader pid %d left (did not follow the move)", r.pid);
      post_reader_message(self, "shmring-reader-left", r);
    }
  }
  s.readers = std::move(now);
  s.readers_unknown = true;  // a new ring: look at its table again
}

// Waits until the blocking readers of the old ring have attached to the
// grown one. A follower still draining the old ring is waited for as long
// as it reads, each read within `timeout` (as a blocking reader holds the
// writer back anyway); one in neither ring has died or left (a follower
// opens the new ring before it lets go of the old), and is not waited for.
shmring::WaitStatus wait_for_followers(GstShmringSink *self, shmring::Writer &old,
                                       shmring::Writer &grown,
                                       std::vector<shmring::gst::Follower> expected) {
  SinkState &s = *self->state;
  const guint64 timeout = s.live.timeout.load(std::memory_order_relaxed);
  shmring::Deadline deadline = shmring::deadline_after_ns(timeout);
  std::uint64_t progress = shmring::gst::records_read(old.readers());
  for (;;) {
    old.reclaim_dead_readers();
    const std::vector<shmring::ReaderInfo> in_old = old.readers();
    // Still to come: not in the new ring yet, and still in the old one
    // (those in neither are gone).
    expected = shmring::gst::followers_among(
        shmring::gst::followers_missing(expected, grown.readers()), in_old);
    if (expected.empty())
      return shmring::WaitStatus::Ok;
    const std::uint64_t now_read = shmring::gst::records_read(in_old);
    if (now_read != progress) {
      progress = now_read;
      deadline = shmring::deadline_after_ns(timeout);
    } else if (shmring::Clock::now() >= deadline) {
      return shmring::WaitStatus::Timeout;
    }
    // Woken when a reader attaches; looks at the old ring every 50 ms.
    const shmring::Deadline slice =
        std::min(deadline, shmring::Clock::now() + std::chrono::milliseconds(50));
    const shmring::WaitStatus status = grown.wait_for_readers(
        [&expected](const std::vector<shmring::ReaderInfo> &readers) {
          return shmring::gst::followers_missing(expected, readers).empty();
        },
        slice);
    if (status == shmring::WaitStatus::Interrupted)
      return status;
  }
}

// The stream outgrew the ring (ring_growth.h): moves to a ring of slots of
// `needed` bytes or more under the same name, and waits for the blocking
// readers to follow (wait_for_followers). Upstream is asked to reconfigure,
// so that its pool is one of the new ring's.
GstFlowReturn grow_ring(GstShmringSink *self, guint64 needed, bool sized_by_caps, const char *why) {
  SinkState &s = *self->state;
  std::shared_ptr<shmring::Writer> old = s.writer;
  const guint64 slot_size = shmring::gst::grown_slot_size(old->slot_size(), needed, sized_by_caps);
  GST_INFO_OBJECT(self,
                  "%s: %" G_GUINT64_FORMAT
                  " bytes do not fit ring '%s' (slots of %" G_GUINT64_FORMAT
                  " bytes): moving to slots of %" G_GUINT64_FORMAT " bytes",
                  why, needed, old->name().c_str(), old->slot_size(), slot_size);
  old->reclaim_dead_readers();  // a reader that died is nobody
  const bool nobody_attached = old->wait_for_reader(shmring::Deadline{}) != shmring::WaitStatus::Ok;
  // The name first: a reader told to move must not reopen the old ring.
  old->release_name();
  const std::vector<shmring::gst::Follower> expected =
      shmring::gst::followers_expected(old->readers());
  // Nobody reads the old ring (a decoder's first padded frame): it goes
  // before the new one is made, so that /dev/shm needs room for one ring
  // only. (The Moved record is for a reader that opened it meanwhile.)
  //
  // The new ring numbers on from the old one, its first record taking the
  // number of the old ring's Moved record: buffers keep consecutive numbers
  // across moves, so a reader that comes late or skips rings counts exactly
  // what it missed.
  const guint64 first_sequence = old->next_sequence();
  GstFlowReturn ret = GST_FLOW_OK;
  if (nobody_attached) {
    shmring::gst::RecordInfo moved;
    moved.kind = shmring::gst::RecordKind::Moved;
    ret = publish_record(self, moved, nullptr);
    old->close();
    install_writer(self, nullptr);
    old.reset();
  }
  std::shared_ptr<shmring::Writer> grown = make_writer(
      self, slot_size,
      nobody_attached ? nullptr
                      : "While the stream moves to bigger slots, the old ring is still read: "
                        "both must fit in /dev/shm",
      first_sequence);
  if (!grown) {
    if (old)
      old->close();
    return GST_FLOW_ERROR;
  }
  if (!s.caps_text.empty())
    s.caps_id = grown->set_caps(s.caps_text);  // fitted the old ring's table: fits this one
  if (!nobody_attached) {
    shmring::gst::RecordInfo moved;
    moved.kind = shmring::gst::RecordKind::Moved;
    ret = publish_record(self, moved, nullptr);
  }
  install_writer(self, grown);
  if (old)
    old->close();
  Counters::add(s.counters.moves);
  if (ret != GST_FLOW_OK)
    return ret;
  if (old && !expected.empty()) {
    const shmring::Deadline since = shmring::Clock::now();
    const shmring::WaitStatus status = wait_for_followers(self, *old, *grown, expected);
    const auto waited =
        std::chrono::duration_cast<std::chrono::microseconds>(shmring::Clock::now() - since)
            .count();
    if (status == shmring::WaitStatus::Timeout)
      GST_WARNING_OBJECT(self,
                         "a blocking reader of ring '%s' neither read nor followed it within "
                         "the timeout: it misses what is published before it comes",
                         old->name().c_str());
    else
      GST_DEBUG_OBJECT(self, "waited %" G_GINT64_FORMAT " us for %zu reader(s) to follow: %s",
                       static_cast<gint64>(waited), expected.size(),
                       status == shmring::WaitStatus::Ok ? "all came or left" : "interrupted");
  }
  announce_move(self);
  gst_pad_push_event(GST_BASE_SINK_PAD(self), gst_event_new_reconfigure());
  return GST_FLOW_OK;
}

// With `slot-size` unset the ring follows the stream; with it set, a record
// that does not fit is an error naming the size it needs.
GstFlowReturn make_room_for(GstShmringSink *self, guint64 size, bool sized_by_caps,
                            const char *why) {
  SinkState &s = *self->state;
  if (size <= s.writer->slot_size())
    return GST_FLOW_OK;
  if (settings_of(self).slot_size == 0)
    return grow_ring(self, size, sized_by_caps, why);
  GST_ELEMENT_ERROR(
      self, RESOURCE, WRITE,
      ("Buffer of %" G_GUINT64_FORMAT " bytes does not fit a slot of ring "
       "'%s' (%" G_GUINT64_FORMAT " bytes, set by 'slot-size')",
       size, s.writer->name().c_str(), s.writer->slot_size()),
      ("Set 'slot-size' to at least %" G_GUINT64_FORMAT ", or to 0 to size slots from the stream",
       size));
  return GST_FLOW_ERROR;
}

}  // namespace

static void gst_shmring_sink_init(GstShmringSink *self) {
  self->state = new SinkState();
  gst_base_sink_set_sync(GST_BASE_SINK(self), TRUE);
}

static void gst_shmring_sink_finalize(GObject *object) {
  GstShmringSink *self = GST_SHMRING_SINK(object);
  delete self->state;
  G_OBJECT_CLASS(gst_shmring_sink_parent_class)->finalize(object);
}

static GstStructure *build_stats(GstShmringSink *self) {
  SinkState &s = *self->state;
  const Counters &counters = s.counters;
  guint readers = 0;
  guint64 slot_size = 0;
  shmring::WriterStats writer_stats;
  {
    std::lock_guard<std::mutex> guard(s.writer_lock);
    if (s.writer) {
      readers = static_cast<guint>(s.writer->readers().size());
      slot_size = s.writer->slot_size();
      writer_stats = s.writer->stats();
    }
    writer_stats.overruns += s.earlier_rings.overruns;
    writer_stats.readers_reclaimed += s.earlier_rings.readers_reclaimed;
  }
  return gst_structure_new(
      "application/x-shmringsink-stats", "published", G_TYPE_UINT64, counters.published.load(),
      "copied", G_TYPE_UINT64, counters.copied.load(), "bytes-copied", G_TYPE_UINT64,
      counters.bytes_copied.load(), "readers", G_TYPE_UINT, readers, "overruns", G_TYPE_UINT64,
      writer_stats.overruns, "readers-reclaimed", G_TYPE_UINT64, writer_stats.readers_reclaimed,
      "slot-size", G_TYPE_UINT64, slot_size, "ring-moves", G_TYPE_UINT64, counters.moves.load(),
      nullptr);
}

static void gst_shmring_sink_set_property(GObject *object, guint prop_id, const GValue *value,
                                          GParamSpec *pspec) {
  GstShmringSink *self = GST_SHMRING_SINK(object);
  Settings &settings = self->state->settings;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_RING: {
      const gchar *ring = g_value_get_string(value);
      settings.ring = ring ? ring : "";
      break;
    }
    case PROP_SLOTS: settings.slots = g_value_get_uint(value); break;
    case PROP_SLOT_SIZE: settings.slot_size = g_value_get_uint64(value); break;
    case PROP_PERMS: settings.perms = g_value_get_uint(value); break;
    case PROP_GROUP: {
      const gchar *group = g_value_get_string(value);
      settings.group = group ? group : "";
      break;
    }
    case PROP_WAIT_FOR_READERS: settings.wait_for_readers = g_value_get_boolean(value); break;
    case PROP_TIMEOUT: settings.timeout = g_value_get_uint64(value); break;
    case PROP_SPIN_TIME: settings.spin_time = g_value_get_uint64(value); break;
    case PROP_ON_READER_TIMEOUT:
      settings.on_reader_timeout = static_cast<GstShmringReaderTimeout>(g_value_get_enum(value));
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
  self->state->live.mirror(settings);
  GST_OBJECT_UNLOCK(self);
}

static void gst_shmring_sink_get_property(GObject *object, guint prop_id, GValue *value,
                                          GParamSpec *pspec) {
  GstShmringSink *self = GST_SHMRING_SINK(object);
  if (prop_id == PROP_STATS) {
    g_value_take_boxed(value, build_stats(self));
    return;
  }
  const Settings settings = settings_of(self);
  switch (prop_id) {
    case PROP_RING:
      g_value_set_string(value, settings.ring.empty() ? nullptr : settings.ring.c_str());
      break;
    case PROP_SLOTS: g_value_set_uint(value, settings.slots); break;
    case PROP_SLOT_SIZE: g_value_set_uint64(value, settings.slot_size); break;
    case PROP_PERMS: g_value_set_uint(value, settings.perms); break;
    case PROP_GROUP:
      g_value_set_string(value, settings.group.empty() ? nullptr : settings.group.c_str());
      break;
    case PROP_WAIT_FOR_READERS: g_value_set_boolean(value, settings.wait_for_readers); break;
    case PROP_TIMEOUT: g_value_set_uint64(value, settings.timeout); break;
    case PROP_SPIN_TIME: g_value_set_uint64(value, settings.spin_time); break;
    case PROP_ON_READER_TIMEOUT: g_value_set_enum(value, settings.on_reader_timeout); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
}

// A ring sized by the first caps is created in the streaming thread, and an
// error from there can come before the application listens (gst-launch-1.0
// 1.22 then waits forever). An object already holding the name is known now,
// and reported as a failed state change, with create()'s own words. Creating
// the ring later still reports one that came meanwhile.
static bool name_is_free(GstShmringSink *self, const std::string &ring) {
  try {
    shmring::Writer::check_name(ring);
    return true;
  } catch (const shmring::Error &error) {
    report_create_error(self, error);
    return false;
  }
}

static gboolean gst_shmring_sink_start(GstBaseSink *base) {
  GstShmringSink *self = GST_SHMRING_SINK(base);
  SinkState &s = *self->state;
  const Settings settings = settings_of(self);
  const std::string problem = shmring::object_name_problem(settings.ring);
  if (!problem.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("Invalid ring name '%s': %s", settings.ring.c_str(), problem.c_str()),
                      ("Set the 'ring' property to a name of letters, digits, '.', '_' "
                       "and '-'"));
    return FALSE;
  }
  const std::string perms_wrong = shmring::perms_problem(static_cast<mode_t>(settings.perms));
  if (!perms_wrong.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", perms_wrong.c_str()),
                      ("Set 'perms' to 0600, 0640 (with 'group') or 0644"));
    return FALSE;
  }
  if (settings.perms & 0022)
    GST_ELEMENT_WARNING(
        self, RESOURCE, SETTINGS,
        ("perms %04o lets other users write ring '%s'", settings.perms, settings.ring.c_str()),
        ("Any of them can then corrupt or truncate it under the writer and "
         "its readers: share rings read-only (0640 with 'group', or 0644)"));
  s.counters.reset();
  {
    std::lock_guard<std::mutex> guard(s.writer_lock);
    s.earlier_rings = shmring::WriterStats{};
  }
  s.caps_id = 0;
  s.caps_text.clear();
  s.caps_are_video = false;
  s.latency_changed.store(true);
  s.failed.store(false);
  s.readers.clear();
  s.readers_unknown = true;
  // With a fixed slot size the ring exists from the start, so that a name
  // clash is reported at once; otherwise the first caps size it.
  if (settings.slot_size > 0)
    return create_writer(self, settings.slot_size);
  return name_is_free(self, settings.ring);
}

static gboolean gst_shmring_sink_stop(GstBaseSink *base) {
  GstShmringSink *self = GST_SHMRING_SINK(base);
  SinkState &s = *self->state;
  std::shared_ptr<shmring::Writer> writer;
  {
    std::lock_guard<std::mutex> guard(s.writer_lock);
    writer = std::move(s.writer);
  }
  if (writer)
    writer->close();  // readers see the ring closed; the name is removed
  return TRUE;
}

// The sink takes any caps, but upstream that is free to choose fixates to
// the first format the sink lists: the common raw formats come first, so that
// `videotestsrc ! shmringsink` sends I420, not 64-bit ABGR (5.3 times the
// bytes). Anything else follows, as upstream offered it.
static GstStaticCaps preferred_caps = GST_STATIC_CAPS(
    "video/x-raw, format=(string)I420; video/x-raw, format=(string)NV12; "
    "video/x-raw, format=(string)YUY2; video/x-raw, format=(string)UYVY; "
    "video/x-raw, format=(string)BGRx; video/x-raw, format=(string)BGRA; "
    "video/x-raw, format=(string)RGBx; video/x-raw, format=(string)RGBA; "
    "video/x-raw, format=(string)RGB; video/x-raw, format=(string)BGR; "
    "video/x-raw, format=(string)GRAY8; "
    "audio/x-raw, format=(string)S16LE; audio/x-raw, format=(string)F32LE");

static GstCaps *gst_shmring_sink_get_caps(GstBaseSink *, GstCaps *filter) {
  if (!filter)
    return gst_caps_new_any();
  GstCaps *preferred = gst_static_caps_get(&preferred_caps);
  GstCaps *caps = gst_caps_intersect_full(preferred, filter, GST_CAPS_INTERSECT_FIRST);
  gst_caps_unref(preferred);
  return gst_caps_merge(caps, gst_caps_ref(filter));
}

static gboolean gst_shmring_sink_set_caps(GstBaseSink *base, GstCaps *caps) {
  GstShmringSink *self = GST_SHMRING_SINK(base);
  SinkState &s = *self->state;
  if (!s.writer && !create_writer(self, slot_size_for(settings_of(self), caps)))
    return FALSE;
  gchar *text = gst_caps_to_string(caps);
  s.caps_text = text;
  g_free(text);
  // Bigger frames than the slots hold: a ring that fits them, with these
  // caps, before any of them comes.
  GstVideoInfo info;
  s.caps_are_video = shmring::gst::raw_video_info(caps, info);
  // (With `slot-size` set, the first buffer that does not fit is the error:
  // an error while prerolling would leave gst-launch-1.0 1.22 waiting.)
  if (s.caps_are_video && settings_of(self).slot_size == 0 &&
      GST_VIDEO_INFO_SIZE(&info) > s.writer->slot_size())
    return grow_ring(self, GST_VIDEO_INFO_SIZE(&info), true, "new caps") == GST_FLOW_OK;
  try {
    // Readers still behind on records of the caps entry this takes over
    // get as long as a blocking reader does.
    s.caps_id = s.writer->set_caps(
        s.caps_text, shmring::deadline_after_ns(s.live.timeout.load(std::memory_order_relaxed)));
  } catch (const shmring::Error &error) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("%s", error.what()), (nullptr));
    return FALSE;
  }
  GST_INFO_OBJECT(self, "caps id %" G_GUINT64_FORMAT ": %s", s.caps_id, s.caps_text.c_str());
  return TRUE;
}

static GstFlowReturn gst_shmring_sink_render(GstBaseSink *base, GstBuffer *buffer) {
  GstShmringSink *self = GST_SHMRING_SINK(base);
  SinkState &s = *self->state;
  if (!s.writer) {
    // No caps came before the first buffer (fakesrc, filesrc): the stream
    // passes as bytes, under caps id 0, in slots sized as for caps that say
    // nothing about the size.
    GST_INFO_OBJECT(self, "no caps before the first buffer: carrying bytes without caps");
    if (!create_writer(self, slot_size_for(settings_of(self), nullptr)))
      return GST_FLOW_ERROR;
  }
  // A buffer bigger than the caps promised (a decoder's padding) grows a
  // ring that follows the stream first: before the first reader comes that
  // costs nothing.
  const gsize size = gst_buffer_get_size(buffer);
  const bool fits = size <= s.writer->slot_size();
  if (!fits && settings_of(self).slot_size == 0) {
    GstFlowReturn grown = make_room_for(self, size, s.caps_are_video, "a bigger buffer");
    if (grown != GST_FLOW_OK)
      return grown;
  }
  // Asked to wait for readers, the writer waits before anything else, its
  // errors included: a reader attached to it then hears of them
  // (on-writer-lost) rather than waiting for a ring that came and went.
  announce_reader_changes(self);
  if (s.live.wait_for_readers.load(std::memory_order_relaxed) && s.readers.empty()) {
    GstFlowReturn ret = wait_for_a_reader(self);
    if (ret != GST_FLOW_OK)
      return ret;
    announce_reader_changes(self);
  }
  // A `slot-size` the buffer does not fit: the error, now that a reader
  // that was asked for is there to hear of it.
  if (!fits) {
    GstFlowReturn ret = make_room_for(self, size, s.caps_are_video, "a bigger buffer");
    if (ret != GST_FLOW_OK)
      return ret;
  }

  publish_latency(self);
  shmring::gst::RecordInfo info;
  shmring::gst::describe_buffer(buffer, info);
  if (unsigned left_out = shmring::gst::describe_reference_timestamps(buffer, info))
    GST_DEBUG_OBJECT(self, "%u reference timestamp meta(s) outside the whitelist not carried",
                     left_out);
  info.kind = shmring::gst::RecordKind::Buffer;
  info.size = size;
  info.caps_id = s.caps_id;
  info.meta.clock_time = clock_time_of(self, buffer);

  // Upstream filled a slot from our pool: publish it where it is.
  if (shmring::gst::SlotLease *lease = shmring::gst::unpublished_lease_of(buffer, s.writer.get())) {
    shmring::gst::publish_lease(*lease, shmring::gst::header_of(info), &info.meta);
    Counters::add(s.counters.published);
    GST_LOG_OBJECT(self,
                   "published upstream's slot: %" G_GSIZE_FORMAT " bytes, pts %" GST_TIME_FORMAT,
                   size, GST_TIME_ARGS(GST_BUFFER_PTS(buffer)));
    return GST_FLOW_OK;
  }

  shmring::WritableSlot slot;
  GstFlowReturn ret = acquire_slot(self, slot);
  if (ret != GST_FLOW_OK)
    return ret;
  gst_buffer_extract(buffer, 0, slot.data, size);
  s.writer->publish(slot, shmring::gst::header_of(info), &info.meta);
  GST_LOG_OBJECT(self,
                 "published a copy in slot %u: %" G_GSIZE_FORMAT " bytes, pts %" GST_TIME_FORMAT,
                 slot.index, size, GST_TIME_ARGS(GST_BUFFER_PTS(buffer)));

  Counters::add(s.counters.published);
  Counters::add(s.counters.copied);
  Counters::add(s.counters.bytes_copied, size);
  return GST_FLOW_OK;
}

static gboolean gst_shmring_sink_event(GstBaseSink *base, GstEvent *event) {
  GstShmringSink *self = GST_SHMRING_SINK(base);
  SinkState &s = *self->state;
  if (!s.writer && GST_EVENT_TYPE(event) == GST_EVENT_EOS && !s.failed.load() &&
      !create_writer(self, kEosOnlySlotSize)) {
    gst_event_unref(event);
    return FALSE;
  }
  if (s.writer) {
    shmring::gst::RecordInfo info;
    std::string text;
    bool forward = false;
    switch (GST_EVENT_TYPE(event)) {
      case GST_EVENT_EOS:
        if (s.failed.load()) {
          GST_INFO_OBJECT(self,
                          "EOS after an error: not passed on (readers see the writer "
                          "stop without one)");
          break;
        }
        GST_INFO_OBJECT(self, "EOS: passing it to the readers");
        info.kind = shmring::gst::RecordKind::Eos;
        forward = true;
        break;
      case GST_EVENT_TAG: {
        GstTagList *tags = nullptr;
        gst_event_parse_tag(event, &tags);
        gchar *serialized = gst_tag_list_to_string(tags);
        text = serialized;
        g_free(serialized);
        info.kind = shmring::gst::RecordKind::Tags;
        info.flags = gst_tag_list_get_scope(tags);
        forward = true;
        break;
      }
      case GST_EVENT_CUSTOM_DOWNSTREAM:
        if (const GstStructure *structure = gst_event_get_structure(event)) {
          gchar *serialized = gst_structure_to_string(structure);
          text = serialized;
          g_free(serialized);
          info.kind = shmring::gst::RecordKind::Event;
          forward = true;
        }
        break;
      default: break;
    }
    info.size = text.size();
    if (forward && text.size() > s.writer->slot_size()) {
      GST_WARNING_OBJECT(self, "%s too large for a slot: not forwarded",
                         GST_EVENT_TYPE_NAME(event));
      forward = false;
    }
    if (forward) {
      info.caps_id = s.caps_id;
      GstFlowReturn ret = publish_record(self, info, text.data());
      if (ret == GST_FLOW_FLUSHING) {
        // Going down while waiting for a slot: the event goes no further.
        // Chained up, an EOS would make GstBaseSink preroll on a flushing
        // sink, which nothing ever wakes.
        GST_DEBUG_OBJECT(self, "flushing: %s dropped", GST_EVENT_TYPE_NAME(event));
        gst_event_unref(event);
        return FALSE;
      }
      if (ret != GST_FLOW_OK)
        GST_WARNING_OBJECT(self, "could not publish %s: %s", GST_EVENT_TYPE_NAME(event),
                           gst_flow_get_name(ret));
      if (ret == GST_FLOW_OK && GST_EVENT_TYPE(event) == GST_EVENT_EOS &&
          s.writer->readers().empty()) {
        // Nobody has attached yet: keep the ring a moment for a reader
        // waiting on its name (unlock() ends this wait at once).
        const guint64 grace = std::min<guint64>(
            settings_of(self).timeout,
            std::chrono::duration_cast<std::chrono::nanoseconds>(kEosGrace).count());
        s.writer->wait_for_reader(shmring::deadline_after_ns(grace));
      }
    }
  }
  return GST_BASE_SINK_CLASS(gst_shmring_sink_parent_class)->event(base, event);
}

// Offers upstream a pool of ring slots for raw video, so that it draws each
// frame straight into shared memory; and accepts video meta, so that padded
// layouts need no repacking (the layout travels with the frame).
static gboolean gst_shmring_sink_propose_allocation(GstBaseSink *base, GstQuery *query) {
  GstShmringSink *self = GST_SHMRING_SINK(base);
  SinkState &s = *self->state;
  GstCaps *caps = nullptr;
  gboolean need_pool = FALSE;
  gst_query_parse_allocation(query, &caps, &need_pool);
  gst_query_add_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr);

  GstVideoInfo info;
  std::shared_ptr<shmring::Writer> writer;
  {
    std::lock_guard<std::mutex> guard(s.writer_lock);
    writer = s.writer;
  }
  if (!writer || !need_pool || !shmring::gst::raw_video_info(caps, info) ||
      GST_VIDEO_INFO_SIZE(&info) > writer->slot_size())
    return TRUE;
  const Settings settings = settings_of(self);
  GstBufferPool *pool = shmring::gst::slot_pool_new(writer, GST_ELEMENT(self), settings.timeout,
                                                    settings.at_deadline());
  GstStructure *config = gst_buffer_pool_get_config(pool);
  // At most all slots but one lent at once: the ring keeps one to turn on.
  const guint max = writer->slot_count() - 1;
  gst_buffer_pool_config_set_params(config, caps, static_cast<guint>(GST_VIDEO_INFO_SIZE(&info)), 0,
                                    max);
  gst_buffer_pool_config_add_option(config, GST_BUFFER_POOL_OPTION_VIDEO_META);
  if (!gst_buffer_pool_set_config(pool, config)) {
    GST_WARNING_OBJECT(self, "slot pool refused its configuration");
    gst_object_unref(pool);
    return TRUE;
  }
  gst_query_add_allocation_pool(query, pool, static_cast<guint>(GST_VIDEO_INFO_SIZE(&info)), 0,
                                max);
  gst_object_unref(pool);
  GST_DEBUG_OBJECT(self, "offered a pool of ring slots for %" GST_PTR_FORMAT, caps);
  return TRUE;
}

static gboolean gst_shmring_sink_unlock(GstBaseSink *base) {
  SinkState &s = *GST_SHMRING_SINK(base)->state;
  std::lock_guard<std::mutex> guard(s.writer_lock);
  s.unlocked = true;
  if (s.writer)
    s.writer->interrupt();
  return TRUE;
}

static gboolean gst_shmring_sink_unlock_stop(GstBaseSink *base) {
  SinkState &s = *GST_SHMRING_SINK(base)->state;
  std::lock_guard<std::mutex> guard(s.writer_lock);
  s.unlocked = false;
  if (s.writer)
    s.writer->clear_interrupt();
  return TRUE;
}

// The pipeline hands the sink its clock: what kind it is is learnt here,
// once, not for every buffer.
static gboolean gst_shmring_sink_set_clock(GstElement *element, GstClock *clock) {
  GST_SHMRING_SINK(element)->state->clock.clock_changed(clock);
  return GST_ELEMENT_CLASS(gst_shmring_sink_parent_class)->set_clock(element, clock);
}

// Every error this sink posts passes here (GST_ELEMENT_ERROR included).
static gboolean gst_shmring_sink_post_message(GstElement *element, GstMessage *message) {
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR &&
      GST_MESSAGE_SRC(message) == GST_OBJECT(element))
    GST_SHMRING_SINK(element)->state->failed.store(true);
  return GST_ELEMENT_CLASS(gst_shmring_sink_parent_class)->post_message(element, message);
}

// GstBaseSink takes the pipeline's LATENCY event here; the next buffer
// publishes the new latency for readers.
static gboolean gst_shmring_sink_send_event(GstElement *element, GstEvent *event) {
  const bool latency = GST_EVENT_TYPE(event) == GST_EVENT_LATENCY;
  const gboolean handled =
      GST_ELEMENT_CLASS(gst_shmring_sink_parent_class)->send_event(element, event);
  if (latency)
    GST_SHMRING_SINK(element)->state->latency_changed.store(true, std::memory_order_release);
  return handled;
}

static void gst_shmring_sink_class_init(GstShmringSinkClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSinkClass *base_class = GST_BASE_SINK_CLASS(klass);

  gobject_class->set_property = gst_shmring_sink_set_property;
  gobject_class->get_property = gst_shmring_sink_get_property;
  gobject_class->finalize = gst_shmring_sink_finalize;
  element_class->set_clock = gst_shmring_sink_set_clock;
  element_class->send_event = gst_shmring_sink_send_event;
  element_class->post_message = gst_shmring_sink_post_message;

  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                           GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_RING,
      g_param_spec_string("ring", "Ring",
                          "Name of the ring (shared memory object /shmring.NAME); "
                          "letters, digits, '.', '_' and '-'",
                          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_SLOTS,
      g_param_spec_uint("slots", "Slots", "Number of buffers the ring holds", 2, 1024,
                        kDefaultSlots, rw));
  g_object_class_install_property(
      gobject_class, PROP_SLOT_SIZE,
      g_param_spec_uint64("slot-size", "Slot size",
                          "Largest buffer in bytes, a hard limit; 0 = follow the stream: "
                          "sized from the caps (a raw video frame, else 4 MiB), and grown "
                          "when bigger buffers or caps come (readers follow, losing nothing)",
                          0, G_GUINT64_CONSTANT(1) << 32, kDefaultSlotSize, rw));
  g_object_class_install_property(
      gobject_class, PROP_PERMS,
      g_param_spec_uint("perms", "Permissions",
                        "File mode of the shared memory object: 0600 = this user only; 0640 "
                        "with 'group' = its members read; 0644 = every user reads. Others "
                        "read-only: never give write access (0666). Must include 0600",
                        0, 0777, kDefaultPerms, rw));
  g_object_class_install_property(
      gobject_class, PROP_GROUP,
      g_param_spec_string("group", "Group",
                          "Group (name or gid) the ring belongs to, for sharing it with that "
                          "group's users through 'perms' (e.g. 0640); unset: this process's",
                          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_WAIT_FOR_READERS,
      g_param_spec_boolean("wait-for-readers", "Wait for readers",
                           "Hold the stream while no reader is attached", kDefaultWaitForReaders,
                           rw));
  g_object_class_install_property(
      gobject_class, PROP_SPIN_TIME,
      g_param_spec_uint64("spin-time", "Spin time",
                          "Nanoseconds to busy-poll for a free slot before sleeping: about 1 us "
                          "latency instead of a wake-up's 10-30 us, for up to a core's time "
                          "while it polls (0 = sleep at once)",
                          0, G_MAXUINT64, kDefaultSpinTime, rw));
  g_object_class_install_property(
      gobject_class, PROP_TIMEOUT,
      g_param_spec_uint64("timeout", "Timeout",
                          "Nanoseconds to wait for a slow reader with policy=block before "
                          "on-reader-timeout applies; when readers hold every slot that "
                          "long, the sink fails with an error",
                          1, G_MAXUINT64, kDefaultTimeout, rw));
  g_object_class_install_property(
      gobject_class, PROP_ON_READER_TIMEOUT,
      g_param_spec_enum("on-reader-timeout", "On reader timeout",
                        "What to do when a reader with policy=block has not read for "
                        "'timeout'",
                        GST_TYPE_SHMRING_READER_TIMEOUT, kDefaultOnReaderTimeout, rw));
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "published, copied, bytes-copied, readers, overruns, "
                         "readers-reclaimed, slot-size (of the ring now), ring-moves (times "
                         "the ring grew for bigger buffers)",
                         GST_TYPE_STRUCTURE,
                         static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_set_static_metadata(
      element_class, "Shared memory ring sink", "Sink",
      "Publishes buffers, caps, timestamps and events into a lock-free ring in shared "
      "memory for shmringsrc readers in other processes",
      "shmring developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);

  base_class->start = GST_DEBUG_FUNCPTR(gst_shmring_sink_start);
  base_class->stop = GST_DEBUG_FUNCPTR(gst_shmring_sink_stop);
  base_class->get_caps = GST_DEBUG_FUNCPTR(gst_shmring_sink_get_caps);
  base_class->set_caps = GST_DEBUG_FUNCPTR(gst_shmring_sink_set_caps);
  base_class->render = GST_DEBUG_FUNCPTR(gst_shmring_sink_render);
  base_class->event = GST_DEBUG_FUNCPTR(gst_shmring_sink_event);
  base_class->propose_allocation = GST_DEBUG_FUNCPTR(gst_shmring_sink_propose_allocation);
  base_class->unlock = GST_DEBUG_FUNCPTR(gst_shmring_sink_unlock);
  base_class->unlock_stop = GST_DEBUG_FUNCPTR(gst_shmring_sink_unlock_stop);

  GST_DEBUG_CATEGORY_INIT(gst_shmring_sink_debug, "shmringsink", 0,
                          "shmring shared memory ring sink");
  gst_type_mark_as_plugin_api(GST_TYPE_SHMRING_READER_TIMEOUT, GstPluginAPIFlags(0));
}
