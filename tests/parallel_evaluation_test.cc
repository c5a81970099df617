// Cold evaluations split across threads (scoring::ParallelRunner) answer exactly as the serial path does: the
// same verdict, reason, placement and score on every node, the same best node, the same memo afterwards. Seeded
// random clusters from the shared topologies, random pods of every QoS class, with and without the memo; and
// through the extender's filter and prioritize verbs, byte for byte.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <random>

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "extender/extender_service.h"
#include "extender/parallel_runner.h"
#include "scoring/scheduler.h"
#include "scoring/verdict_memo.h"
#include "tests/shared_cnr.h"
#include "tests/shared_data.h"

namespace tessera::scoring {
namespace {

constexpr int64_t kGi = int64_t{1} << 30;

PodRequest RandomPod(std::mt19937_64& rng, int i) {
  PodRequest p;
  p.name = "p" + std::to_string(i);
  p.uid = "uid-" + std::to_string(i);
  p.namespace_name = "ns";
  const int64_t cores = 1 + static_cast<int64_t>(rng() % 24);
  p.cpu_milli = cores * 1000;
  p.memory_bytes = (1 + static_cast<int64_t>(rng() % 64)) * kGi;
  p.guaranteed = true;
  switch (rng() % 5) {
    case 0:
    case 1:
      p.qos = QosLevel::kDedicatedCores;
      p.numa_binding = true;
      p.numa_exclusive = rng() % 6 == 0;
      break;
    case 2:
      p.qos = QosLevel::kSharedCores;
      p.cpu_milli = 100 + static_cast<int64_t>(rng() % 8000);
      p.guaranteed = false;
      break;
    case 3:
      p.qos = QosLevel::kReclaimedCores;
      p.cpu_milli = p.memory_bytes = 0;
      p.guaranteed = false;
      p.reclaimed_milli_cpu = 500 + static_cast<int64_t>(rng() % 4000);
      p.reclaimed_memory_bytes = (1 + static_cast<int64_t>(rng() % 8)) * kGi;
      p.numa_binding = rng() % 2 == 0;
      break;
    default:
      p.qos = QosLevel::kDedicatedCores;  // not NUMA-bound: floats in the shared pool
      break;
  }
  p.containers.push_back({"main", p.cpu_milli, p.memory_bytes, p.guaranteed});
  return p;
}

std::string Describe(const SchedulingResult& r) {
  std::string out = "best=" + std::to_string(r.best) + " error=" + r.pod_error + "\n";
  for (const NodeVerdict& v : r.verdicts) {
    out += std::to_string(v.node) + " " + std::to_string(static_cast<int>(v.code)) + " " +
           std::string(v.failed_plugin) + " " + v.reason + " " + std::to_string(v.placement.numa_mask) + " " +
           std::to_string(v.placement.exclusive) + " " + std::to_string(v.score) + "\n";
  }
  return out;
}

TEST(ParallelEvaluation, SplitAcrossThreadsAnswersExactlyAsTheSerialPath) {
  // Machines without cards: on a cluster with cards the GPU policies score every pod and evaluation stays serial.
  TESSERA_REQUIRE_SHARED("topologies/topo.dp-intelmax01-flat.xml");
  TESSERA_REQUIRE_SHARED("topologies/32em64t-2n8c2t-pci-noio.xml");
  const std::vector<topology::NodeTopology> machines = {testing::SharedTopology("topo.dp-intelmax01-flat.xml"),
                                                        testing::SharedTopology("32em64t-2n8c2t-pci-noio.xml")};
  extender::ThreadPoolRunner runner(2);
  for (uint64_t seed : {1u, 2u, 3u}) {
    std::mt19937_64 rng(seed);
    ClusterState cluster;
    for (int i = 0; i < 1500; ++i) {
      NodePolicies p{i % 3 == 0 ? TopologyPolicy::kSingleNumaNode : TopologyPolicy::kRestricted,
                     TopologyScope::kContainer, true, i % 2 == 0};
      cluster.AddNode(NodeStateFromTopology("n" + std::to_string(i), machines[i % machines.size()], p));
    }
    SchedulerConfig serial_config;
    SchedulerConfig parallel_config;
    parallel_config.parallel = &runner;
    parallel_config.parallel_min_nodes = 100;
    Scheduler serial(serial_config), parallel(parallel_config);
    VerdictMemo serial_memo, parallel_memo;
    std::vector<uint32_t> all(cluster.node_count());
    for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
    int placed = 0;
    for (int i = 0; i < 300; ++i) {
      const PodRequest pod = RandomPod(rng, i);
      const std::string shape = "shape-" + std::to_string(rng() % 8);  // shapes recur: warm and cold memos
      SchedulingResult a, b, c, d;
      serial.ScheduleInto(cluster, pod, all, &a);
      parallel.ScheduleInto(cluster, pod, all, &b);
      ASSERT_EQ(Describe(a), Describe(b)) << "seed " << seed << " pod " << i;
      // The memo keys on the shape name: give each pod its own so both memos see the same sequence.
      const std::string key = shape + "/" + std::to_string(pod.cpu_milli) + "/" +
                              std::to_string(pod.memory_bytes) + "/" + std::to_string(static_cast<int>(pod.qos)) +
                              std::to_string(pod.numa_binding) + std::to_string(pod.numa_exclusive) +
                              std::to_string(pod.reclaimed_milli_cpu);
      serial.ScheduleInto(cluster, pod, all, &c, &serial_memo, key);
      parallel.ScheduleInto(cluster, pod, all, &d, &parallel_memo, key);
      ASSERT_EQ(Describe(a), Describe(c)) << "seed " << seed << " pod " << i;
      ASSERT_EQ(Describe(c), Describe(d)) << "seed " << seed << " pod " << i;
      if (const NodeVerdict* best = a.Best(); best != nullptr && cluster.Reserve(pod, best->placement).ok())
        ++placed;
    }
    EXPECT_EQ(serial_memo.hits(), parallel_memo.hits());
    EXPECT_GE(runner.runs(), 300u) << "the cold evaluations were split";
    EXPECT_EQ(serial_memo.misses(), parallel_memo.misses());
    EXPECT_GT(placed, 150) << "seed " << seed;
  }
}

}  // namespace
}  // namespace tessera::scoring

