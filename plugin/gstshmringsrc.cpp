/**
 * SECTION:element-shmringsrc
 * @title: shmringsrc
 * @see_also: shmringsink
 *
 * A live source that reads what a `shmringsink` in another process publishes
 * into a ring in POSIX shared memory: buffers without a copy (each wraps a
 * ring slot, read-only, released when downstream frees it), with the
 * writer's caps, timestamps (mapped to this pipeline's clock by default),
 * flags, video layout, tags and events, in order. It waits for the writer if
 * the ring does not exist yet, skips to a keyframe after joining or losing
 * frames, and reports the writer's death or departure as configured.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 shmringsrc ring=cam0 ! videoconvert ! autovideosink
 * ]| Display what a producer publishes on ring `cam0`.
 * |[
 * gst-launch-1.0 -e shmringsrc ring=cam0 policy=leaky ! videoconvert ! x264enc ! mp4mux ! filesink location=rec.mp4
 * ]| A recorder that never holds the producer back: it skips to the newest
 * frame when it falls behind, and counts what it lost.
 * |[
 * gst-launch-1.0 shmringsrc ring=cam0 on-writer-lost=wait ! queue ! fakesink
 * ]| A consumer that survives producer restarts: a new writer's caps, segment
 * and a DISCONT buffer follow.
 *
 * Since: 0.1
 */
#include "gstshmringsrc.h"

#include <gst/video/video.h>
#include <pwd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "buffer_record.h"
#include "clock_mapping.h"
#include "reference_timestamps.h"
#include "ring_text.h"
#include "ring_uri.h"
#include "shmring/error.hpp"
#include "shmring/name_watch.hpp"
#include "shmring/object_name.hpp"
#include "shmring/reader.hpp"
#include "shmring_enums.h"
#include "slot_memory.h"

GST_DEBUG_CATEGORY_STATIC(gst_shmring_src_debug);
#define GST_CAT_DEFAULT gst_shmring_src_debug

namespace {

constexpr GstShmringPolicy kDefaultPolicy = GST_SHMRING_POLICY_BLOCK;
constexpr GstShmringTimestampMode kDefaultTimestampMode = GST_SHMRING_TIMESTAMP_CLOCK;
constexpr GstShmringWriterLost kDefaultOnWriterLost = GST_SHMRING_WRITER_LOST_EOS;
constexpr guint64 kDefaultSpinTime = 0;
constexpr guint64 kDefaultTimeout = 0;
// A source without a writer sleeps until the ring's name changes in
// /dev/shm (NameWatch), but looks again at least this often.
constexpr auto kWriterLookAgain = std::chrono::seconds(1);
// A ring being created becomes ready microseconds after it appears (no
// inotify event marks that): look again this soon, then less and less often
// up to the longest (a creator that died there leaves it so until the next
// writer replaces it: not worth a core's polling).
constexpr auto kCreatingLookAgain = std::chrono::milliseconds(2);
constexpr auto kCreatingLookAgainLongest = std::chrono::milliseconds(100);
// Longest single wait inside create(); it loops, so this only bounds how
// stale a timeout check can be.
constexpr auto kReadSlice = std::chrono::milliseconds(500);
// A reader told that the ring moved finds the new one at once, unless it
// came so late that the writer has stopped meanwhile: after this long
// without a ring, that is the writer lost (on-writer-lost), not a wait.
constexpr auto kFollowGrace = std::chrono::seconds(1);
// How often a source compares the latency it would answer with the one it
// answered (a LATENCY message when they differ).
constexpr gint64 kLatencyCompareEveryUs = 10000;

enum {
  PROP_0,
  PROP_RING,
  PROP_POLICY,
  PROP_TIMESTAMP_MODE,
  PROP_ON_WRITER_LOST,
  PROP_TIMEOUT,
  PROP_SPIN_TIME,
  PROP_TRUSTED_OWNER,
  PROP_STATS,
};

struct Settings {
  std::string ring;
  GstShmringPolicy policy = kDefaultPolicy;
  GstShmringTimestampMode timestamp_mode = kDefaultTimestampMode;
  GstShmringWriterLost on_writer_lost = kDefaultOnWriterLost;
  guint64 timeout = kDefaultTimeout;
  guint64 spin_time = kDefaultSpinTime;  // ns
  // A user name or uid whose rings are trusted; empty: this user or root.
  std::string trusted_owner;
};

struct Counters {
  guint64 received = 0;
  guint64 dropped = 0;  // read but not pushed (a delta unit skipped, a layout that does not fit)
  guint64 lost = 0;     // frames overwritten before this reader got to them
  guint64 copied = 0;   // copies: downstream held too many slots, or needed packed video
};

// Skip: this record cannot be pushed (its caps were replaced since).
enum class Outcome { Ok, Flushing, Error, WriterGone, Skip };

}  // namespace

// C++ state behind the GObject. Settings and counters: object lock. `link`
// and `unlocked`: `lock`, which unlock() takes to interrupt waits; `cond`
// wakes the wait for a writer. The streaming thread never holds a lock
// across a wait.
struct SrcState {
  Settings settings;
  // `timestamp-mode` mirrored for the streaming thread, which reads it for
  // every buffer: without a lock or a copy of Settings' strings.
  std::atomic<int> timestamp_mode{kDefaultTimestampMode};
  shmring::gst::ClockMapping clock;  // learnt in set_clock
  Counters counters;
  std::mutex lock;
  GMutex wait_mutex;
  bool unlocked = false;  // guarded by wait_mutex
  // Wakes the wait for a writer when the ring appears; unlock() interrupts
  // it. Set in start(), dropped in stop(); guarded by wait_mutex.
  std::shared_ptr<shmring::NameWatch> watch;
  std::shared_ptr<shmring::gst::ReaderLink> link;  // guarded by lock
  // Streaming thread only:
  guint64 caps_id = 0;
  GstVideoInfo video_info;
  bool caps_are_video = false;
  bool downstream_video_meta = false;  // from the allocation query
  // A new writer took over the ring: the next buffer starts a new segment
  // and is marked DISCONT.
  bool writer_changed = false;
  // Delta units cannot be decoded without the keyframe before them: after
  // joining, after a loss and after a writer change, skip to a keyframe.
  bool waiting_for_keyframe = true;
  // Frames were lost, skipped or dropped since the last buffer pushed: the
  // next one is marked DISCONT.
  bool discont_pending = false;
  // Streaming thread only: the latest arrival stamp (timestamp-mode=arrival),
  // which the next may equal but never precede.
  GstClockTime last_arrival = GST_CLOCK_TIME_NONE;
  GstClockTime last_duration = GST_CLOCK_TIME_NONE;        // guarded by the object lock
  GstClockTime caps_frame_duration = GST_CLOCK_TIME_NONE;  // from the framerate; object lock
  // The latency last answered to a LATENCY query (object lock): when what we
  // would answer changes (first frame, new writer latency), we post a
  // LATENCY message so that the pipeline asks again.
  GstClockTime answered_min_latency = GST_CLOCK_TIME_NONE;
  // Streaming thread only: when that was last compared (g_get_monotonic_time).
  gint64 latency_compared_us = 0;
  // Streaming thread only: basesrc has pushed the segment (a buffer went
  // out since start or since a new segment). Before that, events from the
  // ring are queued with send_event so they follow the segment.
  bool segment_sent = false;
  // The writer was lost: attaching again posts shmring-writer-back.
  bool writer_lost = false;
  // The writer moved the ring (RecordKind::Moved): the new one is due.
  bool following_move = false;
  bool moved_ring_gone = false;  // ... and it was gone: handle_writer_lost says so
  // The first record of a ring we moved to is not yet read. Rings carry on
  // their predecessor's numbering, the first record taking the Moved
  // record's number: anything between that and what we read first is lost
  // to us (published before we came, or in rings we skipped).
  bool first_of_moved_ring = false;
  guint64 sequence_after_move = 0;
  // Names this source to writers across the rings it reads (ReaderOptions::
  // identity): a writer moving to a bigger ring waits for it by this.
  std::uint64_t identity = 0;
  // `trusted-owner` as a uid, resolved once in start() (the properties
  // cannot change after READY).
  std::optional<uid_t> trusted_owner;
};

