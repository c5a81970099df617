// URL routing for the extender: POST <prefix>/filter, /prioritize, /bind, /preempt (kube-scheduler's verbs);
// GET /healthz, /readyz, /metrics (Prometheus text), /version. Counts requests per verb and status, and their
// latency, in `registry`.
#ifndef TESSERA_EXTENDER_ROUTES_H_
#define TESSERA_EXTENDER_ROUTES_H_

#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <string>

#include "extender/extender_service.h"
#include "extender/http_server.h"

namespace tessera::extender {

inline constexpr char kVersion[] = "tessera-extender 0.1.0";

// With several replicas one leads (kube/leader_election.h); a standby forwards the verbs to the leader's URL and
// never decides itself. Empty functions: this replica always decides.
struct LeaderRouting {
  std::function<bool()> is_leader;
  std::function<std::string()> leader_url;  // "" when no leader is known
};

// Which requests wait on another server and so run on the HTTP server's blocking pool: bind (the API server),
// and every verb a standby forwards to the leader.
std::function<bool(const std::string& method, const std::string& target)> ExtenderBlockingRequests(
    std::string url_prefix, LeaderRouting routing = {});

HttpHandler MakeExtenderHandler(ExtenderService* service, std::string url_prefix,
                                std::shared_ptr<prometheus::Registry> registry, LeaderRouting routing = {});

}  // namespace tessera::extender

#endif  // TESSERA_EXTENDER_ROUTES_H_
