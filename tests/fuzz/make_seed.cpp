// Writes the fuzz target's seed: a structured input (see fuzz_reader.cpp)
// that decodes to one valid frame with caps, built from the current layout
// so that the seed can never fall out of step with it.
//
//   make-fuzz-seed FILE [--live]
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "ring_image.hpp"

int main(int argc, char **argv) {
  using namespace shmring::ring;
  const bool live = argc == 3 && std::string(argv[2]) == "--live";
  if (argc != 2 && !live) {
    std::fprintf(stderr, "usage: %s FILE [--live]\n", argv[0]);
    return 2;
  }
  // The ring fuzz_reader lays its input over. Byte 0: structured, blocking
  // reader. Bytes 1..16: write_seq = 1 and writer state Running. Then the
  // image from the descriptors up to the end of caps entry 1, where caps
  // id 1 lives.
  shmring::fuzz::RingImage image = shmring::fuzz::small_ring_image();
  ControlView view = image.view();
  view.descriptor(0)->seq.store(0);
  view.descriptor(0)->slot.store(0);
  SlotMeta *slot = view.slot(0);
  slot->seq.store(0);
  slot->holders.store(0);
  slot->record.kind = 1;
  slot->record.size = 100;
  slot->record.caps_id = 1;
  CapsEntry *caps = view.caps(1);
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
  const std::size_t image_end = image.caps() + 2 * sizeof(CapsEntry);
  seed.insert(seed.end(), image.bytes.begin() + static_cast<long>(image.descriptors()),
              image.bytes.begin() + static_cast<long>(image_end));

  if (live) {
    // Live mode: then, before each read, a store into the control block
    // (offset in 8-byte words). Here write_seq (word 0) jumps far past the
    // writer and back, after the one record was read; then record 0's
    // descriptor says it is no longer there, and write_seq goes below the
    // reader's cursor: a cursor past the writer, resynchronised. (With
    // record 0 still published, write_seq one below the cursor is a writer
    // in the middle of a publish, which is waited for.)
    seed[0] |= 4;
    const std::uint32_t write_seq_word = 0;
    const auto descriptor_0_word =
        static_cast<std::uint32_t>((image.descriptors() - image.control()) / 8);
    const std::pair<std::uint32_t, std::uint64_t> scribbles[] = {
        {write_seq_word, std::uint64_t{1} << 62},
        {write_seq_word, 1},
        {write_seq_word, 2},
        {write_seq_word, std::uint64_t{1} << 40},
        {descriptor_0_word, kNoSequence},
        {write_seq_word, 0},
        {write_seq_word, 1},
        {write_seq_word, 1}};
    for (const auto &[offset, value] : scribbles) {
      const auto *o = reinterpret_cast<const unsigned char *>(&offset);
      const auto *v = reinterpret_cast<const unsigned char *>(&value);
      seed.insert(seed.end(), o, o + sizeof offset);
      seed.insert(seed.end(), v, v + sizeof value);
    }
  }
  FILE *out = std::fopen(argv[1], "wb");
  if (!out || std::fwrite(seed.data(), 1, seed.size(), out) != seed.size()) {
    std::perror(argv[1]);
    return 1;
  }
  std::fclose(out);
  return 0;
}
