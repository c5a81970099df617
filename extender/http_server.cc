#include "extender/http_server.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace tessera::extender {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

constexpr size_t kReadBufferBytes = 64 * 1024;  // per connection
using tcp = asio::ip::tcp;

struct HttpServer::Impl {
  HttpServerOptions options;
  HttpHandler handler;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  std::atomic<size_t> connections{0};
  std::unique_ptr<asio::thread_pool> blocking;  // for requests options.blocking names
  std::atomic<size_t> blocking_pending{0};
  int port = 0;
  bool started = false;

  // One connection. `Stream` is a plain TCP stream or a TLS stream over one; TLS sessions handshake first.
  template <class Stream>
  class Session : public std::enable_shared_from_this<Session<Stream>> {
   public:
    template <class... Args>
    Session(Impl* server, Args&&... args) : stream_(std::forward<Args>(args)...), server_(server) {}
    ~Session() { server_->connections.fetch_sub(1); }

    void Start() {
      // kube-scheduler's filter and prioritize bodies are a pod and the node names (tens of KB at 1,000
      // nodes). An empty flat_buffer makes Beast read them 512 bytes per call, each through the reactor: one
      // read per body instead.
      buffer_.reserve(kReadBufferBytes);
      if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
        Read();
      } else {
        beast::get_lowest_layer(stream_).expires_after(server_->options.io_timeout);
        stream_.async_handshake(asio::ssl::stream_base::server,
                                [self = this->shared_from_this()](beast::error_code ec) {
                                  if (ec) return self->Close();
                                  self->Read();
                                });
      }
    }

   private:
    void Read() {
      parser_.emplace();
      parser_->body_limit(server_->options.max_body_bytes);
      beast::get_lowest_layer(stream_).expires_after(server_->options.io_timeout);
      http::async_read(stream_, buffer_, *parser_,
                       [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
    }

    void OnRead(beast::error_code ec) {
      if (ec == http::error::body_limit) {
        Reply(HttpReply{413, "{\"Error\":\"request body exceeds the size limit\"}"}, false);
        return;
      }
      if (ec) return Close();  // closed, timed out or malformed HTTP: drop the connection
      auto req = std::make_shared<http::request<http::string_body>>(parser_->release());
      keep_alive_ = req->keep_alive();
      const std::string method(req->method_string()), target(req->target());
      if (!server_->options.blocking || !server_->options.blocking(method, target)) {
        Reply(server_->Handle(method, target, req->body()), keep_alive_);
        return;
      }
      if (server_->blocking_pending.fetch_add(1) >= server_->options.blocking_queue) {
        server_->blocking_pending.fetch_sub(1);
        Reply(HttpReply{503, "{\"Error\":\"too many requests waiting on the API server\"}"}, keep_alive_);
        return;
      }
      // The reply is written back on this connection's strand; the session lives until then.
      asio::post(*server_->blocking, [self = this->shared_from_this(), req, method, target] {
        HttpReply reply = self->server_->Handle(method, target, req->body());
        self->server_->blocking_pending.fetch_sub(1);
        asio::post(self->stream_.get_executor(), [self, reply = std::move(reply)]() mutable {
          self->Reply(std::move(reply), self->keep_alive_);
        });
      });
    }

    void Reply(HttpReply reply, bool keep_alive) {
      auto res = std::make_shared<http::response<http::string_body>>();
      res->version(11);
      res->result(static_cast<http::status>(reply.status));
      res->set(http::field::content_type, reply.content_type);
      res->set(http::field::server, "tessera-extender");
      res->keep_alive(keep_alive);
      res->body() = std::move(reply.body);
      res->prepare_payload();
      beast::get_lowest_layer(stream_).expires_after(server_->options.io_timeout);
      http::async_write(stream_, *res,
                        [self = this->shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
                          if (ec || !keep_alive) return self->Close();
                          self->Read();
                        });
    }

    void Close() {
      beast::error_code ec;
      auto& socket = beast::get_lowest_layer(stream_).socket();
      socket.shutdown(tcp::socket::shutdown_both, ec);
      socket.close(ec);
    }

    Stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    Impl* server_;
    bool keep_alive_ = true;
  };

  std::unique_ptr<asio::ssl::context> tls;  // set when serving HTTPS

  HttpReply Handle(const std::string& method, const std::string& target, std::string_view body) {
    try {
      return handler(method, target, body);
    } catch (const std::exception&) {
      return HttpReply{500, std::string("{\"Error\":\"internal error\"}")};
    }
  }

  void Accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted) return;
      } else if (connections.fetch_add(1) >= options.max_connections) {
        connections.fetch_sub(1);
        beast::error_code ignored;
        socket.close(ignored);  // over the cap: refuse at once rather than queue without bound
      } else if (tls) {
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(this, std::move(socket), *tls)->Start();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(this, std::move(socket))->Start();
      }
      if (acceptor.is_open()) Accept();
    });
  }
};

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() {
  Stop();
}

Status HttpServer::Start() {
  beast::error_code ec;
  if (!impl_->options.tls_cert_file.empty() || !impl_->options.tls_key_file.empty()) {
    impl_->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    impl_->tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                            asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                            asio::ssl::context::no_tlsv1_1);
    impl_->tls->use_certificate_chain_file(impl_->options.tls_cert_file, ec);
    if (!ec) impl_->tls->use_private_key_file(impl_->options.tls_key_file, asio::ssl::context::pem, ec);
    if (ec) return Status::InvalidArgument("TLS certificate or key: " + ec.message());
  }
  auto address = asio::ip::make_address(impl_->options.address, ec);
  if (ec) return Status::InvalidArgument("bad listen address " + impl_->options.address);
  tcp::endpoint ep(address, static_cast<unsigned short>(impl_->options.port));
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Status::Unavailable("cannot listen on " + impl_->options.address + ":" +
                               std::to_string(impl_->options.port) + ": " + ec.message());
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->blocking = std::make_unique<asio::thread_pool>(std::max(1, impl_->options.blocking_threads));
  impl_->Accept();
  for (int i = 0; i < std::max(1, impl_->options.threads); ++i)
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  impl_->started = true;
  return Status::Ok();
}

void HttpServer::Stop() {
  if (!impl_ || !impl_->started) return;
  asio::post(impl_->io, [impl = impl_.get()] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
  // Requests in flight on the blocking pool finish (each bounded by its own deadline) and are answered first.
  impl_->blocking->join();
  impl_->io.stop();
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->started = false;
}

int HttpServer::port() const {
  return impl_->port;
}

}  // namespace tessera::extender
