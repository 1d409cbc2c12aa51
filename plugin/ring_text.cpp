#include "ring_text.h"

namespace shmring::gst {

namespace {

bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Whether every structure in caps text starts with a name GStreamer accepts
// (gst_structure_validate_name: a letter first). Quoted strings may hold
// ';', so they are skipped.
bool structure_names_start_with_letters(const char *text) {
  bool at_structure_start = true;
  bool quoted = false;
  for (const char *c = text; *c; ++c) {
    if (quoted) {
      if (*c == '\\' && c[1])
        ++c;
      else if (*c == '"')
        quoted = false;
      continue;
    }
    if (at_structure_start) {
      if (g_ascii_isspace(*c))
        continue;
      if (!is_ascii_letter(*c))
        return false;
      at_structure_start = false;
    }
    if (*c == '"')
      quoted = true;
    else if (*c == ';')
      at_structure_start = true;
  }
  return !at_structure_start || text[0] != '\0';
}

}  // namespace

GstCaps *caps_from_text(const char *text) {
  if (!structure_names_start_with_letters(text))
    return nullptr;
  return gst_caps_from_string(text);
}

GstCaps *caps_from_ring_text(const std::string &text) {
  GstCaps *caps = caps_from_text(text.c_str());
  if (caps && !gst_caps_is_fixed(caps)) {
    gst_caps_unref(caps);
    return nullptr;
  }
  return caps;
}

GstEvent *event_from_ring_record(const RecordInfo &info, const void *data, std::size_t size) {
  // The record's bytes up to the first NUL, if any: the writer wrote the
  // text without one, a hostile one may have put one anywhere.
  const std::string text(static_cast<const char *>(data), size);
  if (info.kind == RecordKind::Tags) {
    // gst_tag_list_new_from_string() refuses other text with a critical
    // warning (fatal under G_DEBUG=fatal-criticals): refuse it first.
    if (!g_str_has_prefix(text.c_str(), "taglist"))
      return nullptr;
    GstTagList *tags = gst_tag_list_new_from_string(text.c_str());
    if (!tags)
      return nullptr;
    gst_tag_list_set_scope(
        tags, info.flags == GST_TAG_SCOPE_GLOBAL ? GST_TAG_SCOPE_GLOBAL : GST_TAG_SCOPE_STREAM);
    return gst_event_new_tag(tags);
  }
  if (info.kind != RecordKind::Event)
    return nullptr;
  if (!structure_names_start_with_letters(text.c_str()))
    return nullptr;  // gst_structure_from_string() would warn, as for caps
  GstStructure *structure = gst_structure_from_string(text.c_str(), nullptr);
  if (!structure)
    return nullptr;
  return gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM, structure);
}

}  // namespace shmring::gst