struct _GstShmringSrc {
  GstPushSrc parent;
  SrcState *state;
};

static void gst_shmring_src_uri_handler_init(gpointer g_iface, gpointer iface_data) {
  shmring::gst::init_ring_uri_handler(g_iface, iface_data, GST_URI_SRC);
}

G_DEFINE_TYPE_WITH_CODE(GstShmringSrc, gst_shmring_src, GST_TYPE_PUSH_SRC,
                        G_IMPLEMENT_INTERFACE(GST_TYPE_URI_HANDLER,
                                              gst_shmring_src_uri_handler_init));
GST_ELEMENT_REGISTER_DEFINE(shmringsrc, "shmringsrc", GST_RANK_NONE, GST_TYPE_SHMRING_SRC);

static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

namespace {

Settings settings_of(GstShmringSrc *self) {
  GST_OBJECT_LOCK(self);
  Settings copy = self->state->settings;
  GST_OBJECT_UNLOCK(self);
  return copy;
}

// Adds to one of the counters that `stats` reports.
void count(GstShmringSrc *self, guint64 Counters::*counter, guint64 amount = 1) {
  GST_OBJECT_LOCK(self);
  self->state->counters.*counter += amount;
  GST_OBJECT_UNLOCK(self);
}

std::shared_ptr<shmring::gst::ReaderLink> current_link(GstShmringSrc *self) {
  std::lock_guard<std::mutex> guard(self->state->lock);
  return self->state->link;
}

bool is_unlocked(SrcState &s) {
  g_mutex_lock(&s.wait_mutex);
  bool unlocked = s.unlocked;
  g_mutex_unlock(&s.wait_mutex);
  return unlocked;
}

void drop_reader(GstShmringSrc *self) {
  SrcState &s = *self->state;
  std::shared_ptr<shmring::gst::ReaderLink> link;
  {
    std::lock_guard<std::mutex> guard(s.lock);
    link = std::move(s.link);
  }
  // Buffers still downstream keep the reader (and its mapping) alive; it
  // just stops counting as a reader the writer waits for.
  if (link)
    link->reader->detach();
}

// Makes `reader` the source's and returns the link it replaces. unlock()
// interrupts the reader it finds: one installed after that looks at the
// flag itself, so that no unlock is missed whichever came first.
std::shared_ptr<shmring::gst::ReaderLink> install_link(GstShmringSrc *self,
                                                       std::shared_ptr<shmring::Reader> reader) {
  SrcState &s = *self->state;
  auto link = std::make_shared<shmring::gst::ReaderLink>();
  link->reader = std::move(reader);
  std::shared_ptr<shmring::gst::ReaderLink> old;
  {
    std::lock_guard<std::mutex> guard(s.lock);
    old = s.link;
    s.link = link;
  }
  if (is_unlocked(s))
    link->reader->interrupt();
  return old;
}

void post_open_error(GstShmringSrc *self, const shmring::Error &error) {
  switch (error.code()) {
    case shmring::ErrorCode::InvalidName:
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", error.what()), (nullptr));
      break;
    case shmring::ErrorCode::PermissionDenied:
      GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("%s", error.what()),
                        ("The ring belongs to another user: its writer sets 'perms' for who may "
                         "open it, and 'trusted-owner' names whose rings this source reads"));
      break;
    case shmring::ErrorCode::HandlesFull:
      GST_ELEMENT_ERROR(self, RESOURCE, BUSY, ("%s", error.what()), (nullptr));
      break;
    default: GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("%s", error.what()), (nullptr)); break;
  }
}

// The uid `trusted-owner` names (a user name or digits); nullopt when
// unset. False when it names nobody.
bool trusted_uid(const std::string &owner, std::optional<uid_t> &out) {
  out.reset();
  if (owner.empty())
    return true;
  if (owner.find_first_not_of("0123456789") == std::string::npos && owner.size() < 10) {
    out = static_cast<uid_t>(std::stoul(owner));
    return true;
  }
  struct passwd entry;
  struct passwd *found = nullptr;
  char buffer[1024];
  if (getpwnam_r(owner.c_str(), &entry, buffer, sizeof buffer, &found) != 0 || !found)
    return false;
  out = found->pw_uid;
  return true;
}

// One attempt to open the ring. Absent or half-created rings (`creating`
// set), rings whose writer is dead (stale) and rings already closed by a
// writer that is about to remove them, are "not yet": the result is an empty
// pointer with Outcome::Ok. Anything else wrong with the ring is an element
// error.
const char *options_policy_name(GstShmringPolicy policy) {
  return policy == GST_SHMRING_POLICY_LEAKY ? "leaky" : "block";
}

Outcome try_open(GstShmringSrc *self, const Settings &settings,
                 std::shared_ptr<shmring::Reader> &out, std::string *creating = nullptr) {
  try {
    shmring::ReaderOptions options;
    options.name = settings.ring;
    options.leaky = settings.policy == GST_SHMRING_POLICY_LEAKY;
    options.user = shmring::gst::kRecordSchema;
    options.trusted_owner = self->state->trusted_owner;
    options.spin_time = std::chrono::nanoseconds(std::min<guint64>(settings.spin_time, G_MAXINT64));
    options.identity = self->state->identity;
    out = shmring::Reader::open(options);
  } catch (const shmring::Error &error) {
    if (creating) {
      creating->clear();
      if (error.code() == shmring::ErrorCode::NotReady)
        *creating = error.what();
    }
    if (error.code() == shmring::ErrorCode::NotFound ||
        error.code() == shmring::ErrorCode::NotReady) {
      GST_LOG_OBJECT(self, "not yet: %s", error.what());
      return Outcome::Ok;
    }
    post_open_error(self, error);
    return Outcome::Error;
  }
  if (out->joined_live_writer() && out->read_only() && settings.policy == GST_SHMRING_POLICY_BLOCK)
    GST_ELEMENT_WARNING(
        self, RESOURCE, OPEN_READ,
        ("Ring '%s' is shared read-only with this user: reading it leaky", settings.ring.c_str()),
        ("policy=block needs write access to the ring (its writer's perms)"));
  if (!out->joined_live_writer()) {
    GST_DEBUG_OBJECT(self, "ring '%s' has no live writer (pid %d), or it stopped before we joined",
                     settings.ring.c_str(), out->writer_pid());
    out.reset();
    return Outcome::Ok;
  }
  GST_INFO_OBJECT(self, "attached to ring '%s' (writer pid %d, %s)%s", settings.ring.c_str(),
                  out->writer_pid(), options_policy_name(settings.policy),
                  out->read_only() ? ", read-only" : "");
  return Outcome::Ok;
}

// shmring-writer-lost (with why and what the source does about it) and
// shmring-writer-back element messages.
void post_writer_message(GstShmringSrc *self, const char *name, gint pid, const char *reason,
                         const char *action = nullptr) {
  GstStructure *structure = gst_structure_new(
      name, "ring", G_TYPE_STRING, settings_of(self).ring.c_str(), "pid", G_TYPE_INT, pid, nullptr);
  if (reason)
    gst_structure_set(structure, "reason", G_TYPE_STRING, reason, "action", G_TYPE_STRING, action,
                      nullptr);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), structure));
}

