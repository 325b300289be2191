#include "serve/openai_format.h"

#include "serve/api_error.h"

namespace ferry::serve {
namespace {

using nlohmann::json;

json reason(std::string_view finish_reason) {
    return finish_reason.empty() ? json(nullptr) : json(std::string(finish_reason));
}

json envelope(const ResponseMeta& meta, const char* object) {
    return {{"id", meta.id},
            {"object", object},
            {"created", meta.created},
            {"model", meta.model},
            {"system_fingerprint", "ferry"}};
}

}  // namespace

json usage_json(const Usage& u) {
    return {{"prompt_tokens", u.prompt_tokens},
            {"completion_tokens", u.completion_tokens},
            {"total_tokens", u.prompt_tokens + u.completion_tokens},
            {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

std::string sse_event(const json& data) {
    return "data: " + dump_json(data) + "\n\n";
}

std::string sse_done() {
    return "data: [DONE]\n\n";
}

json chat_chunk(const ResponseMeta& meta, const json& delta, std::string_view finish_reason) {
    json j = envelope(meta, "chat.completion.chunk");
    j["choices"] = json::array(
        {{{"index", 0}, {"delta", delta}, {"logprobs", nullptr}, {"finish_reason", reason(finish_reason)}}});
    return j;
}

json chat_usage_chunk(const ResponseMeta& meta, const Usage& usage) {
    json j = envelope(meta, "chat.completion.chunk");
    j["choices"] = json::array();
    j["usage"] = usage_json(usage);
    return j;
}

json chat_completion(const ResponseMeta& meta, const std::string& content, std::string_view finish_reason,
                     const Usage& usage, std::span<const text::ToolCall> calls, const std::string& reasoning) {
    json j = envelope(meta, "chat.completion");
    json message = {{"role", "assistant"}, {"content", content}};
    if (!reasoning.empty()) message["reasoning_content"] = reasoning;
    if (!calls.empty()) {
        if (content.empty()) message["content"] = nullptr;
        message["tool_calls"] = tool_calls_json(meta, calls);
    }
    j["choices"] = json::array(
        {{{"index", 0}, {"message", message}, {"logprobs", nullptr}, {"finish_reason", reason(finish_reason)}}});
    j["usage"] = usage_json(usage);
    return j;
}

json tool_calls_json(const ResponseMeta& meta, std::span<const text::ToolCall> calls, std::size_t first) {
    const std::string id = meta.id.substr(meta.id.find('-') + 1);  // chatcmpl-<id>
    json list = json::array();
    for (std::size_t k = 0; k < calls.size(); ++k)
        list.push_back({{"index", first + k},
                        {"id", "call_" + id + "_" + std::to_string(first + k)},
                        {"type", "function"},
                        {"function", {{"name", calls[k].name}, {"arguments", calls[k].arguments}}}});
    return list;
}

json completion_chunk(const ResponseMeta& meta, const std::string& text, std::string_view finish_reason) {
    json j = envelope(meta, "text_completion");
    j["choices"] = json::array(
        {{{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", reason(finish_reason)}}});
    return j;
}

json completion_usage_chunk(const ResponseMeta& meta, const Usage& usage) {
    json j = envelope(meta, "text_completion");
    j["choices"] = json::array();
    j["usage"] = usage_json(usage);
    return j;
}

json text_completion(const ResponseMeta& meta, const std::string& text, std::string_view finish_reason,
                     const Usage& usage) {
    json j = completion_chunk(meta, text, finish_reason);
    j["usage"] = usage_json(usage);
    return j;
}

json model_list(const std::string& model_id, std::int64_t created) {
    return {{"object", "list"},
            {"data",
             json::array(
                 {{{"id", model_id}, {"object", "model"}, {"created", created}, {"owned_by", "ferry"}}})}};
}

}  // namespace ferry::serve
