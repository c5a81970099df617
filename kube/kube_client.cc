#include "kube/kube_client.h"

#include <cpprest/asyncrt_utils.h>
#include <cpprest/containerstream.h>
#include <cpprest/http_client.h>
#include <pplx/threadpool.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/asio/ssl.hpp>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "base/file_text.h"

namespace tessera::kube {
namespace {

std::string Base64Decode(const std::string& s) {
  std::vector<unsigned char> bytes = utility::conversions::from_base64(s);
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace

Result<ClusterConfig> InClusterConfig(const std::string& sa_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || port == nullptr || *host == '\0') {
    return Status::NotFound("not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset)");
  }
  ClusterConfig c;
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6 literal
  c.server = "https://" + h + ":" + port;
  Result<std::string> token = ReadFileText(sa_dir + "/token");
  if (!token.ok()) return token.status().WithContext("in-cluster service-account token");
  c.bearer_token = *token;
  while (!c.bearer_token.empty() && (c.bearer_token.back() == '\n' || c.bearer_token.back() == '\r')) {
    c.bearer_token.pop_back();
  }
  Result<std::string> ca = ReadFileText(sa_dir + "/ca.crt");
  if (!ca.ok()) return ca.status().WithContext("in-cluster CA");
  c.ca_pem = *ca;
  return c;
}

Result<ClusterConfig> KubeconfigConfig(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const std::exception& e) {
    return Status::InvalidArgument("kubeconfig " + path + ": " + e.what());
  }
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  auto resolve = [&](const std::string& p) {
    return std::filesystem::path(p).is_absolute() ? p : (dir / p).string();
  };
  auto find_named = [&](const char* list, const std::string& name, const char* inner) -> YAML::Node {
    if (!root[list] || !root[list].IsSequence()) return YAML::Node();
    for (const auto& item : root[list]) {
      if (item["name"] && item["name"].as<std::string>() == name && item[inner]) return item[inner];
    }
    return YAML::Node();
  };
  try {
    if (!root.IsMap() || !root["current-context"]) {
      return Status::InvalidArgument("kubeconfig " + path + ": no current-context");
    }
    const std::string ctx_name = root["current-context"].as<std::string>();
    YAML::Node ctx = find_named("contexts", ctx_name, "context");
    if (!ctx) return Status::InvalidArgument("kubeconfig " + path + ": context " + ctx_name + " not found");
    YAML::Node cluster = find_named("clusters", ctx["cluster"].as<std::string>(""), "cluster");
    if (!cluster || !cluster["server"]) {
      return Status::InvalidArgument("kubeconfig " + path + ": cluster of context " + ctx_name + " has no server");
    }
    ClusterConfig c;
    c.server = cluster["server"].as<std::string>();
    if (cluster["certificate-authority-data"]) {
      c.ca_pem = Base64Decode(cluster["certificate-authority-data"].as<std::string>());
    } else if (cluster["certificate-authority"]) {
      Result<std::string> ca = ReadFileText(resolve(cluster["certificate-authority"].as<std::string>()));
      if (!ca.ok()) return ca.status().WithContext("kubeconfig " + path);
      c.ca_pem = *ca;
    }
    c.insecure_skip_tls_verify = cluster["insecure-skip-tls-verify"].as<bool>(false);
    YAML::Node user = find_named("users", ctx["user"].as<std::string>(""), "user");
    if (user) {
      if (user["token"]) {
        c.bearer_token = user["token"].as<std::string>();
      } else if (user["tokenFile"]) {
        Result<std::string> t = ReadFileText(resolve(user["tokenFile"].as<std::string>()));
        if (!t.ok()) return t.status().WithContext("kubeconfig " + path);
        c.bearer_token = *t;
      }
      auto pem = [&](const char* data_key, const char* file_key, std::string* out) -> Status {
        if (user[data_key]) {
          *out = Base64Decode(user[data_key].as<std::string>());
        } else if (user[file_key]) {
          Result<std::string> f = ReadFileText(resolve(user[file_key].as<std::string>()));
          if (!f.ok()) return f.status().WithContext("kubeconfig " + path);
          *out = *f;
        }
        return Status::Ok();
      };
      if (Status s = pem("client-certificate-data", "client-certificate", &c.client_cert_pem); !s.ok()) return s;
      if (Status s = pem("client-key-data", "client-key", &c.client_key_pem); !s.ok()) return s;
    }
    return c;
  } catch (const std::exception& e) {
    return Status::InvalidArgument("kubeconfig " + path + ": " + e.what());
  }
}

Status SetApiClientThreads(size_t threads) {
  // No thread would ever run a request: every call would hang until its deadline.
  if (threads == 0) return Status::InvalidArgument("API client threads: must be at least 1");
  try {
    crossplat::threadpool::initialize_with_threads(threads);
  } catch (const std::exception& e) {
    return Status::Conflict(std::string("API client threads: ") + e.what());
  }
  return Status::Ok();
}

struct KubeClient::Impl {
  std::unique_ptr<web::http::client::http_client> client;
};

KubeClient::KubeClient(ClusterConfig config) : config_(std::move(config)), impl_(std::make_unique<Impl>()) {
  web::http::client::http_client_config cfg;
  cfg.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(config_.timeout));
  cfg.set_validate_certificates(!config_.insecure_skip_tls_verify);
  const std::string ca = config_.ca_pem, cert = config_.client_cert_pem, key = config_.client_key_pem;
  cfg.set_ssl_context_callback([ca, cert, key](boost::asio::ssl::context& ctx) {
    boost::system::error_code ec;
    if (!ca.empty()) ctx.add_certificate_authority(boost::asio::buffer(ca), ec);
    if (!cert.empty() && !key.empty()) {
      ctx.use_certificate_chain(boost::asio::buffer(cert), ec);
      ctx.use_private_key(boost::asio::buffer(key), boost::asio::ssl::context::pem, ec);
    }
  });
  try {
    impl_->client =
        std::make_unique<web::http::client::http_client>(utility::conversions::to_string_t(config_.server), cfg);
  } catch (const std::exception&) {
    impl_->client.reset();  // a malformed server URL: every request reports it
  }
}

