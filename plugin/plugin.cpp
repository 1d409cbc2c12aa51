// One plugin: the elements shmringsink and shmringsrc, and a device provider
// that lists live rings.
#include <gst/gst.h>

#include "gstshmringdeviceprovider.h"
#include "gstshmringsink.h"
#include "gstshmringsrc.h"

static gboolean plugin_init(GstPlugin *plugin) {
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
