// The threads a cold evaluation is split across (scoring::ParallelRunner): a fixed pool, with the calling thread
// taking the first task, so `threads` extra threads give parallelism threads + 1.
#ifndef TESSERA_EXTENDER_PARALLEL_RUNNER_H_
#define TESSERA_EXTENDER_PARALLEL_RUNNER_H_

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <latch>
#include <memory>

#include "scoring/framework.h"

namespace tessera::extender {

class ThreadPoolRunner : public scoring::ParallelRunner {
 public:
  explicit ThreadPoolRunner(size_t threads) : threads_(threads), pool_(threads) {}
  ~ThreadPoolRunner() override { pool_.join(); }

  size_t parallelism() const override { return threads_ + 1; }
  // Evaluations split so far.
  uint64_t runs() const { return runs_.load(std::memory_order_relaxed); }
  void Run(size_t tasks, const std::function<void(size_t)>& task) override {
    if (tasks == 0) return;
    runs_.fetch_add(1, std::memory_order_relaxed);
    std::latch done(static_cast<std::ptrdiff_t>(tasks - 1));
    for (size_t t = 1; t < tasks; ++t) {
      boost::asio::post(pool_, [&task, &done, t] {
        task(t);
        done.count_down();
      });
    }
    task(0);
    done.wait();
  }

 private:
  size_t threads_;
  std::atomic<uint64_t> runs_{0};
  boost::asio::thread_pool pool_;
};

}  // namespace tessera::extender

#endif  // TESSERA_EXTENDER_PARALLEL_RUNNER_H_
