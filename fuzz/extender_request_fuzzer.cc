// libFuzzer target: the extender's verbs and watch events, end to end below HTTP. The first byte picks what the
// rest is: a filter, prioritize, bind or preempt body as kube-scheduler would POST it, or a Node, Pod or CNR watch
// event. Whatever it is, the service must answer (200, with an Error field where it refuses, or 400) and never
// crash, hang or leak; after it, the service must still filter and bind pods.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "extender/extender_service.h"

namespace {

using tessera::extender::Answer;
using tessera::extender::ExtenderService;

// Two 2-socket, 4-NUMA-node servers: small enough to build per input, so that every input starts from the same
// state and a crash reproduces from its file alone.
std::string CnrJson(const std::string& name) {
  tessera::topology::NodeTopology t;
  for (int s = 0; s < 2; ++s) t.sockets.push_back({s, {s * 2, s * 2 + 1}});
  for (int i = 0; i < 4; ++i) {
    tessera::topology::NumaNode n{i, i / 2, {}, 8, uint64_t{16} << 30};
    for (int c = 0; c < 8; ++c) n.cpu_ids.push_back(i * 8 + c);
    t.numa_nodes.push_back(n);
  }
  tessera::crd::CnrBuildOptions o;
  o.node_name = name;
  o.topology_policy = "single-numa-node";
  o.heartbeat_time = "2099-01-01T00:00:00Z";
  return tessera::crd::EncodeCnr(*tessera::crd::BuildCnr(t, o));
}

const char* kFilter =
    R"({"Pod":{"metadata":{"name":"p","namespace":"d","uid":"u","annotations":{"katalyst.kubewharf.io/qos_level":"dedicated_cores","katalyst.kubewharf.io/memory_enhancement":"{\"numa_binding\":\"true\"}"}},"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"2","memory":"1Gi"},"limits":{"cpu":"2","memory":"1Gi"}}}]}},"NodeNames":["n0","n1"],"Nodes":null})";

void Check(const Answer& a) {
  if (a.status != 200 && a.status != 400) std::abort();
  if (a.body.empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::vector<std::string> nodes = {R"({"metadata":{"name":"n0"}})", R"({"metadata":{"name":"n1"}})"};
  static const std::vector<std::string> cnrs = {CnrJson("n0"), CnrJson("n1")};
  ExtenderService service{tessera::extender::ExtenderOptions{}};
  service.Replace(ExtenderService::Kind::kNode, nodes);
  service.Replace(ExtenderService::Kind::kCnr, cnrs);
  service.Replace(ExtenderService::Kind::kPod, {});
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
    case 0: Check(service.Filter(body)); break;
    case 1: Check(service.Prioritize(body)); break;
    case 2:  // a bind after the filter call that names the pod, as kube-scheduler does
      Check(service.Filter(kFilter));
      Check(service.Bind(body));
      break;
    case 3: Check(service.Preempt(body)); break;
    case 4: service.Apply(ExtenderService::Kind::kNode, false, body); break;
    case 5: service.Apply(ExtenderService::Kind::kPod, false, body); break;
    case 6: service.Apply(ExtenderService::Kind::kCnr, false, body); break;
    default: service.Apply(ExtenderService::Kind::kPod, true, body); break;
  }
  // Whatever came before, the service still decides.
  Check(service.Filter(kFilter));
  for (int i = 0; i < 4; ++i) {
    const std::string uid = "after-" + std::to_string(i);
    std::string pod = kFilter;
    pod.replace(pod.find(R"("uid":"u")"), 9, R"("uid":")" + uid + "\"");
    const Answer f = service.Filter(pod);
    Check(f);
    const size_t at = f.body.find(R"("NodeNames":[")");
    if (at == std::string::npos) break;
    const std::string node = f.body.substr(at + 14, 2);
    Check(service.Bind(R"({"PodName":"p","PodNamespace":"d","PodUID":")" + uid + R"(","Node":")" + node + "\"}"));
  }
  return 0;
}
