// What the extender benchmarks share: the synthetic node (its CNR), the request bodies kube-scheduler sends, a
// keep-alive loopback client, and the floor every figure is set against (a Beast + RapidJSON server that parses
// the request and answers a fixed reply).
#ifndef TESSERA_BENCH_EXTENDER_FIXTURE_H_
#define TESSERA_BENCH_EXTENDER_FIXTURE_H_

#include <rapidjson/document.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <string>

#include "crd/cnr_builder.h"
#include "crd/cnr_codec.h"
#include "extender/http_server.h"

namespace tessera::bench {

// Two sockets x 4 NUMA nodes x 16 CPUs / 64 GiB, single-numa-node kubelet: a typical NUMA-aware node.
inline std::string CnrJson(const std::string& name) {
  static const topology::NodeTopology t = [] {
    topology::NodeTopology topo;
    for (int s = 0; s < 2; ++s) topo.sockets.push_back({s, {s * 4, s * 4 + 1, s * 4 + 2, s * 4 + 3}});
    for (int i = 0; i < 8; ++i) {
      topology::NumaNode n{i, i / 4, {}, 8, uint64_t{64} << 30};
      for (int c = 0; c < 16; ++c) n.cpu_ids.push_back(i * 16 + c);
      topo.numa_nodes.push_back(n);
    }
    return topo;
  }();
  crd::CnrBuildOptions o;
  o.node_name = name;
  o.topology_policy = "single-numa-node";
  o.heartbeat_time = "2099-01-01T00:00:00Z";  // fresh for the whole run
  return crd::EncodeCnr(*crd::BuildCnr(t, o));
}

inline std::string NodeJson(int i) {
  return R"({"metadata":{"name":"node-)" + std::to_string(i) + R"("}})";
}

// A dedicated_cores NUMA-bound pod of `cpus` CPUs, named `name` (also its UID), pending.
inline std::string NumaPodJson(const std::string& name, int cpus = 4) {
  const std::string c = std::to_string(cpus);
  return R"({"metadata":{"name":")" + name + R"(","namespace":"default","uid":")" + name +
         R"(","annotations":{"katalyst.kubewharf.io/qos_level":"dedicated_cores","katalyst.kubewharf.io/memory_enhancement":"{\"numa_binding\":\"true\"}"}},"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":")" +
         c + R"(","memory":"8Gi"},"limits":{"cpu":")" + c + R"(","memory":"8Gi"}}}]}})";
}

// ExtenderArgs in node-names mode (nodeCacheCapable): the pod and node-0 .. node-(nodes-1). The list is written
// once per size: the client should not spend the cores the server is measured on.
inline std::string NamesBody(int nodes, const std::string& pod) {
  thread_local int listed = -1;
  thread_local std::string list;
  if (listed != nodes) {
    list.clear();
    for (int i = 0; i < nodes; ++i) list += (i ? ",\"" : "\"") + ("node-" + std::to_string(i)) + "\"";
    listed = nodes;
  }
  std::string b;
  b.reserve(list.size() + pod.size() + 40);
  b += R"({"Pod":)";
  b += pod;
  b += R"(,"Nodes":null,"NodeNames":[)";
  b += list;
  b += "]}";
  return b;
}

inline std::string BindBody(const std::string& pod, const std::string& node) {
  return R"({"PodName":")" + pod + R"(","PodNamespace":"default","PodUID":")" + pod + R"(","Node":")" + node +
         "\"}";
}

// One keep-alive HTTP/1.1 connection to 127.0.0.1:port.
class LoopbackClient {
 public:
  explicit LoopbackClient(int port) : stream_(io_) {
    boost::beast::error_code ec;
    stream_.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                                   static_cast<unsigned short>(port)),
                    ec);
    ok_ = !ec;
  }
  // The answer's status (0 on a transport error); `body` gets the answer.
  int Post(const std::string& target, const std::string& request_body, std::string* body) {
    namespace http = boost::beast::http;
    if (!ok_) return 0;
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    req.body() = request_body;
    req.prepare_payload();
    boost::beast::error_code ec;
    http::write(stream_, req, ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    if (!ec) http::read(stream_, buffer_, parser, ec);
    if (ec) {
      ok_ = false;
      return 0;
    }
    *body = std::move(parser.get().body());
    return parser.get().result_int();
  }

 private:
  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  bool ok_ = false;
};

// The floor: parse the request and answer what any extender must send back at the least: filter keeps every node
// it was given, prioritize lists no node (kube-scheduler adds 0 for a host not listed), bind succeeds.
inline std::unique_ptr<extender::HttpServer> StartFloor(const extender::HttpServerOptions& options) {
  auto floor = std::make_unique<extender::HttpServer>(
      options, [](const std::string&, const std::string& target, std::string_view body) {
        rapidjson::Document d;
        d.Parse(body.data(), body.size());
        const int status = d.HasParseError() ? 400 : 200;
        if (target == "/bind") return extender::HttpReply{status, R"({"Error":""})"};
        if (target == "/prioritize") return extender::HttpReply{status, "[]"};
        std::string out = R"({"Nodes":null,"NodeNames":[)";
        bool first = true;
        if (status == 200 && d.IsObject() && d.HasMember("NodeNames") && d["NodeNames"].IsArray()) {
          for (const auto& n : d["NodeNames"].GetArray()) {
            if (!first) out += ',';
            first = false;
            out += '"';
            out.append(n.GetString(), n.GetStringLength());
            out += '"';
          }
        }
        out += R"(],"FailedNodes":{},"FailedAndUnresolvableNodes":{},"Error":""})";
        return extender::HttpReply{status, std::move(out)};
      });
  if (!floor->Start().ok()) return nullptr;
  return floor;
}

}  // namespace tessera::bench

#endif  // TESSERA_BENCH_EXTENDER_FIXTURE_H_