// Waits until a live writer's ring can be opened, unlock() is called, or the
// timeout property runs out.
Outcome attach_to_writer(GstShmringSrc *self) {
  SrcState &s = *self->state;
  const Settings settings = settings_of(self);
  const gint64 start = g_get_monotonic_time();
  bool announced = false;
  int creating_looks = 0;  // in a row: each looks again later, up to the longest
  for (;;) {
    if (is_unlocked(s))
      return Outcome::Flushing;
    std::shared_ptr<shmring::Reader> reader;
    std::string creating;  // why the ring that is there is not ready yet
    if (try_open(self, settings, reader, &creating) == Outcome::Error)
      return Outcome::Error;
    if (reader) {
      s.following_move = false;
      if (s.writer_lost) {
        post_writer_message(self, "shmring-writer-back", reader->writer_pid(), nullptr);
        s.writer_lost = false;
      }
      install_link(self, std::move(reader));
      return Outcome::Ok;
    }
    if (!announced) {
      GST_INFO_OBJECT(self, "waiting for a writer on ring '%s'", settings.ring.c_str());
      announced = true;
    }
    const gint64 now = g_get_monotonic_time();
    if (s.following_move &&
        std::chrono::microseconds(now - start) >= std::chrono::microseconds(kFollowGrace)) {
      GST_INFO_OBJECT(self, "the moved ring '%s' is gone: its writer stopped meanwhile",
                      settings.ring.c_str());
      s.following_move = false;
      s.moved_ring_gone = true;
      return Outcome::WriterGone;
    }
    if (settings.timeout > 0 && guint64(now - start) * GST_USECOND >= settings.timeout) {
      if (!creating.empty())
        GST_ELEMENT_ERROR(
            self, RESOURCE, NOT_FOUND,
            ("Ring '%s' was not ready within %" GST_TIME_FORMAT ": %s", settings.ring.c_str(),
             GST_TIME_ARGS(settings.timeout), creating.c_str()),
            ("Its writer did not finish creating it; if it died, the next shmringsink ring=%s "
             "replaces it",
             settings.ring.c_str()));
      else
        GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                          ("No writer on ring '%s' within %" GST_TIME_FORMAT, settings.ring.c_str(),
                           GST_TIME_ARGS(settings.timeout)),
                          ("Start a pipeline with shmringsink ring=%s", settings.ring.c_str()));
      return Outcome::Error;
    }
    // Sleep until the ring's name changes, the timeout property runs out,
    // or unlock(); never for long, to look again whatever happens.
    creating_looks = creating.empty() ? 0 : creating_looks + 1;
    shmring::Deadline wake = shmring::deadline_after(
        !creating.empty()
            ? std::min<std::chrono::milliseconds>(
                  kCreatingLookAgain * (1 << std::min(creating_looks - 1, 6)),
                  kCreatingLookAgainLongest)
            : (s.following_move
                   ? std::chrono::duration_cast<std::chrono::milliseconds>(kFollowGrace) / 10
                   : kWriterLookAgain));
    if (settings.timeout > 0)
      wake = std::min(
          wake, shmring::deadline_after_ns(settings.timeout - guint64(now - start) * GST_USECOND));
    std::shared_ptr<shmring::NameWatch> watch;
    g_mutex_lock(&s.wait_mutex);
    watch = s.watch;
    g_mutex_unlock(&s.wait_mutex);
    const auto waited_from = shmring::Clock::now();
    // A ring being created is looked at again on the clock alone: each
    // look (our open and close of it) is an event of its name, and
    // waking on those kept the source at 100% of a CPU.
    if (watch && !creating.empty())
      watch->sleep(wake);
    else if (watch)
      watch->wait(wake);
    GST_LOG_OBJECT(self, "waited %" G_GINT64_FORMAT " us for ring '%s' to appear",
                   static_cast<gint64>(std::chrono::duration_cast<std::chrono::microseconds>(
                                           shmring::Clock::now() - waited_from)
                                           .count()),
                   settings.ring.c_str());
  }
}

// Pushes new caps downstream when a record names caps it has not seen.
Outcome update_caps(GstShmringSrc *self, shmring::Reader &reader, guint64 caps_id) {
  SrcState &s = *self->state;
  // Caps id 0: a stream without caps (bytes); downstream gets none either.
  if (caps_id == s.caps_id || caps_id == 0)
    return Outcome::Ok;
  std::optional<std::string> text = reader.caps(caps_id);
  if (!text) {
    // The writer has reused its entry: this reader is further behind than
    // the caps table reaches (the writer waited for it as long as its
    // timeout allows). The record is dropped, not the stream.
    GST_WARNING_OBJECT(self, "caps id %" G_GUINT64_FORMAT " is no longer in the ring", caps_id);
    return Outcome::Skip;
  }
  GstCaps *caps = shmring::gst::caps_from_ring_text(*text);
  if (!caps) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT,
                      ("Ring carries unusable caps (id %" G_GUINT64_FORMAT ")", caps_id),
                      ("caps text: %s", text->c_str()));
    return Outcome::Error;
  }
  GST_INFO_OBJECT(self, "caps id %" G_GUINT64_FORMAT ": %" GST_PTR_FORMAT, caps_id, caps);
  s.caps_are_video = shmring::gst::raw_video_info(caps, s.video_info);
  GST_OBJECT_LOCK(self);
  s.caps_frame_duration =
      s.caps_are_video && GST_VIDEO_INFO_FPS_N(&s.video_info) > 0
          ? gst_util_uint64_scale_int(GST_SECOND, GST_VIDEO_INFO_FPS_D(&s.video_info),
                                      GST_VIDEO_INFO_FPS_N(&s.video_info))
          : GST_CLOCK_TIME_NONE;
  GST_OBJECT_UNLOCK(self);
  const gboolean accepted = gst_base_src_set_caps(GST_BASE_SRC(self), caps);
  gst_caps_unref(caps);
  // Caps arrive here rather than in negotiate(): ask downstream about
  // allocation now (whether it reads video meta) for these caps.
  if (!accepted || !gst_base_src_negotiate(GST_BASE_SRC(self))) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Downstream refused the ring's caps"),
                      ("caps: %s", text->c_str()));
    return Outcome::Error;
  }
  s.caps_id = caps_id;
  return Outcome::Ok;
}

GstClockTime running_time_now(GstShmringSrc *self) {
  // The clock and the base time in one take of the object lock that guards
  // both, as GstBaseSrc's do-timestamp does: gst_element_get_clock() and
  // gst_element_get_base_time() took it twice per buffer, 6% of the
  // source's time at 64 B. The clock is read outside the lock (it is
  // another object's code), on our reference.
  GST_OBJECT_LOCK(self);
  GstClock *clock = GST_ELEMENT_CLOCK(self);
  if (clock)
    gst_object_ref(clock);
  const GstClockTime base = GST_ELEMENT_CAST(self)->base_time;
  GST_OBJECT_UNLOCK(self);
  if (!clock)
    return GST_CLOCK_TIME_NONE;
  const GstClockTime now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  return now > base ? now - base : 0;
}

