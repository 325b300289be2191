#include "serve/http_connection.h"

#include "serve/api_error.h"

#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>

#include <cerrno>

#include <poll.h>
#include <sys/socket.h>

namespace ferry::serve {

namespace beast = boost::beast;

namespace {

constexpr int kKeepAliveIdle = 60'000;  // milliseconds

}  // namespace

HttpConnection::HttpConnection(boost::asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
    beast::error_code ec;
    socket_.set_option(boost::asio::ip::tcp::no_delay(true), ec);  // stream tokens as they come
}

void HttpConnection::serve(const Handler& handle, std::size_t max_body, const std::atomic<bool>& draining) {
    while (!closed_) {
        // Idle before the check: a drain that starts now either sees us idle (and interrupts
        // the read) or we see it.
        idle_ = true;
        if (draining) break;
        // A keep-alive connection that sends nothing for a while is closed, so idle clients
        // cannot hold every connection slot.
        if (buffer_.size() == 0 && !readable_within(kKeepAliveIdle)) break;
        http::request_parser<HttpRequest::body_type> parser;
        parser.body_limit(max_body);
        parser.header_limit(64 * 1024);
        beast::error_code ec;
        http::read_header(socket_, buffer_, parser, ec);
        idle_ = false;
        if (!ec && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
            // curl asks before sending a body over 1 KiB; without this it waits a second.
            http::response<http::empty_body> go{http::status::continue_, 11};
            http::write(socket_, go, ec);
        }
        if (!ec) http::read(socket_, buffer_, parser, ec);
        if (ec == http::error::end_of_stream || ec == boost::asio::error::eof ||
            ec == boost::asio::error::connection_reset || ec == boost::asio::error::operation_aborted)
            break;
        if (ec == http::error::body_limit) {
            keep_alive_ = false;
            send_json(413, dump_json(ApiError::error_body(
                               "the request body is larger than the server's limit (--max-body)",
                               "invalid_request_error", {}, "request_too_large")));
            break;
        }
        if (ec == http::error::header_limit) {
            keep_alive_ = false;
            send_json(431, dump_json(ApiError::error_body("the request headers are too large",
                                                          "invalid_request_error", {}, "headers_too_large")));
            break;
        }
        if (ec) {
            if (buffer_.size() > 0 || parser.got_some()) {
                keep_alive_ = false;
                send_json(400, dump_json(ApiError::error_body("malformed HTTP request: " + ec.message(),
                                                              "invalid_request_error", {}, "bad_http")));
            }
            break;
        }
        const HttpRequest& request = parser.get();
        keep_alive_ = request.keep_alive();
        handle(request, *this);
        if (!keep_alive_) break;
    }
    std::lock_guard lock(close_mutex_);
    beast::error_code ec;
    socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
    socket_.close(ec);
}

bool HttpConnection::send(int status, std::string_view content_type, std::string body,
                          const Headers& headers) {
    last_status_ = status;
    http::response<http::string_body> res{http::int_to_status(unsigned(status)), 11};
    res.set(http::field::server, "ferry");
    res.set(http::field::content_type, std::string(content_type));
    res.set(http::field::access_control_allow_origin, "*");
    for (const auto& [name, value] : headers) res.set(name, value);
    res.keep_alive(keep_alive_);
    res.body() = std::move(body);
    res.prepare_payload();
    beast::error_code ec;
    http::write(socket_, res, ec);
    if (ec) closed_ = true;
    return !ec;
}

bool HttpConnection::send_json(int status, const std::string& json_text, const Headers& headers) {
    return send(status, "application/json", json_text, headers);
}

bool HttpConnection::begin_stream() {
    last_status_ = 200;
    http::response<http::empty_body> res{http::status::ok, 11};
    res.set(http::field::server, "ferry");
    res.set(http::field::content_type, "text/event-stream");
    res.set(http::field::cache_control, "no-cache");
    res.set(http::field::access_control_allow_origin, "*");
    res.set("X-Accel-Buffering", "no");  // proxies: do not hold events back
    res.keep_alive(keep_alive_);
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    beast::error_code ec;
    http::write_header(socket_, sr, ec);
    if (ec) closed_ = true;
    return !ec;
}

bool HttpConnection::write_stream(std::string_view data) {
    if (closed_) return false;
    beast::error_code ec;
    boost::asio::write(socket_, http::make_chunk(boost::asio::const_buffer(data.data(), data.size())), ec);
    if (ec) closed_ = true;
    return !ec;
}

void HttpConnection::end_stream() {
    if (closed_) return;
    beast::error_code ec;
    boost::asio::write(socket_, http::make_chunk_last(), ec);
    if (ec) closed_ = true;
}

bool HttpConnection::readable_within(int milliseconds) {
    pollfd p{.fd = socket_.native_handle(), .events = POLLIN, .revents = 0};
    for (;;) {
        const int n = ::poll(&p, 1, milliseconds);
        if (n < 0 && errno == EINTR) continue;
        return n != 0;  // readable, closed or failed: the read that follows tells which
    }
}

bool HttpConnection::peer_closed() {
    if (closed_) return true;
    pollfd p{.fd = socket_.native_handle(), .events = POLLIN | POLLRDHUP, .revents = 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLERR | POLLHUP | POLLRDHUP)) return closed_ = true;
    char byte;
    // Readable with nothing to read: the client closed. Readable with data: a pipelined
    // request, which stays in the socket for later.
    if (::recv(p.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0) return closed_ = true;
    return false;
}

void HttpConnection::interrupt_idle_read() {
    std::lock_guard lock(close_mutex_);
    if (socket_.is_open()) ::shutdown(socket_.native_handle(), SHUT_RD);
}

}  // namespace ferry::serve
