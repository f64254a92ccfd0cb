#include "rae/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
#endif

namespace rae {

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : int(n);
}

int resolve_threads(int n_threads) {
  int n = n_threads <= 0 ? hardware_threads() : n_threads;
  return std::max(1, std::min(n, 256));
}

long pool_spin_microseconds() {
  static const long us = [] {
    const char* env = std::getenv("RAE_FAST_SPIN_US");
    if (!env || !*env) return 1000L;
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end == env || v < 0) return 1000L;
    return std::min(v, 1000000L);
  }();
  return us;
}

namespace {

// A hint to the CPU that this thread is spinning (frees the core's resources for its sibling
// hyperthread, lowers power).
inline void cpu_relax() {
#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
  _mm_pause();
#elif (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
  __builtin_ia32_pause();
#elif (defined(__GNUC__) || defined(__clang__)) && (defined(__aarch64__) || defined(__arm__))
  __asm__ __volatile__("yield");
#endif
}

using Clock = std::chrono::steady_clock;

// One parallel loop: chunk i covers [begin(i), begin(i + 1)).
struct Job {
  const std::function<void(std::size_t, std::size_t)>* fn = nullptr;
  std::size_t n = 0, n_chunks = 0, grain = 0;  // grain == 0: n_chunks equal static blocks
  int n_workers = 0;                            // pool workers [0, n_workers) take part
  std::atomic<std::size_t> next{0}, done{0};
  std::mutex error_mu;
  std::exception_ptr error;

  std::size_t begin(std::size_t i) const {
    if (grain == 0) return n * i / n_chunks;
    return std::min(n, i * grain);
  }

  // Claims and runs chunks until none is left.
  void work() {
    for (;;) {
      const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= n_chunks) return;
      const std::size_t b = begin(i), e = begin(i + 1);
      if (b < e) {
        try {
          (*fn)(b, e);
        } catch (...) {
          std::lock_guard<std::mutex> lk(error_mu);
          if (!error) error = std::current_exception();
        }
      }
      done.fetch_add(1, std::memory_order_acq_rel);
    }
  }
};

// A pool of persistent workers, one job at a time. The caller publishes a job and takes part in
// it; workers that are awake join at once. Idle workers spin for pool_spin_microseconds() before
// they block on a condition variable, so that back-to-back jobs do not pay for waking threads.
//
// Lifetime of a job (it lives on the caller's stack): a worker announces itself in users_
// before it reads job_, and only works on it while open_ is set; the caller clears open_ once
// every chunk is done and then waits until users_ is zero, so no worker touches a finished job.
class Pool {
 public:
  // Returns false when the pool is busy with another caller's job.
  bool run(Job& job) {
    std::unique_lock<std::mutex> job_lock(job_mu_, std::try_to_lock);
    if (!job_lock.owns_lock()) return false;
    ensure_workers(job.n_workers);
    job_.store(&job);
    open_.store(true);
    gen_.fetch_add(1);
    if (sleepers_.load() > 0) {
      { std::lock_guard<std::mutex> lk(mu_); }
      cv_.notify_all();
    }
    job.work();
    wait_for([&] { return job.done.load(std::memory_order_acquire) == job.n_chunks; });
    open_.store(false);
    wait_for([&] { return users_.load() == 0; });
    job_.store(nullptr);
    return true;
  }

 private:
  // Spins briefly, then yields the CPU, until pred() holds.
  template <class Pred>
  static void wait_for(Pred pred) {
    for (int i = 0; i < 4096; ++i) {
      if (pred()) return;
      cpu_relax();
    }
    while (!pred()) std::this_thread::yield();
  }

  void ensure_workers(int n) {
    while (int(workers_.size()) < n) {
      const int id = int(workers_.size());
      workers_.emplace_back([this, id] { loop(id); });
    }
  }

  // Waits until the generation differs from `seen`; returns the new generation.
  std::uint64_t wait_job(std::uint64_t seen) {
    const long spin_us = pool_spin_microseconds();
    if (spin_us > 0) {
      const Clock::time_point until = Clock::now() + std::chrono::microseconds(spin_us);
      for (;;) {
        for (int i = 0; i < 64; ++i) {
          const std::uint64_t g = gen_.load(std::memory_order_acquire);
          if (g != seen) return g;
          cpu_relax();
        }
        if (Clock::now() >= until) break;
      }
    }
    sleepers_.fetch_add(1);
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return gen_.load() != seen; });
    sleepers_.fetch_sub(1);
    return gen_.load();
  }

  void loop(int id) {
    std::uint64_t seen = 0;
    for (;;) {
      seen = wait_job(seen);
      users_.fetch_add(1);
      Job* job = open_.load() ? job_.load() : nullptr;
      if (job && id < job->n_workers) job->work();
      users_.fetch_sub(1);
    }
  }

  std::mutex job_mu_;  // held by the caller whose job runs
  std::atomic<Job*> job_{nullptr};
  std::atomic<bool> open_{false};
  std::atomic<std::uint64_t> gen_{0};
  std::atomic<int> users_{0}, sleepers_{0};
  std::mutex mu_;  // for sleeping workers
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
};

Pool& pool() {
  // never destroyed: workers may outlive static destruction order (they never exit)
  static Pool* p = new Pool();
  return *p;
}

void run_job(Job& job, int threads) {
  job.n_workers = threads - 1;
  if (threads <= 1 || job.n_chunks <= 1 || !pool().run(job)) job.work();
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace

void parallel_for(std::size_t n, int n_threads,
                  const std::function<void(std::size_t, std::size_t)>& fn) {
  if (n == 0) return;
  int t = resolve_threads(n_threads);
  if (std::size_t(t) > n) t = int(n);
  if (t == 1) {
    fn(0, n);
    return;
  }
  Job job;
  job.fn = &fn;
  job.n = n;
  job.n_chunks = std::size_t(t);  // fixed, contiguous blocks
  job.grain = 0;
  run_job(job, t);
}

void parallel_for_dynamic(std::size_t n, int n_threads, std::size_t grain,
                          const std::function<void(std::size_t, std::size_t)>& fn) {
  if (n == 0) return;
  int t = resolve_threads(n_threads);
  if (std::size_t(t) > n) t = int(n);
  if (t == 1) {
    fn(0, n);
    return;
  }
  if (grain == 0) grain = std::max<std::size_t>(1, n / (8 * std::size_t(t)));
  Job job;
  job.fn = &fn;
  job.n = n;
  job.grain = grain;
  job.n_chunks = (n + grain - 1) / grain;
  run_job(job, t);
}

}  // namespace rae
