// Per-thread scratch memory for the kernels (internal).
#pragma once

#include <cstddef>
#include <memory>

namespace rae {

// Largest scratch buffer a thread keeps between calls. Larger requests (single transforms of
// millions of points) get a buffer of their own, freed when the call ends, so that one huge
// transform does not leave gigabytes allocated per thread.
constexpr std::size_t kScratchKeepBytes = std::size_t(64) << 20;

// A buffer of at least n elements for the calling thread, valid while this object lives. The
// kernels initialise everything they read, so it is not cleared. Objects of different Slots are
// different buffers (one thread can hold one of each at a time).
template <class T, int Slot = 0>
class ThreadScratch {
 public:
  explicit ThreadScratch(std::size_t n) {
    if (n <= kScratchKeepBytes / sizeof(T)) {
      thread_local std::unique_ptr<T[]> buf;
      thread_local std::size_t cap = 0;
      if (cap < n) {
        buf.reset();
        buf.reset(new T[n]);
        cap = n;
      }
      ptr_ = buf.get();
    } else {
      own_.reset(new T[n]);
      ptr_ = own_.get();
    }
  }
  T* get() const { return ptr_; }

 private:
  std::unique_ptr<T[]> own_;
  T* ptr_ = nullptr;
};

}  // namespace rae
