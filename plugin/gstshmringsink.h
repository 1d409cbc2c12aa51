// shmringsink: publishes each buffer into a ring in shared memory, with its
// caps, timestamps, flags and events, for any number of shmringsrc readers
// in other processes.
#pragma once

#include <gst/base/gstbasesink.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_SHMRING_SINK (gst_shmring_sink_get_type())
G_DECLARE_FINAL_TYPE(GstShmringSink, gst_shmring_sink, GST, SHMRING_SINK, GstBaseSink)

GST_ELEMENT_REGISTER_DECLARE(shmringsink);

G_END_DECLS
