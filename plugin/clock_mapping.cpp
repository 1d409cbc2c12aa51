#include "clock_mapping.h"

namespace shmring::gst {

namespace {

bool is_monotonic_system_clock(GstClock *clock) {
  if (!GST_IS_SYSTEM_CLOCK(clock))
    return false;
  GstClockType type = GST_CLOCK_TYPE_REALTIME;
  g_object_get(clock, "clock-type", &type, nullptr);
  return type == GST_CLOCK_TYPE_MONOTONIC;
}

// The element's clock time minus CLOCK_MONOTONIC, both sampled now; false
// when the element has no clock (any more).
bool clock_offset(GstElement *element, GstClockTimeDiff &offset) {
  GstClock *clock = gst_element_get_clock(element);
  if (!clock)
    return false;
  const GstClockTime clock_now = gst_clock_get_time(clock);
  const gint64 monotonic_now = g_get_monotonic_time() * GST_USECOND;
  offset = GstClockTimeDiff(clock_now) - GstClockTimeDiff(monotonic_now);
  gst_object_unref(clock);
  return true;
}

GstClockTime shifted(GstClockTime time, GstClockTimeDiff by) {
  const GstClockTimeDiff result = GstClockTimeDiff(time) + by;
  return result > 0 ? GstClockTime(result) : 0;
}

}  // namespace

void ClockMapping::clock_changed(GstClock *clock) {
  kind_.store(!clock                             ? kNoClock
              : is_monotonic_system_clock(clock) ? kMonotonic
                                                 : kOther,
              std::memory_order_release);
}

// `sign` -1: element time to CLOCK_MONOTONIC; +1: back.
GstClockTime ClockMapping::convert(GstElement *element, GstClockTime time, int sign) const {
  const int kind = kind_.load(std::memory_order_acquire);
  if (!GST_CLOCK_TIME_IS_VALID(time) || kind == kNoClock)
    return GST_CLOCK_TIME_NONE;
  if (kind == kMonotonic)
    return time;
  GstClockTimeDiff offset;
  return clock_offset(element, offset) ? shifted(time, sign * offset) : GST_CLOCK_TIME_NONE;
}

GstClockTime ClockMapping::to_monotonic(GstElement *element, GstClockTime time) const {
  return convert(element, time, -1);
}

GstClockTime ClockMapping::from_monotonic(GstElement *element, GstClockTime monotonic) const {
  return convert(element, monotonic, +1);
}

}  // namespace shmring::gst
