#include "extender/http_server.h"

#include <atomic>
#include <optional>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>
#include <vector>

namespace tessera::extender {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpServer::Impl {
  HttpServerOptions options;
  HttpHandler handler;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  std::atomic<size_t> connections{0};
  int port = 0;
  bool started = false;

  class Session : public std::enable_shared_from_this<Session> {
   public:
    Session(tcp::socket socket, Impl* server) : stream_(std::move(socket)), server_(server) {}
    ~Session() { server_->connections.fetch_sub(1); }

    void Read() {
      parser_.emplace();
      parser_->body_limit(server_->options.max_body_bytes);
      stream_.expires_after(server_->options.io_timeout);
      http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
        self->OnRead(ec);
      });
    }

   private:
    void OnRead(beast::error_code ec) {
      if (ec == http::error::body_limit) {
        Reply(HttpReply{413, "{\"Error\":\"request body exceeds the size limit\"}"}, false);
        return;
      }
      if (ec) return Close();  // closed, timed out or malformed HTTP: drop the connection
      http::request<http::string_body> req = parser_->release();
      keep_alive_ = req.keep_alive();
      HttpReply reply;
      try {
        reply = server_->handler(std::string(req.method_string()), std::string(req.target()), req.body());
      } catch (const std::exception&) {
        reply = HttpReply{500, std::string("{\"Error\":\"internal error\"}")};
      }
      Reply(std::move(reply), keep_alive_);
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
      stream_.expires_after(server_->options.io_timeout);
      http::async_write(stream_, *res, [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
        if (ec || !keep_alive) return self->Close();
        self->Read();
      });
    }

    void Close() {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      stream_.socket().close(ec);
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    Impl* server_;
    bool keep_alive_ = true;
  };

  void Accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted) return;
      } else if (connections.fetch_add(1) >= options.max_connections) {
        connections.fetch_sub(1);
        beast::error_code ignored;
        socket.close(ignored);  // over the cap: refuse at once rather than queue without bound
      } else {
        std::make_shared<Session>(std::move(socket), this)->Read();
      }
      if (acceptor.is_open()) Accept();
    });
  }
};

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  beast::error_code ec;
  auto address = asio::ip::make_address(impl_->options.address, ec);
  if (ec) return Status::InvalidArgument("bad listen address " + impl_->options.address);
  tcp::endpoint ep(address, static_cast<unsigned short>(impl_->options.port));
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("cannot listen on " + impl_->options.address + ":" + std::to_string(impl_->options.port) + ": " + ec.message());
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->Accept();
  for (int i = 0; i < std::max(1, impl_->options.threads); ++i) impl_->threads.emplace_back([this] { impl_->io.run(); });
  impl_->started = true;
  return Status::Ok();
}

void HttpServer::Stop() {
  if (!impl_ || !impl_->started) return;
  asio::post(impl_->io, [impl = impl_.get()] {
    beast::error_code ec;
    impl->acceptor.close(ec);
  });
  impl_->io.stop();
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->started = false;
}

int HttpServer::port() const { return impl_->port; }

}  // namespace tessera::extender
