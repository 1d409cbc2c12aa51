// The input format of fuzz-records (fuzz_records.cpp), shared with the
// program that writes its seeds (make_records_seeds.cpp):
//
//   RecordHeader (32 bytes) | BufferMeta (the plugin's user area) |
//   caps text length (2 bytes, little-endian) | caps text | payload
//
// The record header's size field is ignored: the core guarantees that a
// record's size is the payload it hands over, so the payload's length is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ring_record.h"
#include "shmring/reader.hpp"

namespace shmring::fuzz {

constexpr std::size_t kRecordInputFixed =
    sizeof(RecordHeader) + sizeof(gst::BufferMeta) + sizeof(std::uint16_t);

struct RecordInput {
  Frame frame;
  std::string caps_text;
};

// False when the input is too short to hold the fixed part and the caps text.
inline bool decode_record_input(const std::uint8_t *data, std::size_t size, RecordInput &out) {
  if (size < kRecordInputFixed)
    return false;
  std::memcpy(static_cast<void *>(&out.frame.record), data, sizeof(RecordHeader));
  std::memcpy(out.frame.user, data + sizeof(RecordHeader), sizeof(gst::BufferMeta));
  const std::size_t caps_length =
      data[kRecordInputFixed - 2] | (std::size_t{data[kRecordInputFixed - 1]} << 8);
  if (size - kRecordInputFixed < caps_length)
    return false;
  out.caps_text.assign(reinterpret_cast<const char *>(data + kRecordInputFixed), caps_length);
  const std::size_t payload_at = kRecordInputFixed + caps_length;
  out.frame.data = reinterpret_cast<const std::byte *>(data + payload_at);
  out.frame.record.size = size - payload_at;
  return true;
}

inline std::vector<std::uint8_t> encode_record_input(const RecordHeader &header,
                                                     const gst::BufferMeta &meta,
                                                     const std::string &caps_text,
                                                     const std::string &payload) {
  std::vector<std::uint8_t> bytes(kRecordInputFixed);
  std::memcpy(bytes.data(), &header, sizeof header);
  std::memcpy(bytes.data() + sizeof header, &meta, sizeof meta);
  bytes[kRecordInputFixed - 2] = static_cast<std::uint8_t>(caps_text.size() & 0xff);
  bytes[kRecordInputFixed - 1] = static_cast<std::uint8_t>(caps_text.size() >> 8);
  bytes.insert(bytes.end(), caps_text.begin(), caps_text.end());
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  return bytes;
}

}  // namespace shmring::fuzz
