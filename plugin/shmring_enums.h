// Enum property types of the shmring elements.
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

// What a reader does when it falls behind.
typedef enum {
  GST_SHMRING_POLICY_BLOCK = 0,  // the writer waits for it (bounded by the sink's timeout)
  GST_SHMRING_POLICY_LEAKY = 1,  // the writer never waits; the reader skips to the newest
} GstShmringPolicy;

// How shmringsrc timestamps what it pushes.
typedef enum {
  GST_SHMRING_TIMESTAMP_CLOCK = 0,     // writer's clock time mapped to our running time
  GST_SHMRING_TIMESTAMP_ORIGINAL = 1,  // the writer's PTS/DTS unchanged
  GST_SHMRING_TIMESTAMP_ARRIVAL = 2,   // our running time when the buffer arrived
} GstShmringTimestampMode;

// What shmringsrc does when the writer goes away without EOS.
typedef enum {
  GST_SHMRING_WRITER_LOST_ERROR = 0,
  GST_SHMRING_WRITER_LOST_EOS = 1,
  GST_SHMRING_WRITER_LOST_WAIT = 2,  // wait for a new writer and resume
} GstShmringWriterLost;

// What shmringsink does when a policy=block reader has not read for `timeout`.
typedef enum {
  GST_SHMRING_READER_TIMEOUT_DROP = 0,   // overwrite that reader's unread frames
  GST_SHMRING_READER_TIMEOUT_ERROR = 1,  // fail with an element error
} GstShmringReaderTimeout;

GType gst_shmring_policy_get_type(void);
GType gst_shmring_reader_timeout_get_type(void);
GType gst_shmring_timestamp_mode_get_type(void);
GType gst_shmring_writer_lost_get_type(void);

#define GST_TYPE_SHMRING_POLICY (gst_shmring_policy_get_type())
#define GST_TYPE_SHMRING_READER_TIMEOUT (gst_shmring_reader_timeout_get_type())
#define GST_TYPE_SHMRING_TIMESTAMP_MODE (gst_shmring_timestamp_mode_get_type())
#define GST_TYPE_SHMRING_WRITER_LOST (gst_shmring_writer_lost_get_type())

G_END_DECLS