namespace tessera::extender {
namespace {

std::string CnrJson(const std::string& name, const topology::NodeTopology& t) {
  crd::CnrBuildOptions o;
  o.node_name = name;
  o.topology_policy = "single-numa-node";
  o.heartbeat_time = "2099-01-01T00:00:00Z";
  return crd::EncodeCnr(*crd::BuildCnr(t, o));
}

TEST(ParallelEvaluation, TheExtenderAnswersTheSameWithEvaluationThreads) {
  TESSERA_REQUIRE_SHARED("topologies/topo.dp-intelmax01-flat.xml");
  TESSERA_REQUIRE_SHARED("topologies/32em64t-2n8c2t-pci-noio.xml");
  const topology::NodeTopology flat = testing::SharedTopology("topo.dp-intelmax01-flat.xml"),
                               small = testing::SharedTopology("32em64t-2n8c2t-pci-noio.xml");
  std::vector<std::string> nodes, cnrs;
  std::string names;
  for (int i = 0; i < 1200; ++i) {
    const std::string name = "node-" + std::to_string(i);
    nodes.push_back(R"({"metadata":{"name":")" + name + R"("}})");
    cnrs.push_back(CnrJson(name, i % 2 == 0 ? flat : small));
    names += (i ? ",\"" : "\"") + name + "\"";
  }
  ExtenderOptions serial_options, parallel_options;
  parallel_options.evaluation_threads = 2;
  ExtenderService serial(serial_options), parallel(parallel_options);
  for (ExtenderService* s : {&serial, &parallel}) {
    s->Replace(ExtenderService::Kind::kNode, nodes);
    s->Replace(ExtenderService::Kind::kCnr, cnrs);
    s->Replace(ExtenderService::Kind::kPod, {});
  }
  std::mt19937_64 rng(5);
  for (int i = 0; i < 60; ++i) {
    const int cpus = 1 + static_cast<int>(rng() % 30);
    const std::string pod =
        R"({"metadata":{"name":"p)" + std::to_string(i) + R"(","namespace":"ns","uid":"u)" + std::to_string(i) +
        R"(","annotations":{"katalyst.kubewharf.io/qos_level":"dedicated_cores","katalyst.kubewharf.io/memory_enhancement":"{\"numa_binding\":\"true\"}"}},"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":")" +
        std::to_string(cpus) + R"(","memory":")" + std::to_string(1 + rng() % 100) + R"(Gi"},"limits":{"cpu":")" +
        std::to_string(cpus) + R"(","memory":"1Gi"}}}]}})";
    const std::string body = R"({"Pod":)" + pod + R"(,"NodeNames":[)" + names + "]}";
    const Answer fa = serial.Filter(body), fb = parallel.Filter(body);
    ASSERT_EQ(fa.body, fb.body) << i;
    const Answer pa = serial.Prioritize(body), pb = parallel.Prioritize(body);
    ASSERT_EQ(pa.body, pb.body) << i;
    // Bind to the first node filter kept, in both, so the states move on together.
    const size_t at = fa.body.find(R"("NodeNames":[")");
    if (at == std::string::npos) continue;
    const std::string node = fa.body.substr(at + 14, fa.body.find('"', at + 14) - at - 14);
    const std::string bind = R"({"PodName":"p)" + std::to_string(i) + R"(","PodNamespace":"ns","PodUID":"u)" +
                             std::to_string(i) + R"(","Node":")" + node + "\"}";
    ASSERT_EQ(serial.Bind(bind).body, parallel.Bind(bind).body);
  }
  EXPECT_EQ(serial.placed_pods(), parallel.placed_pods());
  EXPECT_GE(parallel.parallel_evaluations(), 30u) << "new shapes were evaluated across the threads";
  EXPECT_EQ(serial.parallel_evaluations(), 0u);
  EXPECT_GT(serial.placed_pods(), 20u);
}

}  // namespace
}  // namespace tessera::extender

