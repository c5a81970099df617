// The API client on a connection the server has dropped: after an API server restart, the pooled keep-alive
// connection is dead, and the next request (a bind's Binding) fails while being written. The server
// never received it, so the client sends it again on a fresh connection instead of failing the bind.
#include "kube/kube_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <string>
#include <thread>

namespace tessera::kube {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Answers every request with 200 and keep-alive, then resets the connection (SO_LINGER 0: an RST, as a restarted
// server's kernel answers a dead connection). Serves up to `connections` connections, then stops.
class ResettingServer {
 public:
  explicit ResettingServer(int connections)
      : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this, connections] {
      for (int i = 0; i < connections; ++i) {
        tcp::socket s(io_);
        boost::system::error_code ec;
        acceptor_.accept(s, ec);
        if (ec || stop_.load()) return;
        asio::streambuf buf;
        asio::read_until(s, buf, "\r\n\r\n", ec);
        if (ec) continue;
        // The bodies here are short and sent with the headers: drop whatever follows the blank line.
        requests_.fetch_add(1);
        const std::string reply =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: "
            "keep-alive\r\n\r\n{}";
        asio::write(s, asio::buffer(reply), ec);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        s.set_option(asio::socket_base::linger(true, 0), ec);
        s.close(ec);
      }
    });
  }
  ~ResettingServer() {
    // A blocking accept() is not woken by close() from another thread: connect once to let it return.
    stop_.store(true);
    boost::system::error_code ec;
    tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  int requests() const { return requests_.load(); }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<int> requests_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(KubeClient, RequestOnAConnectionTheServerResetIsSentAgain) {
  ResettingServer server(3);
  ClusterConfig c;
  c.server = "http://127.0.0.1:" + std::to_string(server.port());
  c.timeout = std::chrono::milliseconds(3000);
  KubeClient client(c);
  Result<HttpResponse> first = client.MergePatch("/api/v1/namespaces/d/pods/p", R"({"metadata":{}})");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the reset has arrived
  for (int i = 0; i < 2; ++i) {
    Result<HttpResponse> again = client.MergePatch("/api/v1/namespaces/d/pods/p", R"({"metadata":{}})");
    ASSERT_TRUE(again.ok()) << "request " << i + 2 << ": " << again.status().ToString();
    EXPECT_EQ(again->status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(server.requests(), 3);
}

// Zero threads would leave every request waiting for its deadline: refused, and the pool is left as it was.
TEST(KubeClient, ZeroApiClientThreadsIsRefused) {
  const Status s = SetApiClientThreads(0);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("at least 1"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace tessera::kube
