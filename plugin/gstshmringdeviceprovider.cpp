#include "gstshmringdeviceprovider.h"

#include <algorithm>
#include <map>
#include <string>

#include "ring_text.h"
#include "shmring/error.hpp"
#include "shmring/inspect.hpp"

GST_DEBUG_CATEGORY_STATIC(shmring_device_debug);
#define GST_CAT_DEFAULT shmring_device_debug

namespace {

// How often the monitor looks at /dev/shm: writers appear and vanish (and
// die) without telling anyone, and a look costs a few system calls per ring.
constexpr gint64 kMonitorPeriodUs = 500 * 1000;
// How long a ring may be without its name (moving to bigger slots) before it
// is called gone.
constexpr gulong kSecondLookUs = 50 * 1000;

// What identifies one device: a ring of one writer. A new writer on the
// same name is another device (its caps may differ).
struct RingKey {
  std::string name;
  pid_t writer = 0;
  bool operator<(const RingKey &other) const {
    return name != other.name ? name < other.name : writer < other.writer;
  }
};

}  // namespace

struct _GstShmringDevice {
  GstDevice parent;
  gchar *ring;
};

G_DEFINE_TYPE(GstShmringDevice, gst_shmring_device, GST_TYPE_DEVICE);

static GstElement *gst_shmring_device_create_element(GstDevice *device, const gchar *name) {
  GstElement *src = gst_element_factory_make("shmringsrc", name);
  if (src)
    g_object_set(src, "ring", GST_SHMRING_DEVICE(device)->ring, nullptr);
  return src;
}

static gboolean gst_shmring_device_reconfigure_element(GstDevice *device, GstElement *element) {
  g_object_set(element, "ring", GST_SHMRING_DEVICE(device)->ring, nullptr);
  return TRUE;
}

static void gst_shmring_device_finalize(GObject *object) {
  g_free(GST_SHMRING_DEVICE(object)->ring);
  G_OBJECT_CLASS(gst_shmring_device_parent_class)->finalize(object);
}

static void gst_shmring_device_class_init(GstShmringDeviceClass *klass) {
  GST_DEVICE_CLASS(klass)->create_element = gst_shmring_device_create_element;
  GST_DEVICE_CLASS(klass)->reconfigure_element = gst_shmring_device_reconfigure_element;
  G_OBJECT_CLASS(klass)->finalize = gst_shmring_device_finalize;
}

static void gst_shmring_device_init(GstShmringDevice *) {}

struct _GstShmringDeviceProvider {
  GstDeviceProvider parent;
  GThread *monitor;
  GMutex lock;
  GCond wake;
  gboolean stopping;
  std::map<RingKey, GstDevice *> *shown;  // devices this monitor has announced
};

G_DEFINE_TYPE(GstShmringDeviceProvider, gst_shmring_device_provider, GST_TYPE_DEVICE_PROVIDER);
GST_DEVICE_PROVIDER_REGISTER_DEFINE(shmringdeviceprovider, "shmringdeviceprovider",
                                    GST_RANK_SECONDARY, GST_TYPE_SHMRING_DEVICE_PROVIDER);

