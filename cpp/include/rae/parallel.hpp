// Threads: a persistent worker pool and deterministic parallel loops.
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

// Like parallel_for, but [0, n) is cut into chunks of `grain` indices (the last one shorter)
// that the threads claim one at a time: a thread that starts late (a busy machine) or runs
// slowly does less of the work instead of holding everyone up. Which thread runs a chunk varies
// from call to call, so fn's results must depend only on the indices (as they must for
// parallel_for to be thread-count invariant). grain = 0 picks about 8 chunks per thread.
void parallel_for_dynamic(std::size_t n, int n_threads, std::size_t grain,
                          const std::function<void(std::size_t, std::size_t)>& fn);

// Pool workers wait for the next job by spinning for this many microseconds before they sleep
// (back-to-back calls, e.g. a loop of transforms, then find them awake: waking a sleeping thread
// costs tens of microseconds, as much as a whole small batch). Default 1000; the environment
// variable RAE_FAST_SPIN_US sets it (0: sleep at once, for machines shared with other work).
long pool_spin_microseconds();

}  // namespace rae
