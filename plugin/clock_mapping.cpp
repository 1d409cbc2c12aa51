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

// element clock time minus CLOCK_MONOTONIC, both sampled now; false when the
// element has no clock.
bool clock_offset(GstElement *element, GstClockTimeDiff &offset, bool &exact) {
  GstClock *clock = gst_element_get_clock(element);
  if (!clock)
    return false;
  exact = is_monotonic_system_clock(clock);
  offset = 0;
  if (!exact) {
    const GstClockTime clock_now = gst_clock_get_time(clock);
    const gint64 monotonic_now = g_get_monotonic_time() * GST_USECOND;
    offset = GstClockTimeDiff(clock_now) - GstClockTimeDiff(monotonic_now);
  }
  gst_object_unref(clock);
  return true;
}

GstClockTime shifted(GstClockTime time, GstClockTimeDiff by) {
  const GstClockTimeDiff result = GstClockTimeDiff(time) + by;
  return result > 0 ? GstClockTime(result) : 0;
}

}  // namespace

GstClockTime element_time_to_monotonic(GstElement *element, GstClockTime time) {
  GstClockTimeDiff offset;
  bool exact;
  if (!GST_CLOCK_TIME_IS_VALID(time) || !clock_offset(element, offset, exact))
    return GST_CLOCK_TIME_NONE;
  return exact ? time : shifted(time, -offset);
}

GstClockTime monotonic_to_element_time(GstElement *element, GstClockTime monotonic) {
  GstClockTimeDiff offset;
  bool exact;
  if (!GST_CLOCK_TIME_IS_VALID(monotonic) || !clock_offset(element, offset, exact))
    return GST_CLOCK_TIME_NONE;
  return exact ? monotonic : shifted(monotonic, offset);
}

}  // namespace shmring::gst
