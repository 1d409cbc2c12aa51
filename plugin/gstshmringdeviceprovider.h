// A GstDeviceProvider for live rings: gst-device-monitor-1.0 (and any
// GstDeviceMonitor) lists every ring a live writer is filling, as a
// Video/Source or Audio/Source by its caps, with the ring's name, the
// writer's pid and its readers as properties, added and removed as writers
// come and go. gst_device_create_element() gives a shmringsrc on that ring.
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_SHMRING_DEVICE_PROVIDER (gst_shmring_device_provider_get_type())
G_DECLARE_FINAL_TYPE(GstShmringDeviceProvider, gst_shmring_device_provider, GST,
                     SHMRING_DEVICE_PROVIDER, GstDeviceProvider)

#define GST_TYPE_SHMRING_DEVICE (gst_shmring_device_get_type())
G_DECLARE_FINAL_TYPE(GstShmringDevice, gst_shmring_device, GST, SHMRING_DEVICE, GstDevice)

GST_DEVICE_PROVIDER_REGISTER_DECLARE(shmringdeviceprovider);

G_END_DECLS
