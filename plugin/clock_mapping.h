// The ring carries absolute times on CLOCK_MONOTONIC, the one clock every
// process of the machine shares. A pipeline may run on another clock (an
// audio sink's, a network clock): its element converts through an offset to
// CLOCK_MONOTONIC sampled at the moment of use.
#pragma once

#include <gst/gst.h>

namespace shmring::gst {

// An absolute time of `element`'s clock as CLOCK_MONOTONIC, and back.
// Exact (no conversion) when the clock is the monotonic system clock;
// GST_CLOCK_TIME_NONE when the element has no clock or the time is invalid.
GstClockTime element_time_to_monotonic(GstElement *element, GstClockTime time);
GstClockTime monotonic_to_element_time(GstElement *element, GstClockTime monotonic);

}  // namespace shmring::gst
