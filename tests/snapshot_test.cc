// --snapshot replays a cluster dump as it was: one List of mixed kinds or a directory of per-kind Lists, with CNR
// heartbeats judged at the dump's own moment (its newest timestamp, or --now), not at the wall clock of the
// replay.
#include "state/snapshot.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "extender/extender_service.h"
#include "kube/time_format.h"
#include "tests/katalyst_cnr.h"

namespace tessera::extender {
namespace {

namespace fs = std::filesystem;

std::string TempDir(const std::string& tag) {
  const std::string dir = ::testing::TempDir() + "/snapshot-" + tag + "-" + std::to_string(getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A dump taken at 10:01 on 2026-01-05: the CNR's heartbeat is from 10:00, a pod was created at 10:01.
std::string Dump(const std::string& heartbeat = "2026-01-05T10:00:00Z") {
  testing::KatalystCnr cnr;
  cnr.name = "n1";
  cnr.heartbeat = heartbeat;
  return R"({"apiVersion":"v1","kind":"List","items":[
    {"apiVersion":"v1","kind":"Node","metadata":{"name":"n1","creationTimestamp":"2025-12-01T00:00:00Z"}},
    {"apiVersion":"v1","kind":"Event","metadata":{"name":"e","creationTimestamp":"2027-01-01T00:00:00Z"}},
    {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"ns","uid":"u-web",
      "creationTimestamp":"2026-01-05T10:01:00Z"},"spec":{"nodeName":"n1","containers":[{"name":"c",
      "resources":{"requests":{"cpu":"1","memory":"1Gi"}}}]},"status":{"phase":"Running"}},
    )" + testing::KatalystCnrJson(cnr) +
         "]}";
}

const std::string kNumaPod =
    R"({"metadata":{"name":"db","namespace":"ns","uid":"u-db","annotations":{"katalyst.kubewharf.io/qos_level":
    "dedicated_cores","katalyst.kubewharf.io/memory_enhancement":"{\"numa_binding\":\"true\"}"}},
    "spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"4","memory":"4Gi"}}}]}})";

std::string FilterN1(ExtenderService* service) {
  return service->Filter(R"({"Pod":)" + kNumaPod + R"(,"NodeNames":["n1"]})").body;
}

TEST(Snapshot, OneMixedListJudgedAtItsNewestTimestamp) {
  const std::string file = TempDir("mixed") + "/dump.json";
  std::ofstream(file) << Dump();
  Result<state::SnapshotObjects> objects = state::ReadSnapshot(file);
  ASSERT_TRUE(objects.ok()) << objects.status().ToString();
  EXPECT_EQ(objects->nodes.size(), 1u);
  EXPECT_EQ(objects->pods.size(), 1u);
  EXPECT_EQ(objects->cnrs.size(), 1u);
  ASSERT_TRUE(objects->newest.has_value());  // the Event's later time does not count: it is skipped
  EXPECT_EQ(kube::FormatRfc3339(*objects->newest), "2026-01-05T10:01:00Z");

  // Months after the dump, its CNR is as fresh as when the dump was taken.
  ExtenderService service{ExtenderOptions{}};
  ASSERT_TRUE(service.LoadSnapshot(file).ok());
  EXPECT_NE(FilterN1(&service).find(R"("NodeNames":["n1"])"), std::string::npos) << FilterN1(&service);
  EXPECT_EQ(service.placed_pods(), 1u);
}

TEST(Snapshot, NowOverridesTheDumpsTime) {
  const std::string file = TempDir("now") + "/dump.json";
  std::ofstream(file) << Dump();
  std::chrono::system_clock::time_point later;
  ASSERT_TRUE(kube::ParseRfc3339("2026-01-05T11:00:00Z", &later));
  ExtenderService service{ExtenderOptions{}};
  ASSERT_TRUE(service.LoadSnapshot(file, later).ok());
  const std::string answer = FilterN1(&service);
  EXPECT_NE(answer.find("is stale (last heartbeat 2026-01-05T10:00:00Z)"), std::string::npos) << answer;
}

TEST(Snapshot, DirectoryOfListsAndBadDumps) {
  const std::string dir = TempDir("dir");
  testing::KatalystCnr cnr;
  cnr.name = "n1";
  cnr.heartbeat = "2025-06-01T00:00:00Z";
  std::ofstream(dir + "/nodes.json") << R"({"items":[{"metadata":{"name":"n1"}}]})";
  std::ofstream(dir + "/pods.json") << R"({"items":[]})";
  std::ofstream(dir + "/cnrs.json") << R"({"items":[)" + testing::KatalystCnrJson(cnr) + "]}";
  ExtenderService service{ExtenderOptions{}};
  ASSERT_TRUE(service.LoadSnapshot(dir).ok());
  EXPECT_NE(FilterN1(&service).find(R"("NodeNames":["n1"])"), std::string::npos);

  const std::string bad = TempDir("bad");
  std::ofstream(bad + "/kindless.json") << R"({"items":[{"metadata":{"name":"x"}}]})";
  Result<state::SnapshotObjects> kindless = state::ReadSnapshot(bad + "/kindless.json");
  ASSERT_FALSE(kindless.ok());
  EXPECT_NE(kindless.status().message().find("items[0] has no kind"), std::string::npos);
  std::ofstream(bad + "/notalist.json") << R"({"kind":"Node"})";
  EXPECT_FALSE(state::ReadSnapshot(bad + "/notalist.json").ok());
  std::ofstream(bad + "/garbage.json") << "{\"items\": [";
  EXPECT_FALSE(state::ReadSnapshot(bad + "/garbage.json").ok());
  EXPECT_FALSE(state::ReadSnapshot(bad).ok());  // a directory without nodes.json
  EXPECT_FALSE(state::ReadSnapshot(bad + "/missing.json").ok());
  ExtenderService untouched{ExtenderOptions{}};
  EXPECT_FALSE(untouched.LoadSnapshot(bad + "/garbage.json").ok());
  EXPECT_FALSE(untouched.ready());
}

// A directory dump may carry NodeResourceTopologies: a node without a CNR is then placed from its NRT.
TEST(Snapshot, DirectoryWithNodeResourceTopologies) {
  const std::string dir = TempDir("nrt");
  std::ofstream(dir + "/nodes.json") << R"({"items":[{"metadata":{"name":"n1"}}]})";
  std::ofstream(dir + "/pods.json") << R"({"items":[]})";
  std::ofstream(dir + "/cnrs.json") << R"({"items":[]})";
  std::ofstream(dir + "/noderesourcetopologies.json")
      << R"({"items":[{"metadata":{"name":"n1"},"topologyPolicies":[],"attributes":[
           {"name":"topologyManagerPolicy","value":"single-numa-node"}],"zones":[{"name":"node-0","type":"Node",
           "resources":[{"name":"cpu","capacity":"8","allocatable":"8","available":"8"},
                        {"name":"memory","capacity":"32Gi","allocatable":"32Gi","available":"32Gi"}]}]}]})";
  ExtenderService service{ExtenderOptions{}};  // topology source auto
  ASSERT_TRUE(service.LoadSnapshot(dir).ok());
  EXPECT_NE(FilterN1(&service).find(R"("NodeNames":["n1"])"), std::string::npos) << FilterN1(&service);
  std::ofstream(dir + "/noderesourcetopologies.json") << "[]";
  ExtenderService bad{ExtenderOptions{}};
  EXPECT_FALSE(bad.LoadSnapshot(dir).ok());
}

}  // namespace
}  // namespace tessera::extender
