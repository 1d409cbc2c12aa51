// shmring:// URIs for both elements (GstURIHandler): shmring://NAME names the
// ring, and a query sets other properties by their names, e.g.
// shmring://cam0?policy=leaky&on-writer-lost=wait. So that uridecodebin,
// playbin, gst-play-1.0 and anything else that takes a URI reach a ring.
#pragma once

#include <gst/gst.h>

namespace shmring::gst {

// Sets `element`'s ring (and the query's properties) from `uri`; false with
// `error` (GST_URI_ERROR) for another scheme, a bad ring name, a property
// the element does not have or may not be set this way, or a bad value.
bool apply_ring_uri(GstElement *element, const gchar *uri, GError **error);

// "shmring://NAME" for the element's ring; null when it has none.
gchar *ring_uri_of(GstElement *element);

// The GstURIHandler interface, for G_IMPLEMENT_INTERFACE.
void init_ring_uri_handler(gpointer g_iface, gpointer iface_data, GstURIType type);

}  // namespace shmring::gst