namespace tessera::extender {
namespace {

// A pool thread that has not started its task when the caller's task returns is not waited for: the caller
// claimed all the work, and waiting for a thread the OS has not woken yet was the cold filter's tail latency. The
// late task, when it does start, must not run (the caller's frame and its `task` are gone by then).
TEST(ThreadPoolRunner, DoesNotWaitForAPoolTaskThatHasNotStarted) {
  ThreadPoolRunner runner(1);
  // Occupy the one pool thread: a first Run (from another thread) whose pool task waits on a gate.
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  // (Its caller's task waits for the pool task to start: otherwise the pool task could be skipped too.)
  std::promise<void> blocking_started;
  std::shared_future<void> pool_busy = blocking_started.get_future().share();
  auto first = std::async(std::launch::async, [&] {
    runner.Run(2, [&](size_t t) {
      if (t == 1) {
        blocking_started.set_value();
        open.wait();
      } else {
        pool_busy.wait();
      }
    });
  });
  pool_busy.wait();
  // The second Run's pool task queues behind it; the caller's task takes every unit of work from a shared cursor.
  std::atomic<int> ran_by_pool{0};
  auto second = std::async(std::launch::async, [&] {
    std::atomic<int> next{0};
    int done_here = 0;
    runner.Run(2, [&](size_t t) {
      while (next.fetch_add(1) < 100) {
        if (t == 0) ++done_here;
      }
      if (t != 0) ++ran_by_pool;
    });
    return done_here;
  });
  const bool returned = second.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  gate.set_value();  // release the pool whatever happened, so that nothing hangs
  first.get();
  ASSERT_TRUE(returned) << "Run waited for a pool task that had not started";
  EXPECT_EQ(second.get(), 100);
  // Drain the pool: a task posted after the second Run's late one starts after it (one thread, in order).
  std::promise<void> reached;
  std::shared_future<void> pool_reached = reached.get_future().share();
  runner.Run(2, [&](size_t t) {
    if (t == 1) reached.set_value();
    if (t == 0) pool_reached.wait();
  });
  EXPECT_EQ(ran_by_pool.load(), 0) << "a pool task ran after its caller had returned";
}

}  // namespace
}  // namespace tessera::extender
