// Leader election on a Lease against the loopback API server, and a standby extender forwarding the verbs to
// the leader over loopback HTTP.
#include "kube/leader_election.h"

#include <gtest/gtest.h>

#include "extender/extender_service.h"
#include "extender/http_server.h"
#include "extender/routes.h"
#include "kube/kube_client.h"
#include "tests/fake_api_server.h"

namespace tessera::kube {
namespace {

using testing::FakeApiServer;

LeaderElectionOptions Options(const std::string& identity) {
  LeaderElectionOptions o;
  o.lease_namespace = "kube-system";
  o.identity = identity;
  o.lease_duration = std::chrono::seconds(2);
  o.renew_period = std::chrono::milliseconds(100);
  return o;
}

TEST(LeaderElection, OneLeaderTakeoverAfterExpiryAndNoDoubleWin) {
  FakeApiServer server;
  ClusterConfig c;
  c.server = server.url();
  KubeClient client(c);
  LeaderElector a(&client, Options("http://a")), b(&client, Options("http://b"));
  const auto t0 = std::chrono::system_clock::now();
  ASSERT_TRUE(*a.TryAcquireOrRenew(t0)) << "the first candidate creates the lease";
  EXPECT_FALSE(*b.TryAcquireOrRenew(t0 + std::chrono::seconds(1))) << "an unexpired lease is respected";
  EXPECT_EQ(b.holder(), "http://a");
  ASSERT_TRUE(*a.TryAcquireOrRenew(t0 + std::chrono::seconds(1))) << "the holder renews";
  // a stops renewing; 2 s after its last renewal the lease is free.
  EXPECT_FALSE(*b.TryAcquireOrRenew(t0 + std::chrono::milliseconds(2500)));
  ASSERT_TRUE(*b.TryAcquireOrRenew(t0 + std::chrono::milliseconds(3500)));
  EXPECT_EQ(b.holder(), "http://b");
  std::optional<std::string> lease =
      server.Object("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/tessera-extender");
  ASSERT_TRUE(lease.has_value());
  EXPECT_NE(lease->find(R"("holderIdentity":"http://b")"), std::string::npos);
  EXPECT_NE(lease->find(R"("leaseTransitions":1)"), std::string::npos) << *lease;
  EXPECT_FALSE(*a.TryAcquireOrRenew(t0 + std::chrono::milliseconds(3600)))
      << "the old leader finds it lost the lease";

  // Two candidates for an expired lease at the same instant: the first takes it, the second then finds it fresh.
  // (Each take-over PUT carries the resourceVersion it read, so a real race cannot let both through.)
  const auto later = t0 + std::chrono::seconds(10);
  LeaderElector c2(&client, Options("http://c"));
  const int wins = (*a.TryAcquireOrRenew(later) ? 1 : 0) + (*c2.TryAcquireOrRenew(later) ? 1 : 0);
  EXPECT_EQ(wins, 1);
}

TEST(LeaderElection, StandbyForwardsVerbsToTheLeader) {
  FakeApiServer api;
  ClusterConfig c;
  c.server = api.url();
  KubeClient client(c);
  // Two extender replicas over the same (empty) snapshot-free state, each with its own HTTP server.
  extender::ExtenderService leader_service{extender::ExtenderOptions{}},
      standby_service{extender::ExtenderOptions{}};
  for (auto* s : {&leader_service, &standby_service}) {
    s->Replace(extender::ExtenderService::Kind::kNode, {R"({"metadata": {"name": "n1"}})"});
    s->Replace(extender::ExtenderService::Kind::kCnr, {});
    s->Replace(extender::ExtenderService::Kind::kPod, {});
    s->SetReadyProbe([] { return true; });
  }
  extender::HttpServerOptions ho;
  ho.address = "127.0.0.1";
  ho.port = 0;
  extender::HttpServer leader_http(
      ho, extender::MakeExtenderHandler(&leader_service, "", std::make_shared<prometheus::Registry>()));
  ASSERT_TRUE(leader_http.Start().ok());
  const std::string leader_url = "http://127.0.0.1:" + std::to_string(leader_http.port());
  LeaderElector leader(&client, Options(leader_url)), standby(&client, Options("http://standby"));
  ASSERT_TRUE(*leader.TryAcquireOrRenew(std::chrono::system_clock::now()));
  ASSERT_FALSE(*standby.TryAcquireOrRenew(std::chrono::system_clock::now()));
  extender::LeaderRouting routing{[] { return false; }, [&] { return standby.holder(); }};
  extender::HttpServer standby_http(
      ho, extender::MakeExtenderHandler(&standby_service, "", std::make_shared<prometheus::Registry>(), routing));
  ASSERT_TRUE(standby_http.Start().ok());
  ClusterConfig sc;
  sc.server = "http://127.0.0.1:" + std::to_string(standby_http.port());
  KubeClient to_standby(sc);
  const std::string filter =
      R"({"Pod": {"metadata": {"name": "p", "namespace": "d", "uid": "u9"}, "spec": {"containers":
      [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}}, "NodeNames": ["n1"], "Nodes": null})";
  Result<HttpResponse> r = to_standby.Post("/filter", filter);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find(R"("NodeNames":["n1"])"), std::string::npos) << r->body;
  // The decision was the leader's: the pod is known there (for its bind), not on the standby.
  Result<HttpResponse> bind =
      to_standby.Post("/bind", R"({"PodName": "p", "PodNamespace": "d", "PodUID": "u9", "Node": "n1"})");
  ASSERT_TRUE(bind.ok());
  EXPECT_EQ(bind->body, R"({"Error":""})");
  const extender::Answer own =
      standby_service.Bind(R"({"PodName": "p", "PodNamespace": "d", "PodUID": "u9", "Node": "n1"})");
  EXPECT_NE(own.body.find("never filtered here"), std::string::npos)
      << "the standby itself decided nothing: " << own.body;
  // No leader known: 503, nothing decided locally.
  extender::LeaderRouting nobody{[] { return false; }, [] { return std::string(); }};
  extender::HttpServer lonely(
      ho, extender::MakeExtenderHandler(&standby_service, "", std::make_shared<prometheus::Registry>(), nobody));
  ASSERT_TRUE(lonely.Start().ok());
  ClusterConfig lc;
  lc.server = "http://127.0.0.1:" + std::to_string(lonely.port());
  KubeClient to_lonely(lc);
  EXPECT_EQ(to_lonely.Post("/filter", filter)->status, 503);
}

