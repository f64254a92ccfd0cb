// Per-thread scratch memory for the kernels (internal).
#pragma once

#include <cstddef>
#include <memory>

namespace rae {

// A buffer of at least n elements owned by the calling thread, reused across calls (the kernels
// initialise everything they read, so it is not cleared). Valid until the thread's next call.
template <class T>
T* thread_scratch(std::size_t n) {
  thread_local std::unique_ptr<T[]> buf;
  thread_local std::size_t cap = 0;
  if (cap < n) {
    buf.reset();
    buf.reset(new T[n]);
    cap = n;
  }
  return buf.get();
}

}  // namespace rae
