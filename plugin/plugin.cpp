// One plugin, two elements: shmringsink and shmringsrc.
#include <gst/gst.h>

#include "gstshmringsink.h"
#include "gstshmringsrc.h"

static gboolean plugin_init(GstPlugin *plugin) {
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(shmringsink, plugin);
  ok |= GST_ELEMENT_REGISTER(shmringsrc, plugin);
  return ok;
}

#define PACKAGE "shmring"
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, shmring,
                  "Lock-free shared memory ring transport between processes", plugin_init,
                  SHMRING_VERSION, "LGPL", "shmring", "Unknown package origin")
