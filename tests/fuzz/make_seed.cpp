// Writes the fuzz target's seed: a structured input (see fuzz_reader.cpp)
// that decodes to one valid frame with caps, built from the current layout
// so that the seed can never fall out of step with it.
//
//   make-fuzz-seed FILE
#include <cstdio>
#include <cstring>
#include <new>
#include <vector>

#include "layout.hpp"

int main(int argc, char **argv) {
  using namespace shmring::layout;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FILE\n", argv[0]);
    return 2;
  }
  Geometry g;
  compute_geometry(4, 4096, g);  // the ring fuzz_reader lays its input over
  // Build the control area as the writer would lay it out (aligned), then
  // cut the seed from it. Byte 0: structured, blocking reader. Bytes 1..16:
  // write_seq = 1 and writer state Running. Then the image from the
  // descriptors up to the end of caps entry 1, where caps id 1 lives.
  const std::size_t image_end = g.caps_offset + 2 * sizeof(CapsEntry);
  auto *image = static_cast<unsigned char *>(
      ::operator new(image_end, std::align_val_t{kCacheLine}));
  std::memset(image, 0, image_end);

  auto *descriptor = reinterpret_cast<Descriptor *>(image + g.descriptors_offset);
  descriptor->seq.store(0);
  descriptor->slot.store(0);
  auto *slot = reinterpret_cast<SlotMeta *>(image + g.slots_offset);
  slot->seq.store(0);
  slot->holders.store(0);
  slot->record.kind = shmring::RecordKind::Buffer;
  slot->record.size = 100;
  slot->record.pts = 0;
  slot->record.caps_id = 1;
  slot->record.n_references = 1;
  std::strcpy(slot->record.references[0].caps, "timestamp/x-ntp");
  auto *caps = reinterpret_cast<CapsEntry *>(image + g.caps_offset + sizeof(CapsEntry));
  const char text[] = "video/x-raw, format=(string)GRAY8, width=(int)10, height=(int)10";
  caps->id.store(1);
  caps->length.store(sizeof text - 1);
  std::memcpy(caps->text, text, sizeof text - 1);

  std::vector<unsigned char> seed(1 + 16);
  seed[0] = 1;
  const std::uint64_t write_seq = 1;
  const std::uint32_t running = static_cast<std::uint32_t>(WriterState::Running);
  std::memcpy(&seed[1], &write_seq, sizeof write_seq);
  std::memcpy(&seed[9], &running, sizeof running);
  seed.insert(seed.end(), image + g.descriptors_offset, image + image_end);
  ::operator delete(image, std::align_val_t{kCacheLine});

  FILE *out = std::fopen(argv[1], "wb");
  if (!out || std::fwrite(seed.data(), 1, seed.size(), out) != seed.size()) {
    std::perror(argv[1]);
    return 1;
  }
  std::fclose(out);
  return 0;
}