KubeClient::~KubeClient() = default;

Result<HttpResponse> KubeClient::Send(const std::string& method, const std::string& path, const std::string* body,
                                      const char* content_type) {
  if (!impl_->client) return Status::InvalidArgument("API server URL \"" + config_.server + "\" is malformed");
  // A pooled keep-alive connection the server dropped (an API server restart) fails while the request is being
  // written: the server never received it, so it is sent once more, on a fresh connection. Any failure after the
  // request was written is returned as it is: it may have been processed.
  for (int attempt = 0;; ++attempt) {
    try {
      web::http::http_request req(utility::conversions::to_string_t(method));
      req.set_request_uri(utility::conversions::to_string_t(path));
      req.headers().add(U("Accept"), U("application/json"));
      req.headers().add(U("User-Agent"), U("tessera/0.1"));
      if (!config_.bearer_token.empty()) {
        req.headers().add(U("Authorization"), utility::conversions::to_string_t("Bearer " + config_.bearer_token));
      }
      if (body != nullptr) {
        // The byte-vector overload: cpprestsdk's std::string overload views a char buffer as an unsigned-char
        // stream buffer, which UBSan rightly flags. Content-Type must be set first or it becomes octet-stream.
        req.headers().set_content_type(utility::conversions::to_string_t(content_type));
        req.set_body(std::vector<unsigned char>(body->begin(), body->end()));
      }
      web::http::http_response resp = impl_->client->request(req).get();
      HttpResponse out;
      out.status = resp.status_code();
      if (auto len = resp.headers().content_length(); len > kMaxResponseBytes) {
        return Status::Unavailable(method + " " + path + ": response of " + std::to_string(len) +
                                   " bytes is too large");
      }
      out.body = resp.extract_utf8string(true).get();
      return out;
    } catch (const std::exception& e) {
      const bool unsent = std::string_view(e.what()).rfind("Failed to write request", 0) == 0;
      if (unsent && attempt == 0) continue;
      return Status::Unavailable(method + " " + path + " to " + config_.server + ": " + e.what());
    }
  }
}

Result<int> KubeClient::StreamLines(const std::string& path, const std::function<bool(std::string_view)>& on_line,
                                    std::string* error_body) {
  if (!impl_->client) return Status::InvalidArgument("API server URL \"" + config_.server + "\" is malformed");
  try {
    web::http::http_request req(web::http::methods::GET);
    req.set_request_uri(utility::conversions::to_string_t(path));
    req.headers().add(U("Accept"), U("application/json"));
    if (!config_.bearer_token.empty()) {
      req.headers().add(U("Authorization"), utility::conversions::to_string_t("Bearer " + config_.bearer_token));
    }
    web::http::http_response resp = impl_->client->request(req).get();
    const int status = resp.status_code();
    if (status != 200) {
      std::string body = resp.extract_utf8string(true).get();
      if (error_body != nullptr) *error_body = body.substr(0, 4096);
      return status;
    }
    // Read as the bytes arrive, in chunks, and split into lines here: cpprestsdk's read_line takes the stream a
    // byte at a time, each through its task machinery, which cost more than decoding the events themselves.
    concurrency::streams::streambuf<uint8_t> buf = resp.body().streambuf();
    using Traits = concurrency::streams::streambuf<uint8_t>::traits;
    std::vector<uint8_t> chunk(64 * 1024);
    std::string pending;
    while (true) {
      const Traits::int_type first = buf.bumpc().get();  // waits for the next byte, or the end
      if (first == Traits::eof()) break;
      pending.push_back(static_cast<char>(first));
      if (const size_t avail = buf.in_avail(); avail > 0) {
        const size_t n = buf.getn(chunk.data(), std::min(avail, chunk.size())).get();
        pending.append(reinterpret_cast<const char*>(chunk.data()), n);
      }
      size_t start = 0;
      for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
        std::string_view text(pending.data() + start, nl - start);
        if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
        if (!text.empty() && !on_line(text)) return status;
      }
      pending.erase(0, start);
      if (pending.size() > kMaxResponseBytes) return Status::Unavailable("watch line too long");
    }
    if (!pending.empty()) (void)on_line(pending);  // a last line without its newline
    return status;
  } catch (const std::exception& e) {
    return Status::Unavailable("watch " + path + " on " + config_.server + ": " + e.what());
  }
}

Result<HttpResponse> KubeClient::Get(const std::string& path) {
  return Send("GET", path, nullptr, nullptr);
}
Result<HttpResponse> KubeClient::Post(const std::string& path, const std::string& json) {
  return Send("POST", path, &json, "application/json");
}
Result<HttpResponse> KubeClient::Put(const std::string& path, const std::string& json) {
  return Send("PUT", path, &json, "application/json");
}
Result<HttpResponse> KubeClient::MergePatch(const std::string& path, const std::string& json) {
  return Send("PATCH", path, &json, "application/merge-patch+json");
}

}  // namespace tessera::kube