namespace {

// The device for a ring a live writer is filling; null for anything else (a
// dead writer's ring, a closed one, one without caps yet, another kind).
GstDevice *device_for(const shmring::ObjectInfo &info) {
  if (info.kind != shmring::ObjectKind::Ring || !info.problem.empty() || !info.owner_alive ||
      info.closed || info.caps.empty())
    return nullptr;
  GstCaps *caps = shmring::gst::caps_from_text(info.caps.c_str());
  if (!caps)
    return nullptr;
  const gchar *media = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  const char *device_class = g_str_has_prefix(media, "video/")   ? "Video/Source"
                             : g_str_has_prefix(media, "audio/") ? "Audio/Source"
                                                                 : "Source/Generic";
  GstStructure *properties =
      gst_structure_new("shmring-ring", "ring", G_TYPE_STRING, info.name.c_str(), "writer-pid",
                        G_TYPE_INT, static_cast<gint>(info.owner_pid), "readers", G_TYPE_UINT,
                        static_cast<guint>(info.readers.size()), "slots", G_TYPE_UINT, info.slots,
                        "slot-size", G_TYPE_UINT64, static_cast<guint64>(info.slot_size), nullptr);
  gchar *display_name = g_strdup_printf("shmring ring %s", info.name.c_str());
  auto *device = static_cast<GstShmringDevice *>(
      g_object_new(GST_TYPE_SHMRING_DEVICE, "display-name", display_name, "device-class",
                   device_class, "caps", caps, "properties", properties, nullptr));
  device->ring = g_strdup(info.name.c_str());
  g_free(display_name);
  gst_structure_free(properties);
  gst_caps_unref(caps);
  return GST_DEVICE(device);
}

// Every ring a live writer fills now, as devices (floating references).
std::map<RingKey, GstDevice *> live_rings() {
  std::map<RingKey, GstDevice *> found;
  for (const std::string &name : shmring::list_object_names()) {
    shmring::ObjectInfo info;
    try {
      info = shmring::inspect_object(name);
    } catch (const shmring::Error &) {
      continue;  // gone meanwhile, or not ours to read
    }
    if (GstDevice *device = device_for(info))
      found[{name, info.owner_pid}] = device;
  }
  return found;
}

// Whether a device still describes its ring: same caps, same slots. A ring
// its writer moved to bigger slots (new caps) is the same device, changed.
bool same_description(GstDevice *shown, GstDevice *now) {
  GstCaps *a = gst_device_get_caps(shown);
  GstCaps *b = gst_device_get_caps(now);
  const bool same_caps = a && b && gst_caps_is_equal(a, b);
  if (a)
    gst_caps_unref(a);
  if (b)
    gst_caps_unref(b);
  GstStructure *pa = gst_device_get_properties(shown);
  GstStructure *pb = gst_device_get_properties(now);
  guint64 slot_a = 0, slot_b = 0;
  const bool same_slots = pa && pb && gst_structure_get_uint64(pa, "slot-size", &slot_a) &&
                          gst_structure_get_uint64(pb, "slot-size", &slot_b) && slot_a == slot_b;
  if (pa)
    gst_structure_free(pa);
  if (pb)
    gst_structure_free(pb);
  return same_caps && same_slots;
}

gpointer monitor_loop(gpointer data) {
  auto *self = static_cast<GstShmringDeviceProvider *>(data);
  g_mutex_lock(&self->lock);
  while (!self->stopping) {
    g_mutex_unlock(&self->lock);
    std::map<RingKey, GstDevice *> now = live_rings();
    // A ring that moves to bigger slots is briefly without its name: look
    // again before calling a ring gone.
    const bool one_missing =
        std::any_of(self->shown->begin(), self->shown->end(),
                    [&now](const auto &shown) { return !now.count(shown.first); });
    if (one_missing) {
      g_usleep(kSecondLookUs);
      for (auto &[key, device] : live_rings()) {
        if (now.count(key))
          gst_object_unref(gst_object_ref_sink(device));
        else
          now[key] = device;
      }
    }
    for (auto it = self->shown->begin(); it != self->shown->end();) {
      if (now.count(it->first)) {
        ++it;
        continue;
      }
      GST_INFO_OBJECT(self, "ring '%s' of writer %d is gone", it->first.name.c_str(),
                      static_cast<int>(it->first.writer));
      gst_device_provider_device_remove(GST_DEVICE_PROVIDER(self), it->second);
      gst_object_unref(it->second);
      it = self->shown->erase(it);
    }
    for (auto &[key, device] : now) {
      auto shown = self->shown->find(key);
      if (shown != self->shown->end()) {
        GstDevice *fresh = GST_DEVICE(gst_object_ref_sink(device));
        if (same_description(shown->second, fresh)) {
          gst_object_unref(fresh);
          continue;
        }
        GST_INFO_OBJECT(self, "ring '%s' of writer %d changed (new caps or slots)",
                        key.name.c_str(), static_cast<int>(key.writer));
        gst_device_provider_device_changed(GST_DEVICE_PROVIDER(self), fresh, shown->second);
        gst_object_unref(shown->second);
        shown->second = fresh;
        continue;
      }
      GST_INFO_OBJECT(self, "ring '%s' of writer %d appeared", key.name.c_str(),
                      static_cast<int>(key.writer));
      (*self->shown)[key] = GST_DEVICE(gst_object_ref_sink(device));
      gst_device_provider_device_add(GST_DEVICE_PROVIDER(self), device);
    }
    g_mutex_lock(&self->lock);
    if (!self->stopping)
      g_cond_wait_until(&self->wake, &self->lock, g_get_monotonic_time() + kMonitorPeriodUs);
  }
  g_mutex_unlock(&self->lock);
  return nullptr;
}

}  // namespace

static GList *gst_shmring_device_provider_probe(GstDeviceProvider *) {
  GList *devices = nullptr;
  for (auto &[key, device] : live_rings())
    devices = g_list_append(devices, device);
  return devices;
}

static gboolean gst_shmring_device_provider_start(GstDeviceProvider *provider) {
  auto *self = GST_SHMRING_DEVICE_PROVIDER(provider);
  self->stopping = FALSE;
  self->monitor = g_thread_new("shmring-devices", monitor_loop, self);
  return TRUE;
}

static void gst_shmring_device_provider_stop(GstDeviceProvider *provider) {
  auto *self = GST_SHMRING_DEVICE_PROVIDER(provider);
  g_mutex_lock(&self->lock);
  self->stopping = TRUE;
  g_cond_broadcast(&self->wake);
  g_mutex_unlock(&self->lock);
  g_thread_join(self->monitor);
  self->monitor = nullptr;
  for (auto &[key, device] : *self->shown) {
    gst_device_provider_device_remove(provider, device);
    gst_object_unref(device);
  }
  self->shown->clear();
}

static void gst_shmring_device_provider_finalize(GObject *object) {
  auto *self = GST_SHMRING_DEVICE_PROVIDER(object);
  delete self->shown;
  g_mutex_clear(&self->lock);
  g_cond_clear(&self->wake);
  G_OBJECT_CLASS(gst_shmring_device_provider_parent_class)->finalize(object);
}

static void gst_shmring_device_provider_class_init(GstShmringDeviceProviderClass *klass) {
  GstDeviceProviderClass *provider_class = GST_DEVICE_PROVIDER_CLASS(klass);
  provider_class->probe = gst_shmring_device_provider_probe;
  provider_class->start = gst_shmring_device_provider_start;
  provider_class->stop = gst_shmring_device_provider_stop;
  G_OBJECT_CLASS(klass)->finalize = gst_shmring_device_provider_finalize;
  gst_device_provider_class_set_static_metadata(
      provider_class, "shmring rings", "Source/Video/Audio",
      "Lists the rings that live shmringsink writers fill", "shmring");
  GST_DEBUG_CATEGORY_INIT(shmring_device_debug, "shmringdevice", 0, "shmring device provider");
}

static void gst_shmring_device_provider_init(GstShmringDeviceProvider *self) {
  g_mutex_init(&self->lock);
  g_cond_init(&self->wake);
  self->shown = new std::map<RingKey, GstDevice *>();
}
