// tessera-extender as a process against the loopback API server: killed with SIGKILL in the middle of a bind
// (placement reserved, Binding in flight), restarted, and nothing is handed out twice.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>
#include <utility>
#include <vector>

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "kube/kube_client.h"
#include "reporter/reporter.h"
#include "tests/fake_api_server.h"
#include "tests/gpu_share_pod.h"
#include "tests/shared_cnr.h"
#include "tests/shared_data.h"
#include "tests/subprocess.h"
#include "topology/hwloc_discovery.h"

namespace tessera {
namespace {

using testing::FakeApiServer;
using testing::FakeReply;
using testing::FakeRequest;
using testing::GpuSharePodJson;

struct Proc {
  std::unique_ptr<testing::Subprocess> p;
  std::unique_ptr<kube::KubeClient> client;
  Proc(const std::string& kubeconfig, int port) {
    p = std::make_unique<testing::Subprocess>(
        testing::BinPath("tessera-extender"),
        std::vector<std::string>{"--kubeconfig", kubeconfig, "--address", "127.0.0.1", "--port",
                                 std::to_string(port), "--watch-timeout", "1"});
    kube::ClusterConfig c;
    c.server = "http://127.0.0.1:" + std::to_string(port);
    c.timeout = std::chrono::milliseconds(10000);
    client = std::make_unique<kube::KubeClient>(c);
  }
  bool WaitReady() {
    for (int i = 0; i < 200; ++i) {  // at most ~10 s
      auto r = client->Get("/readyz");
      if (r.ok() && r->status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  std::string Filter(const std::string& name, int pct) {
    auto r = client->Post(
        "/filter", R"({"Pod": )" + GpuSharePodJson(name, pct) + R"(, "NodeNames": ["gpu-node"], "Nodes": null})");
    return r.ok() ? r->body : "";
  }
  std::string Bind(const std::string& name) {
    auto r = client->Post("/bind", R"({"PodName": ")" + name + R"(", "PodNamespace": "ml", "PodUID": "uid-)" +
                                       name + R"(", "Node": "gpu-node"})");
    return r.ok() ? r->body : "";
  }
};

TEST(ExtenderCrash, KillDuringBindThenRestartHandsNothingOutTwice) {
  TESSERA_REQUIRE_SHARED("topologies/topo.dp-esb01.xml");
  FakeApiServer api;
  api.Seed("/api/v1/nodes/gpu-node", R"({"metadata": {"name": "gpu-node"}})");
  api.Seed("/apis/node.katalyst.kubewharf.io/v1alpha1/customnoderesources/gpu-node",
           crd::EncodeCnr(testing::SharedCnr("gpu-node", "topo.dp-esb01.xml")));
  for (const char* n : {"a", "b"})
    api.Seed(std::string("/api/v1/namespaces/ml/pods/") + n, GpuSharePodJson(n, 60));
  const std::string kubeconfig = ::testing::TempDir() + "/kc-crash-" + std::to_string(getpid());
  std::ofstream(kubeconfig) << "current-context: t\ncontexts: [{name: t, context: {cluster: c, user: u}}]\n"
                            << "clusters: [{name: c, cluster: {server: " << api.url()
                            << "}}]\nusers: [{name: u, user: {token: x}}]\n";
  int port = 0;
  {
    FakeApiServer probe;
    port = probe.port();
  }
  // The Binding of a hangs: the extender is killed while waiting for it.
  api.SetInterceptor([](const FakeRequest& r) -> std::optional<FakeReply> {
    if (r.method == "POST" && r.target.find("/pods/a/binding") != std::string::npos) {
      FakeReply reply{500, "{}"};
      reply.delay = std::chrono::milliseconds(4000);
      return reply;
    }
    return std::nullopt;
  });
  {
    Proc first(kubeconfig, port);
    ASSERT_TRUE(first.WaitReady());
    ASSERT_NE(first.Filter("a", 60).find("\"NodeNames\":[\"gpu-node\"]"), std::string::npos);
    std::thread bind([&] { first.Bind("a"); });
    bool posted = false;
    for (int i = 0; i < 100 && !posted; ++i) {
      for (const FakeRequest& r : api.Requests())
        posted = posted || (r.method == "POST" && r.target.find("/pods/a/binding") != std::string::npos);
      if (!posted) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(posted) << "the Binding went out";
    first.p->Signal(SIGKILL);
    first.p->Wait(std::chrono::seconds(5));
    bind.join();
  }
  // a was never bound (nor annotated: the annotation rides on the Binding): after the restart its share is free,
  // b takes it, and when a comes back only 40 % are left: no card is handed out twice.
  ASSERT_EQ(api.Object("/api/v1/namespaces/ml/pods/a")->find("nodeName"), std::string::npos);
  ASSERT_EQ(api.Object("/api/v1/namespaces/ml/pods/a")->find("tessera.io/allocation"), std::string::npos);
  api.SetInterceptor(nullptr);
  Proc second(kubeconfig, port);
  ASSERT_TRUE(second.WaitReady());
  ASSERT_NE(second.Filter("b", 60).find("\"NodeNames\":[\"gpu-node\"]"), std::string::npos);
  EXPECT_EQ(second.Bind("b"), R"({"Error":""})");
  EXPECT_EQ(second.Filter("a", 60).find("\"NodeNames\":[\"gpu-node\"]"), std::string::npos);
  second.p->Signal(SIGTERM);
  EXPECT_EQ(second.p->Wait(std::chrono::seconds(10)).exit_code, 0);
}

// Flags that cannot work stop the extender before it serves anything: exit 2 and a message naming the flag.
TEST(ExtenderCli, BadFlagsExitTwoWithAClearMessage) {
  const std::string snapshot = ::testing::TempDir() + "/empty-snapshot-" + std::to_string(getpid()) + ".json";
  std::ofstream(snapshot) << R"({"kind": "List", "apiVersion": "v1", "items": []})";
  for (const auto& [args, says] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--api-client-threads", "0"}, "--api-client-threads"},
           {{"--bind-timeout", "0s"}, "--bind-timeout"},
           {{"--bind-timeout", "soon"}, "--bind-timeout"},
           {{"--topology-source", "crd"}, "--topology-source"},
           {{"--resource-policy", "greedy"}, "--resource-policy"},
           {{"--cnr-stale-after", "5 minutes"}, "--cnr-stale-after"},
           {{"--now", "2026-12-07T00:00:00Z"}, "--now needs --snapshot"},
           {{"--snapshot", snapshot, "--tls-cert", "/etc/cert.pem"}, "--tls-cert and --tls-key"}}) {
    std::vector<std::string> full = args;
    full.insert(full.end(), {"--address", "127.0.0.1", "--port", "0"});
    testing::ProcessResult r = testing::RunProgram(testing::BinPath("tessera-extender"), full);
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << args[0] << ": " << r.err;
  }
}

}  // namespace
}  // namespace tessera
