// The threads a cold evaluation is split across (scoring::ParallelRunner): a fixed pool, with the calling thread
// taking the first task, so `threads` extra threads give parallelism threads + 1.
#ifndef TESSERA_EXTENDER_PARALLEL_RUNNER_H_
#define TESSERA_EXTENDER_PARALLEL_RUNNER_H_

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "scoring/framework.h"

namespace tessera::extender {

class ThreadPoolRunner : public scoring::ParallelRunner {
 public:
  explicit ThreadPoolRunner(size_t threads) : threads_(threads), pool_(threads) {}
  ~ThreadPoolRunner() override { pool_.join(); }

  size_t parallelism() const override { return threads_ + 1; }
  // Evaluations split so far.
  uint64_t runs() const { return runs_.load(std::memory_order_relaxed); }
  // The caller's task runs here; the others are offered to the pool. A pool task that has not started by the
  // time the caller's task returns is skipped rather than waited for: the caller's task only returns once no work
  // is left to claim (the contract of ParallelRunner::Run), and waiting for a thread the OS has not yet woken to
  // find nothing to do was the tail of the cold filter (a p99 twice its median on a 2-core machine).
  void Run(size_t tasks, const std::function<void(size_t)>& task) override {
    if (tasks == 0) return;
    runs_.fetch_add(1, std::memory_order_relaxed);
    // Shared with the posted tasks, which may start after this call returned: they must then touch nothing of
    // the caller's frame.
    struct Gate {
      std::mutex mu;
      std::condition_variable idle;
      bool closed = false;
      int running = 0;
    };
    auto gate = std::make_shared<Gate>();
    for (size_t t = 1; t < tasks; ++t) {
      boost::asio::post(pool_, [gate, &task, t] {
        {
          std::lock_guard<std::mutex> lock(gate->mu);
          if (gate->closed) return;  // `task` may be gone: the caller returned
          ++gate->running;
        }
        task(t);
        std::lock_guard<std::mutex> lock(gate->mu);
        if (--gate->running == 0) gate->idle.notify_all();
      });
    }
    task(0);
    std::unique_lock<std::mutex> lock(gate->mu);
    gate->closed = true;
    gate->idle.wait(lock, [&] { return gate->running == 0; });
  }

 private:
  size_t threads_;
  std::atomic<uint64_t> runs_{0};
  boost::asio::thread_pool pool_;
};

}  // namespace tessera::extender

#endif  // TESSERA_EXTENDER_PARALLEL_RUNNER_H_
