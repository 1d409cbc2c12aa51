// shmringsrc: a live source that reads a ring written by shmringsink in
// another process. Buffers wrap the shared memory read-only (no copy) and
// give their slot back to the ring when freed.
#pragma once

#include <gst/base/gstpushsrc.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_SHMRING_SRC (gst_shmring_src_get_type())
G_DECLARE_FINAL_TYPE(GstShmringSrc, gst_shmring_src, GST, SHMRING_SRC, GstPushSrc)

GST_ELEMENT_REGISTER_DECLARE(shmringsrc);

G_END_DECLS