void stamp(GstShmringSrc *self, GstShmringTimestampMode mode, const shmring::gst::RecordInfo &info,
           GstBuffer *buffer) {
  GST_BUFFER_DURATION(buffer) = info.meta.duration;
  if (mode == GST_SHMRING_TIMESTAMP_ORIGINAL) {
    GST_BUFFER_PTS(buffer) = info.meta.pts;
    GST_BUFFER_DTS(buffer) = info.meta.dts;
    return;
  }
  if (mode == GST_SHMRING_TIMESTAMP_ARRIVAL) {
    // When the frame arrived in the ring, on our running time: not when we
    // got round to reading it, which a synchronising sink downstream delays.
    const GstClockTime arrived =
        self->state->clock.from_monotonic(GST_ELEMENT(self), info.publish_time);
    const GstClockTime base = gst_element_get_base_time(GST_ELEMENT(self));
    GstClockTime pts = !GST_CLOCK_TIME_IS_VALID(arrived) ? running_time_now(self)
                       : arrived > base                  ? arrived - base
                                                         : 0;
    // Our running time stood still while we were paused: a frame that
    // arrived then (read on resume) arrived at the running time we paused
    // at, not before it, where the base time set on resume puts it. The
    // latest stamp stands for that instant: stamps never go back.
    GstClockTime &last = self->state->last_arrival;
    if (GST_CLOCK_TIME_IS_VALID(pts) && GST_CLOCK_TIME_IS_VALID(last) && pts < last)
      pts = last;
    last = pts;
    GST_BUFFER_PTS(buffer) = pts;
    GST_BUFFER_DTS(buffer) = GST_CLOCK_TIME_NONE;
    return;
  }
  const GstClockTime ours =
      self->state->clock.from_monotonic(GST_ELEMENT(self), info.meta.clock_time);
  if (GST_CLOCK_TIME_IS_VALID(ours)) {
    // The writer's instant (CLOCK_MONOTONIC) on our clock, minus our base
    // time: our running time for the same instant, whatever clock each
    // pipeline runs on.
    const GstClockTime base = gst_element_get_base_time(GST_ELEMENT(self));
    const GstClockTime pts = ours > base ? ours - base : 0;
    GST_BUFFER_PTS(buffer) = pts;
    if (info.meta.dts != shmring::kNoTime && info.meta.pts != shmring::kNoTime) {
      // DTS keeps its distance to PTS.
      const GstClockTimeDiff shift = GstClockTimeDiff(pts) - GstClockTimeDiff(info.meta.pts);
      const GstClockTimeDiff dts = GstClockTimeDiff(info.meta.dts) + shift;
      GST_BUFFER_DTS(buffer) = dts > 0 ? GstClockTime(dts) : 0;
    } else {
      GST_BUFFER_DTS(buffer) = GST_CLOCK_TIME_NONE;
    }
    return;
  }
  // Clock mode for a buffer the writer could not place in time.
  GST_BUFFER_PTS(buffer) = running_time_now(self);
  GST_BUFFER_DTS(buffer) = GST_CLOCK_TIME_NONE;
}

// Wraps the frame's slot, or copies it when the readers of the ring already
// hold half of its slots between them (this one's hold included): no
// combination of readers and downstream queues can then starve the writer,
// which keeps the other half to turn on.
GstBuffer *buffer_for_frame(GstShmringSrc *self, const shmring::gst::ReaderLink &link,
                            const shmring::Frame &frame, const shmring::gst::RecordInfo &info,
                            shmring::gst::SlotHold &hold) {
  GstBuffer *buffer = gst_buffer_new();
  if (info.size == 0)
    return buffer;  // the hold goes with the caller's scope
  // A read-only reader (another user's) copies always: its holds are
  // invisible to other readers' count, so it keeps none for long.
  const guint limit = MAX(1u, link.reader->slot_count() / 2);
  // Alone in the ring, its holds are the ring's: the slots_out check says
  // it all, without a look at every slot's line (10% of the source's time
  // at 64 B).
  if (link.reader->read_only() || link.slots_out.load() >= limit ||
      (!link.reader->sole_reader() && link.reader->slots_held() > limit)) {
    gst_buffer_append_memory(buffer, hold.copy());
    count(self, &Counters::copied);
    if (link.reader->read_only() && !link.reader->intact(frame)) {
      gst_buffer_unref(buffer);  // overwritten while we copied it
      return nullptr;
    }
  } else {
    gst_buffer_append_memory(buffer, hold.wrap());
  }
  return buffer;
}

// Sends an event from the ring downstream in its place among the buffers.
// Before the first buffer basesrc has not pushed the segment yet: the event
// is queued with send_event, and basesrc pushes it after the segment.
void push_serialized_event(GstShmringSrc *self, GstEvent *event) {
  if (self->state->segment_sent)
    gst_pad_push_event(GST_BASE_SRC_PAD(self), event);
  else
    gst_element_send_event(GST_ELEMENT(self), event);
}

// A custom downstream event or a tag list, as the writer serialized it.
void push_ring_event(GstShmringSrc *self, const shmring::Frame &frame,
                     const shmring::gst::RecordInfo &info) {
  GstEvent *event = shmring::gst::event_from_ring_record(info, frame.data, info.size);
  if (!event) {
    GST_WARNING_OBJECT(self, "dropping an unparsable %s",
                       info.kind == shmring::gst::RecordKind::Tags ? "tag list" : "custom event");
    return;
  }
  push_serialized_event(self, event);
}

// Counts frames lost to the writer and tells the application, as sinks do
// for late buffers, with a QoS message (buffers processed and dropped).
void report_loss(GstShmringSrc *self, guint64 lost) {
  GST_OBJECT_LOCK(self);
  self->state->counters.lost += lost;
  const guint64 received = self->state->counters.received;
  const guint64 lost_total = self->state->counters.lost;
  GST_OBJECT_UNLOCK(self);
  GstMessage *message =
      gst_message_new_qos(GST_OBJECT(self), TRUE, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE,
                          GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE);
  gst_message_set_qos_stats(message, GST_FORMAT_BUFFERS, received, lost_total);
  gst_element_post_message(GST_ELEMENT(self), message);
  GST_INFO_OBJECT(self,
                  "lost %" G_GUINT64_FORMAT " frames to the writer (%" G_GUINT64_FORMAT " in all)",
                  lost, lost_total);
}

GstFlowReturn handle_writer_lost(GstShmringSrc *self, shmring::ReadStatus status,
                                 GstShmringWriterLost policy) {
  const Settings settings = settings_of(self);
  // A reader that followed a move to a ring already gone was behind by more
  // than the writer waits for: whether the stream ended with EOS meanwhile
  // it cannot know, only that it lost the rest.
  const bool moved_away = std::exchange(self->state->moved_ring_gone, false);
  const char *how = moved_away                                  ? "moved the stream on"
                    : status == shmring::ReadStatus::WriterDead ? "died"
                                                                : "stopped";
  GST_INFO_OBJECT(self, "writer of ring '%s' %s: %s", settings.ring.c_str(), how,
                  policy == GST_SHMRING_WRITER_LOST_WAIT  ? "waiting for a new one"
                  : policy == GST_SHMRING_WRITER_LOST_EOS ? "ending the stream"
                                                          : "an error");
  static const char *const kActions[] = {"error", "eos", "wait"};
  if (auto link = current_link(self))
    post_writer_message(self, "shmring-writer-lost", link->reader->writer_pid(), how,
                        kActions[policy]);
  self->state->writer_lost = true;
  switch (policy) {
    case GST_SHMRING_WRITER_LOST_ERROR:
      if (moved_away)
        GST_ELEMENT_ERROR(self, RESOURCE, READ,
                          ("The writer of ring '%s' moved the stream to bigger slots, and that "
                           "ring was gone before this reader followed: the rest of the stream "
                           "is lost to it",
                           settings.ring.c_str()),
                          ("It was behind by more than the writer waits for (the sink's "
                           "timeout); set on-writer-lost=eos or wait to go on without an error"));
      else
        GST_ELEMENT_ERROR(
            self, RESOURCE, READ,
            ("The writer of ring '%s' %s without sending EOS", settings.ring.c_str(), how),
            ("Set on-writer-lost=eos or wait to handle this without an error"));
      return GST_FLOW_ERROR;
    case GST_SHMRING_WRITER_LOST_EOS:
      GST_INFO_OBJECT(self, "writer %s: ending the stream", how);
      return GST_FLOW_EOS;
    case GST_SHMRING_WRITER_LOST_WAIT:
      GST_INFO_OBJECT(self, "writer %s: waiting for a new one", how);
      drop_reader(self);
      self->state->caps_id = 0;  // a new writer's caps are pushed afresh
      self->state->writer_changed = true;
      self->state->segment_sent = false;
      self->state->waiting_for_keyframe = true;
      return GST_FLOW_OK;
  }
  return GST_FLOW_ERROR;
}

