#include "ring_uri.h"

#include <cstring>
#include <string>

#include "shmring/object_name.hpp"

namespace shmring::gst {

namespace {

constexpr const char *kScheme = "shmring";

// Properties a URI may not set: the ring is its path, the others are the
// object's identity or read-only.
bool settable_by_uri(GParamSpec *spec) {
  const std::string name = g_param_spec_get_name(spec);
  return (spec->flags & G_PARAM_WRITABLE) && name != "ring" && name != "name" && name != "parent";
}

bool apply_query(GstElement *element, const gchar *query, GError **error) {
  gchar **pairs = g_strsplit(query, "&", -1);
  bool ok = true;
  for (gchar **pair = pairs; ok && *pair; ++pair) {
    if (**pair == '\0')
      continue;
    gchar **key_value = g_strsplit(*pair, "=", 2);
    gchar *key = g_uri_unescape_string(key_value[0], nullptr);
    gchar *value = key_value[1] ? g_uri_unescape_string(key_value[1], nullptr) : nullptr;
    GParamSpec *spec =
        key ? g_object_class_find_property(G_OBJECT_GET_CLASS(element), key) : nullptr;
    if (!key || !value) {
      g_set_error(error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI,
                  "'%s' in the URI's query is not property=value", *pair);
      ok = false;
    } else if (!spec || !settable_by_uri(spec)) {
      g_set_error(error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI,
                  "%s has no property '%s' that a URI may set", GST_ELEMENT_NAME(element), key);
      ok = false;
    } else {
      // Parsed as gst-launch-1.0 parses a property (enums by nick), so that
      // a bad value is an error rather than a silent default.
      GValue parsed = G_VALUE_INIT;
      g_value_init(&parsed, spec->value_type);
      if (!gst_value_deserialize_with_pspec(&parsed, value, spec)) {
        g_set_error(error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI,
                    "'%s' is not a value of property '%s'", value, key);
        ok = false;
      } else {
        g_object_set_property(G_OBJECT(element), key, &parsed);
      }
      g_value_unset(&parsed);
    }
    g_free(key);
    g_free(value);
    g_strfreev(key_value);
  }
  g_strfreev(pairs);
  return ok;
}

const gchar *const *protocols(GType) {
  static const gchar *const kProtocols[] = {kScheme, nullptr};
  return kProtocols;
}

gchar *get_uri(GstURIHandler *handler) { return ring_uri_of(GST_ELEMENT(handler)); }

gboolean set_uri(GstURIHandler *handler, const gchar *uri, GError **error) {
  return apply_ring_uri(GST_ELEMENT(handler), uri, error);
}

GstURIType source_type(GType) { return GST_URI_SRC; }
GstURIType sink_type(GType) { return GST_URI_SINK; }

}  // namespace

bool apply_ring_uri(GstElement *element, const gchar *uri, GError **error) {
  GstState state = GST_STATE_NULL;
  GST_OBJECT_LOCK(element);
  state = GST_STATE(element);
  GST_OBJECT_UNLOCK(element);
  if (state > GST_STATE_READY) {
    g_set_error(error, GST_URI_ERROR, GST_URI_ERROR_BAD_STATE,
                "the URI can only be changed in the NULL or READY state");
    return false;
  }
  GstUri *parsed = uri ? gst_uri_from_string(uri) : nullptr;
  if (!parsed || g_strcmp0(gst_uri_get_scheme(parsed), kScheme) != 0) {
    g_set_error(error, GST_URI_ERROR, GST_URI_ERROR_UNSUPPORTED_PROTOCOL,
                "'%s' is not a shmring:// URI", uri ? uri : "(null)");
    if (parsed)
      gst_uri_unref(parsed);
    return false;
  }
  // shmring://cam0: the ring is the URI's host part; shmring:///cam0 is
  // accepted too, as file URIs are written.
  const gchar *host = gst_uri_get_host(parsed);
  const gchar *path = gst_uri_get_path(parsed);
  const bool has_host = host && *host;
  const bool has_path = path && *path && std::strcmp(path, "/") != 0;
  // Both (shmring://a/b) would leave part of the name behind: refused below.
  std::string ring = has_host && has_path ? std::string(host) + path
                     : has_host           ? host
                     : has_path           ? path
                                          : "";
  if (!has_host && !ring.empty() && ring[0] == '/')
    ring.erase(0, 1);
  const std::string problem = shmring::object_name_problem(ring);
  if (!problem.empty()) {
    g_set_error(error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI, "'%s' names no ring: %s", uri,
                problem.c_str());
    gst_uri_unref(parsed);
    return false;
  }
  const gchar *query = strchr(uri, '?');
  const bool ok = !query || apply_query(element, query + 1, error);
  if (ok)
    g_object_set(element, "ring", ring.c_str(), nullptr);
  gst_uri_unref(parsed);
  return ok;
}

gchar *ring_uri_of(GstElement *element) {
  gchar *ring = nullptr;
  g_object_get(element, "ring", &ring, nullptr);
  if (!ring || !*ring) {
    g_free(ring);
    return nullptr;
  }
  gchar *uri = g_strdup_printf("%s://%s", kScheme, ring);
  g_free(ring);
  return uri;
}

void init_ring_uri_handler(gpointer g_iface, gpointer, GstURIType type) {
  auto *iface = static_cast<GstURIHandlerInterface *>(g_iface);
  iface->get_type = type == GST_URI_SRC ? source_type : sink_type;
  iface->get_protocols = protocols;
  iface->get_uri = get_uri;
  iface->set_uri = set_uri;
}

}  // namespace shmring::gst
