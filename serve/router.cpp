#include "serve/router.h"

#include "base/error.h"
#include "serve/api_error.h"
#include "serve/chat_page.h"
#include "serve/generation.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <random>

namespace ferry::serve {
namespace {

using nlohmann::json;

constexpr std::array kRoutes = {
    "/", "/health", "/metrics", "/v1/models", "/v1/chat/completions", "/v1/completions"};

// The path without its query string.
std::string path_of(const HttpRequest& r) {
    const std::string_view target(r.target().data(), r.target().size());
    return std::string(target.substr(0, target.find('?')));
}

bool authorised(const HttpRequest& r, const std::string& key) {
    if (key.empty()) return true;
    const auto it = r.find(http::field::authorization);
    return it != r.end() && std::string(it->value()) == "Bearer " + key;
}

}  // namespace

Router::Router(Engine& engine, RouterConfig config, const std::atomic<bool>& draining)
    : engine_(engine), config_(std::move(config)), draining_(draining) {}

std::string Router::next_id(const char* prefix) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    return fmt::format("{}-{:x}{:08x}", prefix, next_id_++, std::uint32_t(rng()));
}

void Router::handle(const HttpRequest& request, HttpConnection& conn) {
    try {
        dispatch(request, conn);
    } catch (const ApiError& e) {
        conn.send_json(e.status(), dump_json(e.body()));
    } catch (const std::exception& e) {
        conn.send_json(500, dump_json(ApiError::error_body(fmt::format("internal error: {}", e.what()),
                                                           "server_error", {}, "internal_error")));
    }
    const std::string path = path_of(request);
    const bool known = std::find(kRoutes.begin(), kRoutes.end(), path) != kRoutes.end();
    counter_.count(known ? path : "other", conn.last_status());
}

void Router::dispatch(const HttpRequest& r, HttpConnection& conn) {
    const std::string path = path_of(r);
    const http::verb method = r.method();
    if (method == http::verb::options) {  // CORS preflight from a browser page elsewhere
        conn.send(204, "text/plain", "",
                  {{"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
                   {"Access-Control-Allow-Headers", "Authorization, Content-Type"}});
        return;
    }
    auto only = [&](http::verb allowed) {
        if (method != allowed)
            throw ApiError(405,
                           fmt::format("{} {} is not supported; use {}", std::string(r.method_string()), path,
                                       std::string(http::to_string(allowed))),
                           "invalid_request_error", {}, "method_not_allowed");
    };
    auto need_key = [&] {
        if (!authorised(r, config_.api_key))
            throw ApiError(401, "missing or wrong API key: send 'Authorization: Bearer <key>' (--api-key)",
                           "invalid_request_error", {}, "invalid_api_key");
    };
    if (path == "/health") {
        only(http::verb::get);
        if (draining_)
            conn.send_json(503, R"({"status":"draining"})");
        else
            conn.send_json(200, R"({"status":"ok"})");
    } else if (path == "/") {
        only(http::verb::get);
        conn.send(200, "text/html; charset=utf-8", std::string(chat_page_html()));
    } else if (path == "/metrics") {
        only(http::verb::get);
        need_key();
        conn.send(200, "text/plain; version=0.0.4", prometheus_text(counter_.snapshot(), engine_.stats()));
    } else if (path == "/v1/models") {
        only(http::verb::get);
        need_key();
        conn.send_json(200, dump_json(model_list(config_.limits.model_id, config_.started)));
    } else if (path == "/v1/chat/completions") {
        only(http::verb::post);
        need_key();
        chat_completions(r, conn);
    } else if (path == "/v1/completions") {
        only(http::verb::post);
        need_key();
        completions(r, conn);
    } else {
        throw ApiError(404, fmt::format("no such path: {}", path), "invalid_request_error", {}, "not_found");
    }
}

void Router::chat_completions(const HttpRequest& r, HttpConnection& conn) {
    const ChatRequest req = parse_chat_request(r.body(), config_.limits);
    const bool uses_tools = !req.tools.empty() || std::any_of(req.messages.begin(), req.messages.end(), [](auto& m) {
                                return m.role == "tool" || !m.tool_calls.empty();
                            });
    if (uses_tools && !text::supports_tools(config_.format, config_.chat_options))
        throw ApiError(400,
                       fmt::format("this model's chat format ({}) has no tool calling in ferry; tools work with "
                                   "Qwen3's template (<tool_call>) and gpt-oss's harmony",
                                   text::chat_format_name(config_.format)),
                       "invalid_request_error", req.tools.empty() ? "messages" : "tools");
    text::ChatOptions options = config_.chat_options;
    options.tools = req.tools;
    text::ChatOptions history_options = options;
    history_options.add_generation_prompt = false;
    std::string prompt, history;
    try {  // a conversation the template cannot write (a tool result without a call) is the client's
        prompt = text::render_chat(config_.format, req.messages, options);
        history = text::render_chat(config_.format, req.messages, history_options);
    } catch (const ferry::Error& e) {
        throw ApiError(400, e.what(), "invalid_request_error", "messages");
    }
    // Splitting the reasoning off: the format's markup, its tags not part of either text.
    // (harmony's calls need its headers in the text whenever tools are given)
    const bool harmony = config_.format == text::ChatFormat::Harmony;
    text::ReasoningMarkup markup = text::reasoning_markup(
        config_.split_reasoning || (harmony && !req.tools.empty()) ? config_.format : text::ChatFormat::Qwen3);
    markup.tags_shown = false;
    auto job = std::make_shared<Job>(std::move(prompt), true, req.params, text::end_of_turn_texts(config_.format),
                                     markup);
    job->history_text = std::move(history);
    const AnswerShape shape{
        .meta = {next_id("chatcmpl"), std::int64_t(std::time(nullptr)), config_.limits.model_id},
        .chat = true,
        .stream = req.stream,
        .include_usage = req.include_usage,
        .tool_calls = req.tools.empty() ? AnswerParts::Calls::none
                      : harmony         ? AnswerParts::Calls::harmony
                                        : AnswerParts::Calls::qwen3,
        .reasoning = config_.split_reasoning ? std::optional(markup) : std::nullopt,
        .reasoning_open = config_.split_reasoning && text::prompt_opens_reasoning(config_.format, options)};
    answer_job(engine_, job, shape, conn);
}

void Router::completions(const HttpRequest& r, HttpConnection& conn) {
    const CompletionRequest req = parse_completion_request(r.body(), config_.limits);
    auto job = std::make_shared<Job>(req.prompt, false, req.params, std::vector<std::string>{});
    const AnswerShape shape{
        .meta = {next_id("cmpl"), std::int64_t(std::time(nullptr)), config_.limits.model_id},
        .chat = false,
        .stream = req.stream,
        .include_usage = req.include_usage};
    answer_job(engine_, job, shape, conn);
}

}  // namespace ferry::serve
