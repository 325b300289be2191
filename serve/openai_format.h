#pragma once
// OpenAI's response objects and the server-sent-event framing of a streamed answer:
//   data: {"object":"chat.completion.chunk", ...}\n\n   ...   data: [DONE]\n\n
// Pure functions, so the unit tests check the exact bytes a client parses.
#include "text/chat_template.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ferry::serve {

struct ResponseMeta {
    std::string id;            // "chatcmpl-..." or "cmpl-..."
    std::int64_t created = 0;  // Unix seconds
    std::string model;
};

struct Usage {
    std::size_t prompt_tokens = 0;
    std::size_t completion_tokens = 0;
    std::size_t cached_tokens = 0;  // of the prompt, reused from a sequence's KV cache
};

nlohmann::json usage_json(const Usage& usage);

// One SSE event carrying `data` as one line of JSON, and the stream's last event.
std::string sse_event(const nlohmann::json& data);
std::string sse_done();

// finish_reason: "stop", "length", "tool_calls", or empty for a chunk in the middle (null in the JSON).
nlohmann::json chat_chunk(const ResponseMeta& meta, const nlohmann::json& delta,
                          std::string_view finish_reason);
nlohmann::json chat_usage_chunk(const ResponseMeta& meta, const Usage& usage);  // choices: []
// With calls: message.tool_calls (content null where the answer was only calls); with
// reasoning: message.reasoning_content.
nlohmann::json chat_completion(const ResponseMeta& meta, const std::string& content,
                               std::string_view finish_reason, const Usage& usage,
                               std::span<const text::ToolCall> calls = {}, const std::string& reasoning = {});
// OpenAI's tool_calls entries, numbered from `first` (a stream sends each as it completes):
// {"index", "id": "call_<response id>_<index>", "type": "function", "function": {name, arguments}}.
nlohmann::json tool_calls_json(const ResponseMeta& meta, std::span<const text::ToolCall> calls,
                               std::size_t first = 0);

nlohmann::json completion_chunk(const ResponseMeta& meta, const std::string& text,
                                std::string_view finish_reason);
nlohmann::json completion_usage_chunk(const ResponseMeta& meta, const Usage& usage);
nlohmann::json text_completion(const ResponseMeta& meta, const std::string& text,
                               std::string_view finish_reason, const Usage& usage);

// GET /v1/models
nlohmann::json model_list(const std::string& model_id, std::int64_t created);

}  // namespace ferry::serve