// The source's latency. A frame reaches the ring `writer latency` after its
// timestamp (the writer's sink syncs to it) and is complete one frame
// duration after it starts; the ring can hold `slots` frames before the
// writer must wait or drop, which bounds how long downstream may keep us.
// In arrival mode a frame is stamped when it reached the ring, complete:
// no latency of its own.
void latency_of(GstShmringSrc *self, shmring::Reader *reader, GstClockTime &min,
                GstClockTime &max) {
  SrcState &s = *self->state;
  GstClockTime frame = 0;
  GST_OBJECT_LOCK(self);
  const bool arrival = s.settings.timestamp_mode == GST_SHMRING_TIMESTAMP_ARRIVAL;
  if (GST_CLOCK_TIME_IS_VALID(s.caps_frame_duration))
    frame = s.caps_frame_duration;
  else if (GST_CLOCK_TIME_IS_VALID(s.last_duration))
    frame = s.last_duration;
  GST_OBJECT_UNLOCK(self);
  GstClockTime writer = reader && !arrival ? reader->writer_latency() : shmring::kNoTime;
  if (!GST_CLOCK_TIME_IS_VALID(writer))
    writer = 0;
  const GstClockTime slots = reader ? reader->slot_count() : 1;
  min = arrival ? 0 : writer + frame;
  max = writer + frame * slots;
}

// Posts a LATENCY message when what we would answer now differs from what we
// last answered, so that the pipeline recomputes its latency.
void ask_again_if_latency_changed(GstShmringSrc *self, shmring::Reader &reader) {
  GstClockTime min = 0, max = 0;
  latency_of(self, &reader, min, max);
  GST_OBJECT_LOCK(self);
  const GstClockTime answered = self->state->answered_min_latency;
  const bool changed = GST_CLOCK_TIME_IS_VALID(answered) && answered != min;
  if (changed)
    self->state->answered_min_latency = GST_CLOCK_TIME_NONE;  // once until asked again
  GST_OBJECT_UNLOCK(self);
  if (changed) {
    GST_INFO_OBJECT(self, "latency is now %" GST_TIME_FORMAT ", was %" GST_TIME_FORMAT,
                    GST_TIME_ARGS(min), GST_TIME_ARGS(answered));
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  }
}

}  // namespace

static void gst_shmring_src_init(GstShmringSrc *self) {
  self->state = new SrcState();
  g_mutex_init(&self->state->wait_mutex);
  gst_base_src_set_live(GST_BASE_SRC(self), TRUE);
  gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
}

static void gst_shmring_src_finalize(GObject *object) {
  GstShmringSrc *self = GST_SHMRING_SRC(object);
  g_mutex_clear(&self->state->wait_mutex);
  delete self->state;
  G_OBJECT_CLASS(gst_shmring_src_parent_class)->finalize(object);
}

static GstStructure *build_stats(GstShmringSrc *self) {
  GST_OBJECT_LOCK(self);
  const Counters counters = self->state->counters;
  GST_OBJECT_UNLOCK(self);
  std::shared_ptr<shmring::gst::ReaderLink> link = current_link(self);
  return gst_structure_new(
      "application/x-shmringsrc-stats", "received", G_TYPE_UINT64, counters.received, "dropped",
      G_TYPE_UINT64, counters.dropped, "lost", G_TYPE_UINT64, counters.lost, "copied",
      G_TYPE_UINT64, counters.copied, "slots-held", G_TYPE_UINT, link ? link->slots_out.load() : 0u,
      "writer-pid", G_TYPE_INT, link ? int(link->reader->writer_pid()) : 0, nullptr);
}

static void gst_shmring_src_set_property(GObject *object, guint prop_id, const GValue *value,
                                         GParamSpec *pspec) {
  GstShmringSrc *self = GST_SHMRING_SRC(object);
  Settings &settings = self->state->settings;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_RING: {
      const gchar *ring = g_value_get_string(value);
      settings.ring = ring ? ring : "";
      break;
    }
    case PROP_POLICY:
      settings.policy = static_cast<GstShmringPolicy>(g_value_get_enum(value));
      break;
    case PROP_TIMESTAMP_MODE:
      settings.timestamp_mode = static_cast<GstShmringTimestampMode>(g_value_get_enum(value));
      break;
    case PROP_ON_WRITER_LOST:
      settings.on_writer_lost = static_cast<GstShmringWriterLost>(g_value_get_enum(value));
      break;
    case PROP_TIMEOUT: settings.timeout = g_value_get_uint64(value); break;
    case PROP_SPIN_TIME: settings.spin_time = g_value_get_uint64(value); break;
    case PROP_TRUSTED_OWNER: {
      const gchar *owner = g_value_get_string(value);
      settings.trusted_owner = owner ? owner : "";
      break;
    }
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
  self->state->timestamp_mode.store(settings.timestamp_mode, std::memory_order_relaxed);
  GST_OBJECT_UNLOCK(self);
}

