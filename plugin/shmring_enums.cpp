#include "shmring_enums.h"

GType gst_shmring_policy_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_SHMRING_POLICY_BLOCK,
       "Lossless: the writer waits for this reader, up to the sink's timeout", "block"},
      {GST_SHMRING_POLICY_LEAKY, "The writer never waits; skip to the newest frame when behind",
       "leaky"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstShmringPolicy", values));
  return type;
}

GType gst_shmring_reader_timeout_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_SHMRING_READER_TIMEOUT_DROP,
       "Overwrite the stalled reader's unread frames (it counts them as lost) and "
       "stop waiting for it until it reads again",
       "drop"},
      {GST_SHMRING_READER_TIMEOUT_ERROR, "Fail with an element error", "error"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstShmringReaderTimeout", values));
  return type;
}

GType gst_shmring_timestamp_mode_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_SHMRING_TIMESTAMP_CLOCK,
       "Map the writer's clock time to this pipeline's running time "
       "(both on the system monotonic clock)",
       "clock"},
      {GST_SHMRING_TIMESTAMP_ORIGINAL, "Keep the writer's timestamps unchanged", "original"},
      {GST_SHMRING_TIMESTAMP_ARRIVAL, "Timestamp with the running time of arrival", "arrival"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstShmringTimestampMode", values));
  return type;
}

GType gst_shmring_writer_lost_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_SHMRING_WRITER_LOST_ERROR, "Post an error", "error"},
      {GST_SHMRING_WRITER_LOST_EOS, "End the stream (EOS)", "eos"},
      {GST_SHMRING_WRITER_LOST_WAIT, "Wait for a new writer and resume", "wait"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstShmringWriterLost", values));
  return type;
}
