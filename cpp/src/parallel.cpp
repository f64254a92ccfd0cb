#include "rae/parallel.hpp"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace rae {

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : int(n);
}

int resolve_threads(int n_threads) {
  int n = n_threads <= 0 ? hardware_threads() : n_threads;
  return std::max(1, std::min(n, 256));
}

namespace {

// A pool of persistent workers. One job at a time: a job is a list of blocks that the caller
// and the workers claim one by one.
class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  // Returns false when the pool is busy with another caller's job.
  bool run(std::size_t n_blocks, int n_threads, const std::function<void(std::size_t)>& block) {
    std::unique_lock<std::mutex> job_lock(job_mu_, std::try_to_lock);
    if (!job_lock.owns_lock()) return false;
    ensure_workers(n_threads - 1);
    {
      std::lock_guard<std::mutex> lk(mu_);
      block_ = &block;
      n_blocks_ = n_blocks;
      next_ = 0;
      done_ = 0;
      error_ = nullptr;
      active_limit_ = std::size_t(n_threads - 1);
      ++generation_;
    }
    cv_.notify_all();
    work();
    {
      std::unique_lock<std::mutex> lk(mu_);
      done_cv_.wait(lk, [&] { return done_ == n_blocks_ && busy_ == 0; });
      block_ = nullptr;
    }
    if (error_) std::rethrow_exception(error_);
    return true;
  }

 private:
  void ensure_workers(int n) {
    while (int(workers_.size()) < n) {
      std::size_t id = workers_.size();
      workers_.emplace_back([this, id] { loop(id); });
    }
  }

  void loop(std::size_t id) {
    std::size_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stop_ || (generation_ != seen && block_ != nullptr); });
        if (stop_) return;
        seen = generation_;
        if (id >= active_limit_) continue;
        ++busy_;
      }
      work();
      {
        std::lock_guard<std::mutex> lk(mu_);
        --busy_;
      }
      done_cv_.notify_all();
    }
  }

  void work() {
    for (;;) {
      std::size_t i;
      const std::function<void(std::size_t)>* fn;
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (next_ >= n_blocks_) return;
        i = next_++;
        fn = block_;
      }
      try {
        (*fn)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu_);
        if (!error_) error_ = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lk(mu_);
        ++done_;
      }
      done_cv_.notify_all();
    }
  }

  std::mutex job_mu_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::vector<std::thread> workers_;
  const std::function<void(std::size_t)>* block_ = nullptr;
  std::size_t n_blocks_ = 0, next_ = 0, done_ = 0, busy_ = 0, active_limit_ = 0;
  std::size_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: workers may outlive static destruction order
  return *p;
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
  // fixed, contiguous blocks
  const std::size_t nb = std::size_t(t);
  auto block = [&](std::size_t b) {
    std::size_t begin = n * b / nb, end = n * (b + 1) / nb;
    if (begin < end) fn(begin, end);
  };
  std::function<void(std::size_t)> blockf = block;
  if (!pool().run(nb, t, blockf)) {
    for (std::size_t b = 0; b < nb; ++b) block(b);
  }
}

}  // namespace rae
