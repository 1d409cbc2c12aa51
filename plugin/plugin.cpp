// One plugin: the elements shmringsink and shmringsrc, and a device provider
// that lists live rings.
#include <gst/gst.h>

#include "gstshmringdeviceprovider.h"
#include "gstshmringsink.h"
#include "gstshmringsrc.h"
#include "shmring/log.hpp"

GST_DEBUG_CATEGORY_STATIC(shmring_core_debug);

// The core's messages (objects created and replaced, dead readers
// reclaimed, waits for slots, implausible shared state) in GST_DEBUG, as
// category "shmringcore". Installed once, for the process: the core is one.
// Without GStreamer's debug system (GST_DEBUG unset) nothing is printed.
static void core_log(shmring::LogLevel level, const char *message, void *) {
  const GstDebugLevel gst_level = level == shmring::LogLevel::Warning ? GST_LEVEL_WARNING
                                  : level == shmring::LogLevel::Info  ? GST_LEVEL_INFO
                                                                      : GST_LEVEL_DEBUG;
  GST_CAT_LEVEL_LOG(shmring_core_debug, gst_level, nullptr, "%s", message);
}

static void route_core_log() {
  GST_DEBUG_CATEGORY_INIT(shmring_core_debug, "shmringcore", 0, "shmring core library");
  // The threshold can change at run time (gst_debug_set_threshold_for_name),
  // so the core offers everything and the category filters. Its messages are
  // rare: creation, reclaim, a wait for slots, implausible shared state.
  shmring::set_log_handler(core_log, nullptr, shmring::LogLevel::Debug);
}

static gboolean plugin_init(GstPlugin *plugin) {
  route_core_log();
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(shmringsink, plugin);
  ok |= GST_ELEMENT_REGISTER(shmringsrc, plugin);
  ok |= GST_DEVICE_PROVIDER_REGISTER(shmringdeviceprovider, plugin);
  return ok;
}

#define PACKAGE "shmring"
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, shmring,
                  "Lock-free shared memory ring transport between processes", plugin_init,
                  SHMRING_VERSION, "LGPL", "shmring", "Unknown package origin")
