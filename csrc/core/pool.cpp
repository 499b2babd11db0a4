#include "pool.h"

#include <sys/mman.h>

#include <cstdlib>
#include <list>
#include <mutex>
#include <new>

namespace fastdl {

namespace {

constexpr std::size_t kHuge = std::size_t{2} << 20;

struct Block {
  void* p;
  std::size_t bytes;
};

struct Pool {
  std::mutex mu;
  std::list<Block> cached;  // most recently freed first
  std::size_t cached_bytes = 0, limit = std::size_t{512} << 20, hits = 0, misses = 0;

  void trim(std::size_t limit_bytes) {  // mu held
    while (cached_bytes > limit_bytes && !cached.empty()) {
      cached_bytes -= cached.back().bytes;
      std::free(cached.back().p);
      cached.pop_back();
    }
  }
};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: arrays may be freed during interpreter exit
  return *p;
}

}  // namespace

void* pool_alloc(std::size_t bytes, std::size_t* class_bytes) {
  const std::size_t cls = (bytes + kHuge - 1) / kHuge * kHuge;
  *class_bytes = cls;
  Pool& pl = pool();
  {
    std::lock_guard<std::mutex> lock(pl.mu);
    for (auto it = pl.cached.begin(); it != pl.cached.end(); ++it)
      if (it->bytes == cls) {
        void* p = it->p;
        pl.cached_bytes -= cls;
        pl.cached.erase(it);
        ++pl.hits;
        return p;
      }
    ++pl.misses;
  }
  void* p = std::aligned_alloc(kHuge, cls);
  if (!p) throw std::bad_alloc();
  madvise(p, cls, MADV_HUGEPAGE);  // advice only: fewer, cheaper faults where THP is on
  return p;
}

void pool_free(void* p, std::size_t class_bytes) {
  Pool& pl = pool();
  std::lock_guard<std::mutex> lock(pl.mu);
  if (class_bytes > pl.limit) {
    std::free(p);
    return;
  }
  pl.cached.push_front(Block{p, class_bytes});
  pl.cached_bytes += class_bytes;
  pl.trim(pl.limit);
}

void pool_set_limit(std::size_t bytes) {
  Pool& pl = pool();
  std::lock_guard<std::mutex> lock(pl.mu);
  pl.limit = bytes;
  pl.trim(bytes);
}

PoolStats pool_stats() {
  Pool& pl = pool();
  std::lock_guard<std::mutex> lock(pl.mu);
  return PoolStats{pl.cached_bytes, pl.cached.size(), pl.limit, pl.hits, pl.misses};
}

}  // namespace fastdl
