#include "extender/routes.h"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <map>
#include <mutex>

#include "kube/kube_client.h"

namespace tessera::extender {

std::function<bool(const std::string& method, const std::string& target)> ExtenderBlockingRequests(
    std::string url_prefix, LeaderRouting routing) {
  while (!url_prefix.empty() && url_prefix.back() == '/') url_prefix.pop_back();
  return [url_prefix, routing](const std::string& method, const std::string& target) {
    if (method != "POST") return false;
    const std::string path = target.substr(0, target.find('?'));
    if (path.rfind(url_prefix + "/", 0) != 0) return false;
    if (routing.is_leader && !routing.is_leader()) return true;  // forwarded to the leader
    return path == url_prefix + "/bind";
  };
}

HttpHandler MakeExtenderHandler(ExtenderService* service, std::string url_prefix,
                                std::shared_ptr<prometheus::Registry> registry, LeaderRouting routing) {
  while (!url_prefix.empty() && url_prefix.back() == '/') url_prefix.pop_back();
  auto& requests = prometheus::BuildCounter()
                       .Name("tessera_extender_requests_total")
                       .Help("HTTP requests by verb and status code")
                       .Register(*registry);
  auto& latency = prometheus::BuildHistogram()
                      .Name("tessera_extender_request_seconds")
                      .Help("Request handling time by verb")
                      .Register(*registry);
  const prometheus::Histogram::BucketBoundaries buckets = {0.0001, 0.00025, 0.0005, 0.001, 0.002,
                                                           0.005,  0.01,    0.05,   0.25,  1};
  auto forward_mu = std::make_shared<std::mutex>();
  auto forward_clients = std::make_shared<std::map<std::string, std::shared_ptr<kube::KubeClient>>>();
  return [service, url_prefix, registry, &requests, &latency, buckets, routing, forward_mu, forward_clients](
             const std::string& method, const std::string& target, std::string_view body) -> HttpReply {
    const auto start = std::chrono::steady_clock::now();
    const std::string path = target.substr(0, target.find('?'));
    std::string verb = "other";
    HttpReply reply;
    if (method == "GET" && path == "/healthz") {
      verb = "healthz";
      reply = {200, "ok", "text/plain"};
    } else if (method == "GET" && path == "/readyz") {
      verb = "readyz";
      reply = service->ready() ? HttpReply{200, "ok", "text/plain"}
                               : HttpReply{503, "caches not synced", "text/plain"};
    } else if (method == "GET" && path == "/version") {
      verb = "version";
      reply = {200, kVersion, "text/plain"};
    } else if (method == "GET" && path == "/metrics") {
      verb = "metrics";
      service->UpdateGauges();
      reply = {200, prometheus::TextSerializer().Serialize(registry->Collect()), "text/plain; version=0.0.4"};
    } else if (path.rfind(url_prefix + "/", 0) == 0) {
      const std::string name = path.substr(url_prefix.size() + 1);
      const bool known = name == "filter" || name == "prioritize" || name == "bind" || name == "preempt";
      // Decided before anything runs: a standby must not even filter (its answer could differ from the leader's).
      const bool standby = known && method == "POST" && routing.is_leader && !routing.is_leader();
      if (standby) {
        // A standby never decides: the leader's ledger is the one that counts.
        verb = name;
        const std::string leader = routing.leader_url ? routing.leader_url() : "";
        if (leader.empty()) {
          reply = {503, "{\"Error\":\"no leader elected yet\"}"};
        } else {
          std::shared_ptr<kube::KubeClient> client;
          {
            std::lock_guard<std::mutex> lock(*forward_mu);
            auto& slot = (*forward_clients)[leader];
            if (!slot) {
              kube::ClusterConfig c;
              c.server = leader;
              c.timeout = std::chrono::milliseconds(5000);
              slot = std::make_shared<kube::KubeClient>(c);
            }
            client = slot;
          }
          Result<kube::HttpResponse> r = client->Post(path, std::string(body));
          reply = r.ok() ? HttpReply{r->status, r->body}
                         : HttpReply{503, "{\"Error\":\"leader " + leader + " unreachable\"}"};
        }
      } else if (!known) {
        reply = {404, "{\"Error\":\"unknown verb " + name + "\"}"};
      } else if (method != "POST") {
        verb = name;
        reply = {405, "{\"Error\":\"" + name + " takes POST\"}"};
      } else {
        verb = name;
        Answer a = name == "filter"       ? service->Filter(body)
                   : name == "prioritize" ? service->Prioritize(body)
                   : name == "bind"       ? service->Bind(body)
                                          : service->Preempt(body);
        reply = {a.status, std::move(a.body)};
      }
    } else {
      reply = {404, "{\"Error\":\"not found\"}"};
    }
    requests.Add({{"verb", verb}, {"code", std::to_string(reply.status)}}).Increment();
    latency.Add({{"verb", verb}}, buckets)
        .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return reply;
  };
}

}  // namespace tessera::extender
