#pragma once
// What each path answers:
//   POST /v1/chat/completions, POST /v1/completions   generation (generation.h)
//   GET  /v1/models, GET /health, GET /metrics, GET / (the chat page)
// Every failure is a JSON error in OpenAI's shape; a handler never throws past here.
#include "serve/engine.h"
#include "serve/http_connection.h"
#include "serve/metrics.h"
#include "serve/request.h"
#include "text/chat_template.h"

#include <atomic>
#include <cstdint>
#include <string>

namespace ferry::serve {

struct RouterConfig {
    RequestLimits limits;  // includes the model's id
    std::string api_key;   // empty: no authentication
    text::ChatFormat format = text::ChatFormat::ChatML;
    text::ChatOptions chat_options;
    // Chat answers' reasoning (Qwen3's <think>, gpt-oss's analysis channel) goes into
    // reasoning_content, as llama-server's --reasoning-format deepseek; false: left in
    // content as the model wrote it (Qwen3's tags; harmony's headers dropped).
    bool split_reasoning = true;
    std::int64_t started = 0;  // Unix seconds, for /v1/models
};

class Router {
public:
    Router(Engine& engine, RouterConfig config, const std::atomic<bool>& draining);
    void handle(const HttpRequest& request, HttpConnection& conn);

private:
    void dispatch(const HttpRequest& request, HttpConnection& conn);
    void chat_completions(const HttpRequest& request, HttpConnection& conn);
    void completions(const HttpRequest& request, HttpConnection& conn);
    std::string next_id(const char* prefix);

    Engine& engine_;
    const RouterConfig config_;
    const std::atomic<bool>& draining_;
    RequestCounter counter_;
    std::atomic<std::uint64_t> next_id_{1};
};

}  // namespace ferry::serve
