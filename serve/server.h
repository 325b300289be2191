#pragma once
// The listening side: a Boost.Asio acceptor on the main thread, one thread per connection
// (bounded; beyond the bound a connection gets 503 at once), and SIGINT/SIGTERM handling:
// stop accepting, let running answers finish (up to the grace period), close idle
// connections, return. A second signal cancels what still runs.
#include "serve/engine.h"
#include "serve/router.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace ferry::serve {

struct ServerOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;
    std::size_t max_body = 8u << 20;  // bytes of a request body; beyond: 413
    std::size_t max_connections = 64;
    std::chrono::milliseconds drain_grace{15000};
};

// Serves until SIGINT or SIGTERM; returns after a clean drain. Throws ferry::Error when
// the address cannot be bound. `on_listening` gets the bound port (the port may be 0: any).
void serve_http(Engine& engine, RouterConfig router_config, const ServerOptions& options,
                const std::function<void(std::uint16_t port)>& on_listening);

}  // namespace ferry::serve
