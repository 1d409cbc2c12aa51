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
//         With bit 2 of the first byte set too (live mode), the last 96
//         bytes are 8 scribbles (a 32-bit offset and a 64-bit value each),
//         stored into the ring's control block one before each read: state
//         that changes between reads, as another process would change it.
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

const shmring::fuzz::RingImage &ring_layout() {
  static const shmring::fuzz::RingImage image = shmring::fuzz::small_ring_image();
  return image;
}

// One 64-bit store into the control block, between two reads.
struct Scribble {
  std::uint32_t offset;
  std::uint64_t value;
};
constexpr std::size_t kScribbleBytes = 12;
constexpr int kReads = 8;

std::vector<Scribble> scribbles_from(const std::uint8_t *data, std::size_t &size) {
  std::vector<Scribble> scribbles;
  if (size < 1 + kScribbleBytes * kReads)
    return scribbles;
  size -= kScribbleBytes * kReads;
  for (int i = 0; i < kReads; ++i) {
    Scribble scribble;
    std::memcpy(&scribble.offset, data + size + i * kScribbleBytes, 4);
    std::memcpy(&scribble.value, data + size + i * kScribbleBytes + 4, 8);
    scribbles.push_back(scribble);
  }
  return scribbles;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  if (size == 0)
    return 0;
  const bool structured = data[0] & 1;
  const bool live = structured && (data[0] & 4);
  const std::vector<Scribble> scribbles =
      live ? scribbles_from(data, size) : std::vector<Scribble>();
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

  // The fuzzer's own view of the control block, to change it between reads.
  std::uint8_t *control = nullptr;
  std::size_t control_size = 0;
  if (live) {
    const shmring::fuzz::RingImage &layout = ring_layout();
    control_size = layout.layout.payload_offset - layout.control();
    void *at =
        mmap(nullptr, layout.layout.payload_offset, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (at != MAP_FAILED)
      control = static_cast<std::uint8_t *>(at) + layout.control();
  }

  try {
    auto reader = shmring::Reader::open({ring_name(), structured && (data[0] & 2), {}});
    for (int i = 0; i < kReads; ++i) {
      if (control && i < static_cast<int>(scribbles.size())) {
        const std::size_t at = (scribbles[i].offset % (control_size / 8)) * 8;
        __atomic_store_n(reinterpret_cast<std::uint64_t *>(control + at), scribbles[i].value,
                         __ATOMIC_RELAXED);
      }
      shmring::Frame frame;
      const shmring::ReadStatus status = reader->next(frame, std::chrono::steady_clock::now());
      if (verbose())
        std::fprintf(stderr, "read status %d, size %llu, caps %s\n", static_cast<int>(status),
                     static_cast<unsigned long long>(frame.record.size),
                     status == shmring::ReadStatus::Frame
                         ? reader->caps(frame.record.caps_id).value_or("(none)").c_str()
                         : "-");
      if (status != shmring::ReadStatus::Frame) {
        // Live mode reads on after a read that found nothing, so that every
        // scribble lands; otherwise nothing newer will come.
        if (live && status == shmring::ReadStatus::Timeout)
          continue;
        break;
      }
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
    if (verbose()) {
      const shmring::ReaderCounters counters = reader->counters();
      std::fprintf(stderr, "reader: received %llu, lost %llu, resyncs %llu\n",
                   static_cast<unsigned long long>(counters.received),
                   static_cast<unsigned long long>(counters.lost),
                   static_cast<unsigned long long>(counters.resyncs));
    }
    (void)reader->caps(size);
    reader->release(static_cast<std::uint32_t>(size));  // out of range: ignored
  } catch (const shmring::Error &error) {
    // Refused with a reason: what should happen to most inputs.
    if (verbose())
      std::fprintf(stderr, "refused: %s\n", error.what());
  }
  if (control) {
    const shmring::fuzz::RingImage &layout = ring_layout();
    munmap(control - layout.control(), layout.layout.payload_offset);
  }
  close(fd);
  shm_unlink(path.c_str());
  return 0;
}
