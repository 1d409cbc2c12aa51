// Runs a pipeline to EOS like gst-launch-1.0, printing the shmring elements'
// bus messages as they come:
//   message <structure>
// then the `stats` of each shmring element in it, one line each:
//   stats <element name>: <structure>
// Exits 1 on an error message, 2 on a bad pipeline.
//
//   run-pipeline PIPELINE...
#include <gst/gst.h>

#include <string>

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  std::string description;
  for (int i = 1; i < argc; ++i)
    description += std::string(argv[i]) + " ";
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(description.c_str(), &error);
  if (!pipeline) {
    g_printerr("bad pipeline: %s\n", error->message);
    return 2;
  }
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *message = nullptr;
  for (;;) {
    message = gst_bus_timed_pop_filtered(
        bus, GST_CLOCK_TIME_NONE,
        static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT));
    if (GST_MESSAGE_TYPE(message) != GST_MESSAGE_ELEMENT)
      break;
    const GstStructure *structure = gst_message_get_structure(message);
    if (g_str_has_prefix(gst_structure_get_name(structure), "shmring-")) {
      gchar *text = gst_structure_to_string(structure);
      g_print("message %s\n", text);
      g_free(text);
    }
    gst_message_unref(message);
  }
  int code = 0;
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
    GError *failure = nullptr;
    gst_message_parse_error(message, &failure, nullptr);
    g_printerr("error: %s\n", failure->message);
    g_error_free(failure);
    code = 1;
  }
  gst_message_unref(message);
  gst_object_unref(bus);

  GstIterator *it = gst_bin_iterate_recurse(GST_BIN(pipeline));
  GValue item = G_VALUE_INIT;
  while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    GstElement *element = GST_ELEMENT(g_value_get_object(&item));
    const gchar *factory = GST_OBJECT_NAME(gst_element_get_factory(element));
    if (g_str_has_prefix(factory, "shmring")) {
      GstStructure *stats = nullptr;
      g_object_get(element, "stats", &stats, nullptr);
      gchar *text = gst_structure_to_string(stats);
      g_print("stats %s: %s\n", GST_OBJECT_NAME(element), text);
      g_free(text);
      gst_structure_free(stats);
    }
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return code;
}