// What a replica reads from a Lease: fields as client-go writes them, unknown ones ignored, missing ones empty,
// garbage refused (the elector then treats the round as failed and does not lead).
TEST(LeaderElection, DecodesLeasesAndRefusesGarbage) {
  Result<LeaseRecord> l = DecodeLease(
      R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"x","resourceVersion":"7","uid":"u"},)"
      R"("spec":{"holderIdentity":"http://10.0.0.1:8888","leaseDurationSeconds":15,"acquireTime":"2026-12-01T00:00:00.000000Z",)"
      R"("renewTime":"2026-12-01T00:00:05.000000Z","leaseTransitions":3,"preferredHolder":"y"}})");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->resource_version, "7");
  EXPECT_EQ(l->holder, "http://10.0.0.1:8888");
  EXPECT_EQ(l->duration_seconds, 15);
  EXPECT_EQ(l->renew_time, "2026-12-01T00:00:05.000000Z");
  EXPECT_EQ(l->transitions, 3);
  Result<LeaseRecord> empty = DecodeLease(R"({"metadata":{"name":"x"},"spec":{"leaseDurationSeconds":"15"}})");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->holder, "");
  EXPECT_EQ(empty->duration_seconds, -1) << "a string is not a duration";
  for (const char* bad : {"", "null", "[]", R"({"spec":{}})", R"({"metadata":"x"})"}) {
    EXPECT_TRUE(DecodeLease(bad).status().IsInvalidArgument()) << bad;
  }
}

}  // namespace
}  // namespace tessera::kube
