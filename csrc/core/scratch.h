// Per-thread reusable workspace for entry functions.
//
// Fresh pages cost about 0.4 ms per MiB on first touch here, so entry
// functions take their workspace from a buffer that lives as long as the
// calling thread and only grows. Each thread has its own buffers, so
// concurrent calls from several Python threads never share one. A slot is
// valid until the next scratch() call for the same slot on the same thread;
// an entry that needs two buffers at once uses two slots.
#pragma once

#include "common.h"

namespace fastdl {

void* scratch_bytes(i64 bytes, int slot);

template <typename T>
T* scratch(i64 count, int slot = 0) {
  return static_cast<T*>(scratch_bytes(checked_mul(count, static_cast<i64>(sizeof(T))), slot));
}

}  // namespace fastdl