static void gst_shmring_src_get_property(GObject *object, guint prop_id, GValue *value,
                                         GParamSpec *pspec) {
  GstShmringSrc *self = GST_SHMRING_SRC(object);
  if (prop_id == PROP_STATS) {
    g_value_take_boxed(value, build_stats(self));
    return;
  }
  const Settings settings = settings_of(self);
  switch (prop_id) {
    case PROP_RING:
      g_value_set_string(value, settings.ring.empty() ? nullptr : settings.ring.c_str());
      break;
    case PROP_POLICY: g_value_set_enum(value, settings.policy); break;
    case PROP_TIMESTAMP_MODE: g_value_set_enum(value, settings.timestamp_mode); break;
    case PROP_ON_WRITER_LOST: g_value_set_enum(value, settings.on_writer_lost); break;
    case PROP_TIMEOUT: g_value_set_uint64(value, settings.timeout); break;
    case PROP_SPIN_TIME: g_value_set_uint64(value, settings.spin_time); break;
    case PROP_TRUSTED_OWNER:
      g_value_set_string(value,
                         settings.trusted_owner.empty() ? nullptr : settings.trusted_owner.c_str());
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
}

static gboolean gst_shmring_src_start(GstBaseSrc *base) {
  GstShmringSrc *self = GST_SHMRING_SRC(base);
  SrcState &s = *self->state;
  const Settings settings = settings_of(self);
  if (!trusted_uid(settings.trusted_owner, s.trusted_owner)) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("No user '%s' (trusted-owner)", settings.trusted_owner.c_str()),
                      ("Give a user name known here, or a uid"));
    return FALSE;
  }
  const std::string problem = shmring::object_name_problem(settings.ring);
  if (!problem.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("Invalid ring name '%s': %s", settings.ring.c_str(), problem.c_str()),
                      ("Set the 'ring' property to the name given to shmringsink"));
    return FALSE;
  }
  GST_OBJECT_LOCK(self);
  s.counters = Counters{};
  GST_OBJECT_UNLOCK(self);
  s.caps_id = 0;
  s.caps_are_video = false;
  s.downstream_video_meta = false;
  s.writer_changed = false;
  s.waiting_for_keyframe = true;
  s.discont_pending = false;
  s.last_arrival = GST_CLOCK_TIME_NONE;
  s.last_duration = GST_CLOCK_TIME_NONE;
  s.answered_min_latency = GST_CLOCK_TIME_NONE;
  s.latency_compared_us = 0;
  s.caps_frame_duration = GST_CLOCK_TIME_NONE;
  s.segment_sent = false;
  s.writer_lost = false;
  s.following_move = false;
  s.first_of_moved_ring = false;
  // Random, once per start: kept across the rings this source reads.
  s.identity = (guint64(g_random_int()) << 32 | g_random_int()) | 1;
  {
    auto watch = std::make_shared<shmring::NameWatch>(settings.ring);
    g_mutex_lock(&s.wait_mutex);
    s.watch = std::move(watch);
    if (s.unlocked)
      s.watch->interrupt();
    g_mutex_unlock(&s.wait_mutex);
  }
  // Report a ring that exists but is unusable now, not at the first buffer.
  // A ring that is absent is fine: create() waits for its writer.
  std::shared_ptr<shmring::Reader> reader;
  if (try_open(self, settings, reader) == Outcome::Error)
    return FALSE;
  if (reader)
    install_link(self, std::move(reader));
  return TRUE;
}

static gboolean gst_shmring_src_stop(GstBaseSrc *base) {
  SrcState &s = *GST_SHMRING_SRC(base)->state;
  drop_reader(GST_SHMRING_SRC(base));
  g_mutex_lock(&s.wait_mutex);
  s.watch.reset();
  g_mutex_unlock(&s.wait_mutex);
  return TRUE;
}

// Caps come from the ring, in create(): nothing to negotiate up front.
static gboolean gst_shmring_src_negotiate(GstBaseSrc *base) {
  (void)base;
  return TRUE;
}

static GstCaps *gst_shmring_src_get_caps(GstBaseSrc *base, GstCaps *filter) {
  GstCaps *caps = gst_pad_get_current_caps(GST_BASE_SRC_PAD(base));
  if (!caps)
    caps = gst_pad_get_pad_template_caps(GST_BASE_SRC_PAD(base));
  if (filter) {
    GstCaps *filtered = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(caps);
    caps = filtered;
  }
  return caps;
}

// Notes whether downstream reads GstVideoMeta: padded frames reach it as
// they are if so, repacked otherwise.
static gboolean gst_shmring_src_decide_allocation(GstBaseSrc *base, GstQuery *query) {
  GstShmringSrc *self = GST_SHMRING_SRC(base);
  self->state->downstream_video_meta =
      gst_query_find_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr);
  GST_DEBUG_OBJECT(self, "downstream %s video meta",
                   self->state->downstream_video_meta ? "supports" : "does not support");
  return GST_BASE_SRC_CLASS(gst_shmring_src_parent_class)->decide_allocation(base, query);
}

static gboolean gst_shmring_src_query(GstBaseSrc *base, GstQuery *query) {
  GstShmringSrc *self = GST_SHMRING_SRC(base);
  if (GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    GstClockTime min = 0, max = 0;
    std::shared_ptr<shmring::gst::ReaderLink> link = current_link(self);
    latency_of(self, link ? link->reader.get() : nullptr, min, max);
    GST_OBJECT_LOCK(self);
    self->state->answered_min_latency = min;
    GST_OBJECT_UNLOCK(self);
    gst_query_set_latency(query, TRUE, min, max);
    GST_DEBUG_OBJECT(self, "latency min %" GST_TIME_FORMAT " max %" GST_TIME_FORMAT,
                     GST_TIME_ARGS(min), GST_TIME_ARGS(max));
    return TRUE;
  }
  return GST_BASE_SRC_CLASS(gst_shmring_src_parent_class)->query(base, query);
}

namespace {

// What one step of create() decided: push a buffer, look at the next
// record, or return a flow.
struct Step {
  enum class Kind { Buffer, Next, Flow } kind;
  GstFlowReturn flow = GST_FLOW_OK;
  GstBuffer *buffer = nullptr;

