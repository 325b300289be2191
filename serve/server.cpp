#include "serve/server.h"

#include "base/error.h"
#include "serve/api_error.h"
#include "serve/http_connection.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <csignal>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace ferry::serve {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct ConnectionThread {
    std::shared_ptr<HttpConnection> conn;
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
};

class Listener {
public:
    Listener(Engine& engine, RouterConfig config, const ServerOptions& options)
        : engine_(engine),
          router_(engine, std::move(config), draining_),
          options_(options),
          acceptor_(io_),
          signals_(io_, SIGINT, SIGTERM) {}

    void listen(const std::function<void(std::uint16_t)>& on_listening) {
        boost::system::error_code ec;
        const auto address = asio::ip::make_address(options_.host, ec);
        if (ec) ferry::fail("serve: --host {} is not an IP address ({})", options_.host, ec.message());
        const tcp::endpoint endpoint(address, options_.port);
        acceptor_.open(endpoint.protocol(), ec);
        if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) acceptor_.bind(endpoint, ec);
        if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
        if (ec)
            ferry::fail("serve: cannot listen on {}:{}: {} (another server there? try --port)", options_.host,
                        options_.port, ec.message());
        on_listening(acceptor_.local_endpoint().port());
        signals_.async_wait([this](const boost::system::error_code& e, int) {
            if (!e) on_signal();
        });
        accept();
        io_.run();
        if (drainer_.joinable()) drainer_.join();
        for (auto& c : connections_) c.thread.join();
    }

private:
    void accept() {
        acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
            if (ec) return;  // closed by a drain
            reap();
            if (connections_.size() >= options_.max_connections) {
                // Over the bound: answer from here (small, does not wait on the model) and close.
                HttpConnection refused(std::move(socket));
                refused.send_json(503,
                                  dump_json(ApiError::error_body("too many connections; retry shortly",
                                                                 "server_error", {}, "too_many_connections")),
                                  {{"Retry-After", "1"}, {"Connection", "close"}});
            } else {
                ConnectionThread c;
                c.conn = std::make_shared<HttpConnection>(std::move(socket));
                c.thread = std::thread([this, conn = c.conn, done = c.done] {
                    conn->serve([this](const HttpRequest& r, HttpConnection& h) { router_.handle(r, h); },
                                options_.max_body, draining_);
                    *done = true;
                });
                std::lock_guard lock(mutex_);
                connections_.push_back(std::move(c));
            }
            accept();
        });
    }

    void reap() {
        std::lock_guard lock(mutex_);
        for (auto it = connections_.begin(); it != connections_.end();) {
            if (*it->done) {
                it->thread.join();
                it = connections_.erase(it);
            } else {
                ++it;
            }
        }
    }

    void on_signal() {
        if (draining_) {  // the second signal: stop now
            engine_.cut_grace();
            return;
        }
        draining_ = true;
        boost::system::error_code ec;
        acceptor_.close(ec);
        signals_.async_wait([this](const boost::system::error_code& e, int) {
            if (!e) on_signal();
        });
        drainer_ = std::thread([this] {
            // Running answers finish (new requests on open connections get 503 from the engine).
            engine_.drain(options_.drain_grace);
            // Connections waiting for their next request stop waiting.
            for (;;) {
                bool all_done = true;
                {
                    std::lock_guard lock(mutex_);
                    for (auto& c : connections_) {
                        if (*c.done) continue;
                        all_done = false;
                        if (c.conn->idle()) c.conn->interrupt_idle_read();
                    }
                }
                if (all_done) break;
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
            io_.stop();
        });
    }

    Engine& engine_;
    std::atomic<bool> draining_{false};
    Router router_;
    const ServerOptions options_;
    asio::io_context io_;
    tcp::acceptor acceptor_;
    asio::signal_set signals_;
    std::mutex mutex_;
    std::list<ConnectionThread> connections_;
    std::thread drainer_;
};

}  // namespace

void serve_http(Engine& engine, RouterConfig router_config, const ServerOptions& options,
                const std::function<void(std::uint16_t port)>& on_listening) {
    Listener listener(engine, std::move(router_config), options);
    listener.listen(on_listening);
}

}  // namespace ferry::serve
