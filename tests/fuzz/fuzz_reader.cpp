// libFuzzer target: arbitrary bytes as a ring image, through everything a
// reader does with a ring another process wrote: open and validate, read
// records, look up caps, release slots. A crash, a hang, an out-of-bounds
// access (ASan) or undefined behaviour (UBSan) is a finding.
//
// The first input byte picks the shape:
//   even: the remaining bytes are the whole shared object (header checks);
//   odd:  a valid header for a small ring (its write cursor and state from the
//         input), with the rest of the input laid over the descriptors, slot
//         records and caps table, so that reads meet hostile sequence numbers,
//         slot indexes, sizes and caps lengths. The participant table stays
//         empty so that the reader gets an entry and reads, and this process
//         holds the owner lock, so that the writer counts as alive.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ring_image.hpp"
#include "shmring/error.hpp"
#include "shmring/reader.hpp"

namespace {

const std::string &ring_name() {
  static const std::string name = "fuzz-" + std::to_string(getpid());
  return name;
}

std::vector<std::uint8_t> valid_image_with(const std::uint8_t *data, std::size_t size) {
  shmring::fuzz::RingImage image = shmring::fuzz::small_ring_image();
  if (size > 16) {
    const std::size_t at = image.descriptors();
    std::memcpy(image.bytes.data() + at, data + 16, std::min(size - 16, image.bytes.size() - at));
  }
  // The live part of the control block comes from the input too.
  if (size >= 16) {
    shmring::ring::RingControl *control = image.view().control();
    std::uint64_t write_seq;
    std::memcpy(&write_seq, data, sizeof(write_seq));
    control->write_seq.store(write_seq % 64);
    std::uint32_t state;
    std::memcpy(&state, data + 8, sizeof(state));
    control->writer_state.store(state % 4);
  }
  return std::move(image.bytes);
}

}  // namespace

// SHMRING_FUZZ_VERBOSE=1 ./fuzz-reader FILE says what the reader made of an
// input, to reproduce a finding or check a seed.
bool verbose() {
  static const bool on = std::getenv("SHMRING_FUZZ_VERBOSE") != nullptr;
  return on;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  if (size == 0)
    return 0;
  const bool structured = data[0] & 1;
  std::vector<std::uint8_t> image = structured ? valid_image_with(data + 1, size - 1)
                                               : std::vector<std::uint8_t>(data + 1, data + size);

  const std::string path = "/shmring." + ring_name();
  int fd = shm_open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    return 0;
  if (ftruncate(fd, static_cast<off_t>(image.size())) == 0 && !image.empty())
    (void)!pwrite(fd, image.data(), image.size(), 0);
  // A live writer: this process holds the owner lock through a descriptor
  // of its own (the reader's open is another one, so it sees the lock).
  struct flock owner {};
  owner.l_type = F_WRLCK;
  owner.l_whence = SEEK_SET;
  owner.l_start = 0;
  owner.l_len = 1;
  (void)fcntl(fd, F_OFD_SETLK, &owner);

  try {
    auto reader = shmring::Reader::open({ring_name(), structured && (data[0] & 2), {}});
    for (int i = 0; i < 8; ++i) {
      shmring::Frame frame;
      const shmring::ReadStatus status = reader->next(frame, std::chrono::steady_clock::now());
      if (verbose())
        std::fprintf(stderr, "read status %d, size %llu, caps %s\n", static_cast<int>(status),
                     static_cast<unsigned long long>(frame.record.size),
                     status == shmring::ReadStatus::Frame
                         ? reader->caps(frame.record.caps_id).value_or("(none)").c_str()
                         : "-");
      if (status != shmring::ReadStatus::Frame)
        break;
      // Touch every byte the record claims: it must lie inside the mapping.
      unsigned sum = 0;
      for (std::uint64_t b = 0; b < frame.record.size; b += 64)
        sum += static_cast<unsigned>(frame.data[b]);
      if (frame.record.size > 0)
        sum += static_cast<unsigned>(frame.data[frame.record.size - 1]);
      (void)sum;
      (void)reader->caps(frame.record.caps_id);
      reader->release(frame.slot);
    }
    (void)reader->caps(size);
    reader->release(static_cast<std::uint32_t>(size));  // out of range: ignored
  } catch (const shmring::Error &error) {
    // Refused with a reason: what should happen to most inputs.
    if (verbose())
      std::fprintf(stderr, "refused: %s\n", error.what());
  }
  close(fd);
  shm_unlink(path.c_str());
  return 0;
}
