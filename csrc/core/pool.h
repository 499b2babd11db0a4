// A cache of large blocks for outputs: freed blocks are kept (up to a limit)
// and handed to the next request of the same size class, so a training loop
// that allocates the same big outputs every step does not pay the kernel's
// page zeroing again (the first touch of fresh pages: ~2.8 ms per 64 MiB
// here, a sizable share of a memory-bound op's time).
//
// Size classes: the request rounded up to 2 MiB (blocks are 2 MiB aligned
// and advised as huge pages). Thread-safe (one mutex); blocks leave the cache
// oldest first when the limit is reached.
#pragma once

#include <cstddef>

namespace fastdl {

// A block of at least `bytes` (64-byte aligned; 2 MiB aligned for >= 1 MiB).
// Throws std::bad_alloc.
void* pool_alloc(std::size_t bytes, std::size_t* class_bytes);

// Returns a block from pool_alloc (class_bytes as it reported).
void pool_free(void* p, std::size_t class_bytes);

// Bytes the cache may keep (default 512 MiB); 0 turns caching off and frees
// what is cached.
void pool_set_limit(std::size_t bytes);

struct PoolStats {
  std::size_t cached_bytes, cached_blocks, limit, hits, misses;
};
PoolStats pool_stats();

}  // namespace fastdl
