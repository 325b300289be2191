#pragma once
// One client connection on its own thread: reads HTTP/1.1 requests with Beast (bounded
// header and body), hands each to the router, and writes whole responses or a chunked
// server-sent-event stream. Between stream writes the router asks peer_closed(), so a
// client that went away is noticed even while nothing is being written.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::serve {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using Headers = std::vector<std::pair<std::string, std::string>>;

class HttpConnection {
public:
    explicit HttpConnection(boost::asio::ip::tcp::socket socket);

    using Handler = std::function<void(const HttpRequest&, HttpConnection&)>;
    // Serves requests until the client closes, a response asks to close, or `draining`
    // turns true between requests. Oversized bodies get 413, bad HTTP 400.
    void serve(const Handler& handle, std::size_t max_body, const std::atomic<bool>& draining);

    // A whole response. Returns false when the client is gone.
    bool send(int status, std::string_view content_type, std::string body, const Headers& headers = {});
    bool send_json(int status, const std::string& json_text, const Headers& headers = {});

    // A chunked text/event-stream response: begin, any number of writes, end.
    bool begin_stream();
    bool write_stream(std::string_view data);
    void end_stream();

    // True when the client closed its side (or the socket failed): poll + peek, no blocking.
    bool peer_closed();
    // Stops a read that waits for the next request (server shutdown); safe from any thread.
    void interrupt_idle_read();
    bool idle() const { return idle_; }
    int last_status() const { return last_status_; }

private:
    bool readable_within(int milliseconds);

    boost::asio::ip::tcp::socket socket_;
    boost::beast::flat_buffer buffer_;
    bool keep_alive_ = true;
    bool closed_ = false;
    int last_status_ = 0;
    std::atomic<bool> idle_{true};
    std::mutex close_mutex_;  // interrupt_idle_read() never meets a closed (reused) descriptor
};

}  // namespace ferry::serve
