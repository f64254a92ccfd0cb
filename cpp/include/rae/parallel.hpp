// Threads: a persistent worker pool and a deterministic parallel_for.
#pragma once

#include <cstddef>
#include <functional>

namespace rae {

// Number of hardware threads (at least 1).
int hardware_threads();

// n_threads <= 0 means "all cores"; the result is clamped to [1, 256].
int resolve_threads(int n_threads);

// Calls fn(begin, end) on contiguous, disjoint blocks that cover [0, n), using up to n_threads
// threads (the calling thread included). Blocks are a fixed function of (n, n_threads), so work
// that depends only on the index gives identical results for any thread count. The first
// exception thrown by fn is re-thrown in the caller after all blocks finished. Concurrent calls
// from different threads are safe (a call that finds the pool busy runs its blocks itself).
void parallel_for(std::size_t n, int n_threads,
                  const std::function<void(std::size_t, std::size_t)>& fn);

}  // namespace rae
