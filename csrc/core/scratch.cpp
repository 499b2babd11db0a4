#include "scratch.h"

#include <cstdlib>
#include <new>

namespace fastdl {

namespace {

constexpr int kSlots = 4;
constexpr i64 kAlign = 64;

struct Buffers {
  void* p[kSlots] = {};
  i64 size[kSlots] = {};
  ~Buffers() {
    for (void* q : p) std::free(q);
  }
};

thread_local Buffers t_buffers;

}  // namespace

void* scratch_bytes(i64 bytes, int slot) {
  if (slot < 0 || slot >= kSlots) throw std::invalid_argument("scratch: bad slot");
  Buffers& b = t_buffers;
  if (bytes > b.size[slot]) {
    // Grow by at least half again, so a slowly growing size does not reallocate every call.
    i64 want = round_up(bytes > b.size[slot] * 3 / 2 ? bytes : b.size[slot] * 3 / 2, kAlign);
    std::free(b.p[slot]);
    b.p[slot] = nullptr;
    b.size[slot] = 0;
    void* q = std::aligned_alloc(kAlign, static_cast<size_t>(want));
    if (!q) throw std::bad_alloc();
    b.p[slot] = q;
    b.size[slot] = want;
  }
  return b.p[slot];
}

}  // namespace fastdl
