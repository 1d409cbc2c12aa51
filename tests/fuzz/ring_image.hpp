// The ring the fuzz target lays its structured inputs over, and the seed
// generator builds its seed for: 4 slots of 4096 bytes, no user area. Both
// take the layout from the core, so neither can fall out of step with it.
#pragma once

#include <cstdint>
#include <vector>

#include "kind_traits.hpp"
#include "named_object.hpp"
#include "ring_layout.hpp"

namespace shmring::fuzz {

struct RingImage {
  object::Layout layout;
  ring::Geometry geometry;
  std::vector<std::uint8_t> bytes;  // the whole object, header ready

  // Offsets in `bytes` of the live parts an input may overwrite.
  std::size_t control() const { return layout.control_offset; }
  std::size_t descriptors() const { return layout.control_offset + geometry.descriptors_offset; }
  std::size_t caps() const { return layout.control_offset + geometry.caps_offset; }
  ring::ControlView view() {
    return ring::ControlView{reinterpret_cast<std::byte *>(bytes.data() + control()), geometry};
  }
};

inline RingImage small_ring_image() {
  RingImage image;
  const object::Params params = ring::params_for(4, 4096, UserSchema{});
  ring::compute_geometry(params, image.geometry);
  object::compute_layout(*object::traits_of(ObjectKind::Ring), params, image.layout);
  image.bytes.assign(image.layout.total_size, 0);
  auto *header = reinterpret_cast<object::ObjectHeader *>(image.bytes.data());
  object::write_header(*header, ObjectKind::Ring, params, image.layout);
  header->ready.store(1);
  ring::init_control(image.view());
  return image;
}

}  // namespace shmring::fuzz
