// The ring carries absolute times on CLOCK_MONOTONIC, the one clock every
// process of the machine shares. A pipeline may run on another clock (an
// audio sink's, a network clock): its element converts through an offset to
// CLOCK_MONOTONIC sampled at the moment of use.
#pragma once

#include <gst/gst.h>

#include <atomic>

namespace shmring::gst {

// What an element knows of its clock, learnt when the pipeline hands it one
// (GstElement::set_clock), so that converting a buffer's time looks nothing
// up: on the monotonic system clock (the usual case) it is no conversion at
// all; on another clock, an offset sampled through that clock at each use.
class ClockMapping {
 public:
  // From the element's set_clock (null: it has none now). Any thread.
  void clock_changed(GstClock *clock);

  // An absolute time of `element`'s clock as CLOCK_MONOTONIC, and back.
  // GST_CLOCK_TIME_NONE when the element has no clock or the time is
  // invalid.
  GstClockTime to_monotonic(GstElement *element, GstClockTime time) const;
  GstClockTime from_monotonic(GstElement *element, GstClockTime monotonic) const;

 private:
  GstClockTime convert(GstElement *element, GstClockTime time, int sign) const;
  enum Kind : int { kNoClock, kMonotonic, kOther };
  std::atomic<int> kind_{kNoClock};
};

}  // namespace shmring::gst