  static Step next() { return {Kind::Next}; }
  static Step flow_of(GstFlowReturn ret) { return {Kind::Flow, ret}; }
  static Step push(GstBuffer *buffer) { return {Kind::Buffer, GST_FLOW_OK, buffer}; }
};

// A frame read but not pushed: counted, and the next buffer is DISCONT.
Step drop(GstShmringSrc *self, const char *why) {
  GST_WARNING_OBJECT(self, "dropping a frame %s", why);
  count(self, &Counters::dropped);
  self->state->discont_pending = true;
  return Step::next();
}

// Waits for the next record of the ring (attaching first if need be).
// Step::Buffer never comes from here: Next with `got` set means a frame.
const char *why_the_wait_ended(shmring::ReadStatus status) {
  switch (status) {
    case shmring::ReadStatus::Frame: return "a frame came";
    case shmring::ReadStatus::Timeout: return "none in this slice (the writer is quiet)";
    case shmring::ReadStatus::Interrupted: return "interrupted (flushing or stopping)";
    case shmring::ReadStatus::WriterClosed: return "the writer closed the ring";
    case shmring::ReadStatus::WriterDead: return "the writer died";
  }
  return "?";
}

Step read_next(GstShmringSrc *self, std::shared_ptr<shmring::gst::ReaderLink> &link,
               shmring::Frame &frame, bool &got) {
  got = false;
  link = current_link(self);
  if (!link) {
    const Outcome attached = attach_to_writer(self);
    if (attached == Outcome::Flushing)
      return Step::flow_of(GST_FLOW_FLUSHING);
    if (attached == Outcome::Error)
      return Step::flow_of(GST_FLOW_ERROR);
    if (attached == Outcome::WriterGone) {
      const GstFlowReturn ret = handle_writer_lost(self, shmring::ReadStatus::WriterClosed,
                                                   settings_of(self).on_writer_lost);
      return ret == GST_FLOW_OK ? Step::next() : Step::flow_of(ret);
    }
    return Step::next();
  }
  // At DEBUG every wait for the writer is told, with how long and why it
  // ended; the clock is read only then.
  const bool timing = gst_debug_category_get_threshold(GST_CAT_DEFAULT) >= GST_LEVEL_DEBUG;
  const shmring::Deadline asked = timing ? shmring::Clock::now() : shmring::Deadline{};
  // A record already there needs no deadline (and no clock read for it).
  const shmring::ReadStatus status =
      !timing && link->reader->try_next(frame)
          ? shmring::ReadStatus::Frame
          : link->reader->next(frame, shmring::deadline_after(kReadSlice));
  if (timing) {
    const auto waited =
        std::chrono::duration_cast<std::chrono::microseconds>(shmring::Clock::now() - asked)
            .count();
    if (waited >= 1000 || status != shmring::ReadStatus::Frame)
      GST_DEBUG_OBJECT(self, "waited %" G_GINT64_FORMAT " us for the writer: %s",
                       static_cast<gint64>(waited), why_the_wait_ended(status));
  }
  switch (status) {
    case shmring::ReadStatus::Timeout: return Step::next();
    case shmring::ReadStatus::Interrupted: return Step::flow_of(GST_FLOW_FLUSHING);
    case shmring::ReadStatus::WriterClosed:
    case shmring::ReadStatus::WriterDead: {
      const GstFlowReturn ret = handle_writer_lost(self, status, settings_of(self).on_writer_lost);
      return ret == GST_FLOW_OK ? Step::next() : Step::flow_of(ret);
    }
    case shmring::ReadStatus::Frame: got = true; return Step::next();
  }
  return Step::flow_of(GST_FLOW_ERROR);
}

// The writer outgrew the ring (bigger frames, padded buffers) and created a
// bigger one under the same name before saying so here: reopen the name and
// go on in the same stream. The segment stays; the new ring's caps are
// pushed afresh and its first buffer is DISCONT. A blocking reader loses
// nothing (the writer publishes nothing there before it has attached); a
// leaky one may, and waits for a keyframe as after any loss.
//
// The new ring is opened before the old one is let go, so that the writer,
// which waits for its blocking readers to come over, always finds this one
// in one ring or the other: a reader in neither has died or left.
Step follow_moved_ring(GstShmringSrc *self, guint64 moved_sequence) {
  SrcState &s = *self->state;
  s.sequence_after_move = moved_sequence;  // the new ring's first record has it
  const Settings settings = settings_of(self);
  GST_INFO_OBJECT(self, "the writer moved ring '%s' to bigger slots: following it",
                  settings.ring.c_str());
  std::shared_ptr<shmring::Reader> reader;
  if (try_open(self, settings, reader) == Outcome::Error)
    return Step::flow_of(GST_FLOW_ERROR);
  if (reader) {
    if (auto old = install_link(self, std::move(reader)))
      old->reader->detach();  // buffers downstream keep its mapping
  } else {
    drop_reader(self);  // not there (yet): wait for it as for any writer
    s.following_move = true;
  }
  s.first_of_moved_ring = true;
  s.caps_id = 0;
  s.discont_pending = true;
  if (settings.policy == GST_SHMRING_POLICY_LEAKY)
    s.waiting_for_keyframe = true;
  return Step::next();
}

// EOS, a tag list, a custom event or the move to a bigger ring.
Step take_event(GstShmringSrc *self, shmring::Reader &reader, const shmring::Frame &frame,
                const shmring::gst::RecordInfo &info) {
  if (info.kind == shmring::gst::RecordKind::Eos) {
    GST_INFO_OBJECT(self, "writer sent EOS");
    return Step::flow_of(GST_FLOW_EOS);
  }
  if (info.kind == shmring::gst::RecordKind::Moved)
    return follow_moved_ring(self, frame.sequence);
  // Caps first, so that a tag list never precedes them downstream.
  const Outcome caps = update_caps(self, reader, info.caps_id);
  if (caps == Outcome::Skip)
    return Step::next();
  if (caps != Outcome::Ok)
    return Step::flow_of(GST_FLOW_NOT_NEGOTIATED);
  push_ring_event(self, frame, info);
  return Step::next();
}

// The GstBuffer for a media record: the slot wrapped (or copied), its
// metas and timestamps applied. Null when it cannot be pushed.
GstBuffer *make_buffer(GstShmringSrc *self, const shmring::gst::ReaderLink &link,
                       const shmring::Frame &frame, const shmring::gst::RecordInfo &info,
                       shmring::gst::SlotHold &hold, const char *&why_not) {
  SrcState &s = *self->state;
  GstBuffer *buffer = buffer_for_frame(self, link, frame, info, hold);
  if (!buffer) {
    why_not = "overwritten while it was copied (held past the writer's bound)";
    return nullptr;
  }
  if (!shmring::gst::apply_record(info, s.caps_are_video ? &s.video_info : nullptr, buffer)) {
    gst_buffer_unref(buffer);
    why_not = "whose video layout does not fit it";
    return nullptr;
  }
  // A padded layout needs video meta downstream; without it, repack.
  if (s.caps_are_video && !s.downstream_video_meta &&
      !shmring::gst::has_default_layout(info, s.video_info)) {
    GstBuffer *packed = shmring::gst::packed_copy(buffer, s.video_info);
    gst_buffer_unref(buffer);
    if (!packed) {
      why_not = "that could not be repacked";
      return nullptr;
    }
    buffer = packed;
    count(self, &Counters::copied);
  }
  shmring::gst::apply_reference_timestamps(info, buffer);
  stamp(self,
        static_cast<GstShmringTimestampMode>(s.timestamp_mode.load(std::memory_order_relaxed)),
        info, buffer);
  return buffer;
}

// Marks the buffer as the stream requires (a new writer's segment,
// DISCONT) and counts it.
void finish_buffer(GstShmringSrc *self, shmring::Reader &reader, GstBuffer *buffer) {
  SrcState &s = *self->state;
  if (s.writer_changed) {
    // The new writer's stream: a new segment (timestamps start over in
    // original mode) and a discontinuity.
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    gst_base_src_new_segment(GST_BASE_SRC(self), &segment);
    s.writer_changed = false;
    s.discont_pending = true;
  }
  if (s.discont_pending) {
    GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DISCONT);
    s.discont_pending = false;
  }
  GST_OBJECT_LOCK(self);
  s.counters.received++;
  if (GST_BUFFER_DURATION_IS_VALID(buffer))
    s.last_duration = GST_BUFFER_DURATION(buffer);
  GST_OBJECT_UNLOCK(self);
  s.segment_sent = true;  // basesrc pushes the segment before this buffer
  // Every 10 ms at most: it takes the object lock twice and reads a line
  // the writer writes on every publish (at 64 B, 4% of the source's time).
  const gint64 now_us = g_get_monotonic_time();
  if (now_us - s.latency_compared_us >= kLatencyCompareEveryUs) {
    s.latency_compared_us = now_us;
    ask_again_if_latency_changed(self, reader);
  }
}

// What to do with one frame read from the ring. The slot is held by `hold`
// until it is wrapped into the pushed buffer or the step ends.
Step take_frame(GstShmringSrc *self, const shmring::gst::ReaderLink &link,
                const shmring::Frame &frame, shmring::gst::SlotHold &hold) {
  SrcState &s = *self->state;
  // Came to a moved ring late (the writer waited for us no longer than its
  // timeout): what it published there before counts as lost.
  const guint64 missed_in_move = s.first_of_moved_ring && frame.sequence > s.sequence_after_move
                                     ? frame.sequence - s.sequence_after_move
                                     : 0;
  s.first_of_moved_ring = false;
  if (frame.lost_before + missed_in_move > 0) {
    report_loss(self, frame.lost_before + missed_in_move);
    s.waiting_for_keyframe = true;
    s.discont_pending = true;
  }
  if (frame.resyncs_before > 0) {
    // Somebody scribbled over the ring's shared state; the core recovered.
    GST_ELEMENT_WARNING(self, STREAM, FAILED,
                        ("Ring '%s' held an implausible sequence; resynchronised with its writer",
                         settings_of(self).ring.c_str()),
                        ("%" G_GUINT64_FORMAT " resynchronisation(s)", frame.resyncs_before));
    s.waiting_for_keyframe = true;
    s.discont_pending = true;
  }
  shmring::gst::RecordInfo info;
  if (!shmring::gst::record_of(frame, info))
    return drop(self, "whose record is implausible");
  if (info.kind != shmring::gst::RecordKind::Buffer)
    return take_event(self, *link.reader, frame, info);
  if (s.waiting_for_keyframe && (info.flags & GST_BUFFER_FLAG_DELTA_UNIT)) {
    GST_LOG_OBJECT(self, "skipping a delta unit while waiting for a keyframe");
    count(self, &Counters::dropped);
    s.discont_pending = true;
    return Step::next();
  }
  s.waiting_for_keyframe = false;
  const Outcome caps = update_caps(self, *link.reader, info.caps_id);
  if (caps == Outcome::Skip)
    return drop(self, "whose caps the writer has replaced since");
  if (caps != Outcome::Ok)
    return Step::flow_of(GST_FLOW_NOT_NEGOTIATED);
  const char *why_not = nullptr;
  GstBuffer *buffer = make_buffer(self, link, frame, info, hold, why_not);
  if (!buffer)
    return drop(self, why_not);
  finish_buffer(self, *link.reader, buffer);
  GST_LOG_OBJECT(self,
                 "frame %" G_GUINT64_FORMAT " from slot %u: %" G_GUINT64_FORMAT
                 " bytes, pts %" GST_TIME_FORMAT "%s",
                 frame.sequence, frame.slot, info.size, GST_TIME_ARGS(GST_BUFFER_PTS(buffer)),
                 GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DISCONT) ? ", discont" : "");
  return Step::push(buffer);
}

}  // namespace

