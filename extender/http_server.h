// A small asynchronous HTTP/1.1 server on Boost.Beast for the extender: a fixed pool of threads over one
// io_context, keep-alive, a request body limit (413 beyond it), a read/write timeout per request, and a cap on
// open connections (new ones beyond it are closed at once), optional TLS. The handler runs on the pool's threads,
// except for requests the `blocking` predicate names (ones that wait on another server): those run on a second,
// bounded pool, so that a stalled upstream never holds the threads every other request needs.
#ifndef TESSERA_EXTENDER_HTTP_SERVER_H_
#define TESSERA_EXTENDER_HTTP_SERVER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace tessera::extender {

struct HttpServerOptions {
  std::string address = "0.0.0.0";
  int port = 8888;  // 0: pick a free port (tests)
  int threads = 2;
  size_t max_body_bytes = 16u << 20;
  std::chrono::milliseconds io_timeout{30000};
  size_t max_connections = 1024;
  std::string tls_cert_file;  // both set: serve HTTPS (TLS 1.2+)
  std::string tls_key_file;
  // Requests that may block (e.g. the extender's bind, which calls the API server): run on `blocking_threads`
  // threads of their own; beyond `blocking_queue` waiting or running, answered 503 at once.
  std::function<bool(const std::string& method, const std::string& target)> blocking;
  int blocking_threads = 16;
  size_t blocking_queue = 1024;
};

struct HttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

using HttpHandler =
    std::function<HttpReply(const std::string& method, const std::string& target, std::string_view body)>;

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Status Start();  // binds and starts the threads
  void Stop();     // closes the listener and every connection; joins the threads
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::extender

#endif  // TESSERA_EXTENDER_HTTP_SERVER_H_
