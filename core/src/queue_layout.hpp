// The control block of a queue-mode circular buffer (see circular_buffer.hpp).
//
// Position p (64-bit, never wraps) lives in node p % N, lap p / N. Each node
// has one 64-bit word: lap (48 bits, compared for equality only) | state |
// owner. A node moves Free(L) -> Writing(L) -> Full(L) -> Reading(L) ->
// Free(L+1); a writer that gives up or dies turns Writing(L) into
// Abandoned(L), which the reader at that position skips. Claims are CASes on
// the node word, so the claimer is recorded in the same atomic step as the
// claim: nobody can hold a node anonymously. The owner is the claimer's entry
// in the object's participant table (named_object.hpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "named_object.hpp"

namespace shmring::queue {

constexpr std::uint32_t kLayoutVersion = 1;  // of everything in this file
constexpr std::uint64_t kMaxNodes = 1u << 20;
constexpr std::uint64_t kLapMask = (std::uint64_t{1} << 48) - 1;
static_assert(object::kMaxParticipants <= 256, "a node word records its owner in 8 bits");

enum class NodeState : std::uint8_t { Free = 0, Writing = 1, Full = 2, Reading = 3, Abandoned = 4 };

struct NodeWord {
  std::uint64_t lap;
  NodeState state;
  std::uint8_t owner;

  static NodeWord decode(std::uint64_t word) {
    return NodeWord{word >> 16, static_cast<NodeState>((word >> 8) & 0xff),
                    static_cast<std::uint8_t>(word & 0xff)};
  }
  std::uint64_t encode() const {
    return ((lap & kLapMask) << 16) | (std::uint64_t{static_cast<std::uint8_t>(state)} << 8) |
           owner;
  }
};

// Signed distance between two 48-bit laps (they never drift 2^47 apart).
inline std::int64_t lap_distance(std::uint64_t node_lap, std::uint64_t position_lap) {
  const std::uint64_t diff = (node_lap - position_lap) & kLapMask;
  return diff >= (std::uint64_t{1} << 47)
             ? static_cast<std::int64_t>(diff) - (std::int64_t{1} << 48)
             : static_cast<std::int64_t>(diff);
}

struct alignas(64) NodeMeta {
  std::atomic<std::uint64_t> word;
  std::atomic<std::uint64_t> size;  // bytes committed; written before Full
};
static_assert(sizeof(NodeMeta) == 64, "region layout counts one cache line per node");

struct alignas(64) QueueControl {
  alignas(64) std::atomic<std::uint64_t> enqueue_pos;  // next position writers claim
  // The CPU a writer last ran on when it claimed (same_cpu.hpp's tag: CPU
  // + 1, 0 unknown), for readers deciding whether to yield to it. In spare
  // bytes of the line writers write on every claim: an older build leaves 0.
  std::atomic<std::uint32_t> writer_cpu;
  alignas(64) std::atomic<std::uint64_t> dequeue_pos;  // next position readers claim
  std::atomic<std::uint32_t> reader_cpu;               // the same, of readers
  alignas(64) std::atomic<std::uint32_t> data_word;    // readers sleep here
  std::atomic<std::uint32_t> data_waiters;
  std::atomic<std::uint32_t> space_word;  // writers sleep here
  std::atomic<std::uint32_t> space_waiters;
  std::atomic<std::uint64_t> abandoned;
  std::atomic<std::uint64_t> lost;
  // NodeMeta nodes[node_count] follow.

  NodeMeta *nodes() { return reinterpret_cast<NodeMeta *>(this + 1); }
};
static_assert(offsetof(QueueControl, writer_cpu) == 8);
static_assert(offsetof(QueueControl, dequeue_pos) == 64);
static_assert(offsetof(QueueControl, reader_cpu) == 72);
static_assert(offsetof(QueueControl, data_word) == 128);
static_assert(offsetof(QueueControl, lost) == 152);
static_assert(sizeof(QueueControl) == 192);

// The params: node count and node size.
enum Param { kNodeCount = 0, kNodeSize = 1 };

}  // namespace shmring::queue