static GstFlowReturn gst_shmring_src_create(GstPushSrc *push, GstBuffer **out) {
  GstShmringSrc *self = GST_SHMRING_SRC(push);
  for (;;) {
    std::shared_ptr<shmring::gst::ReaderLink> link;
    shmring::Frame frame;
    bool got = false;
    Step step = read_next(self, link, frame, got);
    if (got) {
      shmring::gst::SlotHold hold(link, frame);
      step = take_frame(self, *link, frame, hold);
    }
    switch (step.kind) {
      case Step::Kind::Next: continue;
      case Step::Kind::Flow: return step.flow;
      case Step::Kind::Buffer: *out = step.buffer; return GST_FLOW_OK;
    }
  }
}

static gboolean gst_shmring_src_unlock(GstBaseSrc *base) {
  GstShmringSrc *self = GST_SHMRING_SRC(base);
  SrcState &s = *self->state;
  g_mutex_lock(&s.wait_mutex);
  s.unlocked = true;
  if (s.watch)
    s.watch->interrupt();
  g_mutex_unlock(&s.wait_mutex);
  if (auto link = current_link(self))
    link->reader->interrupt();
  return TRUE;
}

static gboolean gst_shmring_src_unlock_stop(GstBaseSrc *base) {
  GstShmringSrc *self = GST_SHMRING_SRC(base);
  SrcState &s = *self->state;
  g_mutex_lock(&s.wait_mutex);
  s.unlocked = false;
  if (s.watch)
    s.watch->clear_interrupt();
  g_mutex_unlock(&s.wait_mutex);
  if (auto link = current_link(self))
    link->reader->clear_interrupt();
  return TRUE;
}

// The pipeline hands the source its clock: what kind it is is learnt here,
// once, not for every buffer.
static gboolean gst_shmring_src_set_clock(GstElement *element, GstClock *clock) {
  GST_SHMRING_SRC(element)->state->clock.clock_changed(clock);
  return GST_ELEMENT_CLASS(gst_shmring_src_parent_class)->set_clock(element, clock);
}

static void gst_shmring_src_class_init(GstShmringSrcClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSrcClass *base_class = GST_BASE_SRC_CLASS(klass);
  GstPushSrcClass *push_class = GST_PUSH_SRC_CLASS(klass);

  gobject_class->set_property = gst_shmring_src_set_property;
  gobject_class->get_property = gst_shmring_src_get_property;
  gobject_class->finalize = gst_shmring_src_finalize;
  GST_ELEMENT_CLASS(klass)->set_clock = gst_shmring_src_set_clock;

  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                           GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_RING,
      g_param_spec_string("ring", "Ring", "Name of the ring, as given to shmringsink", nullptr,
                          rw));
  g_object_class_install_property(
      gobject_class, PROP_POLICY,
      g_param_spec_enum("policy", "Policy", "What happens when this reader falls behind",
                        GST_TYPE_SHMRING_POLICY, kDefaultPolicy, rw));
  g_object_class_install_property(
      gobject_class, PROP_TIMESTAMP_MODE,
      g_param_spec_enum("timestamp-mode", "Timestamp mode", "How buffers are timestamped",
                        GST_TYPE_SHMRING_TIMESTAMP_MODE, kDefaultTimestampMode, rw));
  g_object_class_install_property(
      gobject_class, PROP_ON_WRITER_LOST,
      g_param_spec_enum("on-writer-lost", "On writer lost",
                        "What to do when the writer stops or dies without EOS",
                        GST_TYPE_SHMRING_WRITER_LOST, kDefaultOnWriterLost, rw));
  g_object_class_install_property(
      gobject_class, PROP_SPIN_TIME,
      g_param_spec_uint64("spin-time", "Spin time",
                          "Nanoseconds to busy-poll for a record before sleeping: about 1 us "
                          "latency instead of a wake-up's 10-30 us, for up to a core's time "
                          "while it polls (0 = sleep at once)",
                          0, G_MAXUINT64, kDefaultSpinTime, rw));
  g_object_class_install_property(
      gobject_class, PROP_TIMEOUT,
      g_param_spec_uint64("timeout", "Timeout",
                          "Nanoseconds to wait for a writer to appear before posting an "
                          "error (0 = wait forever)",
                          0, G_MAXUINT64, kDefaultTimeout, rw));
  g_object_class_install_property(
      gobject_class, PROP_TRUSTED_OWNER,
      g_param_spec_string("trusted-owner", "Trusted owner",
                          "User (name or uid) whose rings are read; unset: only rings of this "
                          "user or root, as another local user could put anything under a name",
                          nullptr, rw));
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed(
          "stats", "Statistics", "received, dropped, lost, copied, slots-held, writer-pid",
          GST_TYPE_STRUCTURE, static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_set_static_metadata(
      element_class, "Shared memory ring source", "Source",
      "Reads buffers, caps, timestamps and events from a shmringsink in another process, "
      "without copying",
      "shmring developers");
  gst_element_class_add_static_pad_template(element_class, &src_template);

  base_class->start = GST_DEBUG_FUNCPTR(gst_shmring_src_start);
  base_class->stop = GST_DEBUG_FUNCPTR(gst_shmring_src_stop);
  base_class->negotiate = GST_DEBUG_FUNCPTR(gst_shmring_src_negotiate);
  base_class->get_caps = GST_DEBUG_FUNCPTR(gst_shmring_src_get_caps);
  base_class->query = GST_DEBUG_FUNCPTR(gst_shmring_src_query);
  base_class->decide_allocation = GST_DEBUG_FUNCPTR(gst_shmring_src_decide_allocation);
  base_class->unlock = GST_DEBUG_FUNCPTR(gst_shmring_src_unlock);
  base_class->unlock_stop = GST_DEBUG_FUNCPTR(gst_shmring_src_unlock_stop);
  push_class->create = GST_DEBUG_FUNCPTR(gst_shmring_src_create);

  GST_DEBUG_CATEGORY_INIT(gst_shmring_src_debug, "shmringsrc", 0,
                          "shmring shared memory ring source");
  gst_type_mark_as_plugin_api(GST_TYPE_SHMRING_POLICY, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_SHMRING_TIMESTAMP_MODE, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_SHMRING_WRITER_LOST, GstPluginAPIFlags(0));
}
