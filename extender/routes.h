// URL routing for the extender: POST <prefix>/filter, /prioritize, /bind, /preempt (kube-scheduler's verbs);
// GET /healthz, /readyz, /metrics (Prometheus text), /version. Counts requests per verb and status, and their
// latency, in `registry`.
#ifndef TESSERA_EXTENDER_ROUTES_H_
#define TESSERA_EXTENDER_ROUTES_H_

#include <prometheus/registry.h>

#include <memory>
#include <string>

#include "extender/extender_service.h"
#include "extender/http_server.h"

namespace tessera::extender {

inline constexpr char kVersion[] = "tessera-extender 0.1.0";

HttpHandler MakeExtenderHandler(ExtenderService* service, std::string url_prefix,
                                std::shared_ptr<prometheus::Registry> registry);

}  // namespace tessera::extender

#endif  // TESSERA_EXTENDER_ROUTES_H_
