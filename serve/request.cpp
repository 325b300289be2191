#include "serve/request.h"

#include "serve/api_error.h"
#include "serve/tool_calls.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace ferry::serve {
namespace {

using json = nlohmann::ordered_json;  // keeps the client's key order (tools are echoed into the prompt)

[[noreturn]] void bad(const std::string& param, const std::string& message) {
    throw ApiError(400, message, "invalid_request_error", param);
}

json parse_object(std::string_view body) {
    json j;
    try {
        // Strict parse: invalid UTF-8 inside strings, trailing garbage and comments fail.
        j = json::parse(body.begin(), body.end());
    } catch (const json::parse_error& e) {
        throw ApiError(400, fmt::format("the request body is not valid JSON: {}", e.what()),
                       "invalid_request_error", {}, "invalid_json");
    }
    if (!j.is_object()) bad({}, "the request body must be a JSON object");
    return j;
}

const json* field(const json& j, const char* name) {
    const auto it = j.find(name);
    return it == j.end() || it->is_null() ? nullptr : &*it;
}

double number(const json& j, const char* name, double lo, double hi, double fallback) {
    const json* v = field(j, name);
    if (!v) return fallback;
    if (!v->is_number()) bad(name, fmt::format("'{}' must be a number", name));
    const double x = v->get<double>();
    if (!std::isfinite(x) || x < lo || x > hi)
        bad(name, fmt::format("'{}' must be between {} and {}", name, lo, hi));
    return x;
}

long long integer(const json& j, const char* name, long long lo, long long hi, long long fallback) {
    const json* v = field(j, name);
    if (!v) return fallback;
    if (!v->is_number_integer()) bad(name, fmt::format("'{}' must be an integer", name));
    if (v->is_number_unsigned() && v->get<unsigned long long>() > static_cast<unsigned long long>(hi))
        bad(name, fmt::format("'{}' must be between {} and {}", name, lo, hi));
    const long long x = v->get<long long>();
    if (x < lo || x > hi) bad(name, fmt::format("'{}' must be between {} and {}", name, lo, hi));
    return x;
}

bool boolean(const json& j, const char* name, bool fallback) {
    const json* v = field(j, name);
    if (!v) return fallback;
    if (!v->is_boolean()) bad(name, fmt::format("'{}' must be true or false", name));
    return v->get<bool>();
}

void check_model(const json& j, const RequestLimits& limits) {
    const json* v = field(j, "model");
    if (!v) return;
    if (!v->is_string()) bad("model", "'model' must be a string");
    const std::string name = v->get<std::string>();
    if (name != limits.model_id)
        throw ApiError(
            404, fmt::format("the model '{}' does not exist; this server runs '{}'", name, limits.model_id),
            "invalid_request_error", "model", "model_not_found");
}

GenerationParams parse_params(const json& j, const RequestLimits& limits) {
    GenerationParams p;
    sample::SamplerConfig& s = p.sampler;
    s = limits.defaults;
    s.temperature = float(number(j, "temperature", 0, 2, s.temperature));
    s.top_p = float(number(j, "top_p", 0, 1, s.top_p));
    if (s.top_p <= 0) bad("top_p", "'top_p' must be above 0");
    s.top_k = int(integer(j, "top_k", 0, std::numeric_limits<int>::max(), s.top_k));
    s.min_p = float(number(j, "min_p", 0, 1, s.min_p));
    s.presence_penalty = float(number(j, "presence_penalty", -2, 2, s.presence_penalty));
    s.repeat_penalty =
        float(number(j, "repeat_penalty", 0.01, 10, s.repeat_penalty));  // llama.cpp's extension
    s.frequency_penalty = float(number(j, "frequency_penalty", -2, 2, s.frequency_penalty));
    // A seed keeps its full 64 bits; negative ones (some clients send -1 for "random") wrap.
    if (const json* seed = field(j, "seed")) {
        if (!seed->is_number_integer()) bad("seed", "'seed' must be an integer");
        s.seed = seed->is_number_unsigned() ? seed->get<std::uint64_t>()
                                            : std::uint64_t(seed->get<std::int64_t>());
    } else if (limits.random_seed) {
        s.seed = (std::uint64_t(std::random_device{}()) << 32) | std::random_device{}();
    }
    if (integer(j, "n", 1, 1000, 1) != 1) bad("n", "'n' other than 1 is not supported: ask once per answer");

    // max_completion_tokens is the newer name; either is bounded by the context.
    const char* max_name = field(j, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
    p.max_tokens = int(
        integer(j, max_name, 1, limits.n_ctx, std::min<int>(limits.default_max_tokens, int(limits.n_ctx))));

    if (const json* stop = field(j, "stop")) {
        if (stop->is_string()) {
            p.stop.push_back(stop->get<std::string>());
        } else if (stop->is_array()) {
            if (stop->size() > 4) bad("stop", "'stop' may hold at most 4 texts");
            for (const json& t : *stop) {
                if (!t.is_string()) bad("stop", "'stop' must be a string or an array of strings");
                p.stop.push_back(t.get<std::string>());
            }
        } else {
            bad("stop", "'stop' must be a string or an array of strings");
        }
        for (const std::string& t : p.stop)
            if (t.empty()) bad("stop", "'stop' texts may not be empty");
    }
    return p;
}

void parse_stream(const json& j, bool& stream, bool& include_usage) {
    stream = boolean(j, "stream", false);
    if (const json* o = field(j, "stream_options")) {
        if (!o->is_object()) bad("stream_options", "'stream_options' must be an object");
        include_usage = boolean(*o, "include_usage", false);
    }
}

// OpenAI's content: a string, or an array of parts of which ferry reads the text ones.
std::string message_content(const json& content, std::size_t index) {
    const std::string param = fmt::format("messages[{}].content", index);
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array()) bad(param, "'content' must be a string or an array of text parts");
    std::string text;
    for (const json& part : content) {
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
            !part["text"].is_string())
            bad(param, "only text parts ({\"type\": \"text\", \"text\": ...}) are supported");
        text += part["text"].get<std::string>();
    }
    return text;
}

// tools: [{"type": "function", "function": {"name": ..., ...}}], each kept as the prompt
// writes it; tool_choice "none" drops them, "auto" (the default) keeps them.
std::vector<std::string> parse_tools(const json& j) {
    std::vector<std::string> tools;
    const json* list = field(j, "tools");
    if (!list) return tools;
    if (!list->is_array()) bad("tools", "'tools' must be an array");
    for (std::size_t i = 0; i < list->size(); ++i) {
        const json& t = (*list)[i];
        const std::string at = fmt::format("tools[{}]", i);
        if (!t.is_object() || t.value("type", "") != "function")
            bad(at, "each tool must be {\"type\": \"function\", \"function\": {...}}");
        const json* fn = field(t, "function");
        if (!fn || !fn->is_object() || !fn->contains("name") || !(*fn)["name"].is_string())
            bad(at + ".function", "each tool's 'function' needs a 'name' string");
        tools.push_back(python_json(t));
    }
    if (const json* choice = field(j, "tool_choice")) {
        if (choice->is_string() && choice->get<std::string>() == "none") return {};
        if (!choice->is_string() || choice->get<std::string>() != "auto")
            bad("tool_choice",
                "'tool_choice' may be \"auto\" or \"none\": ferry cannot force a call (no constrained decoding)");
    }
    return tools;
}

// An assistant turn's tool_calls: [{"type": "function", "function": {"name", "arguments"}}];
// arguments a JSON string (as OpenAI sends them) or an object.
std::vector<text::ToolCall> parse_tool_calls(const json& m, const std::string& at) {
    std::vector<text::ToolCall> calls;
    const json* list = field(m, "tool_calls");
    if (!list) return calls;
    if (!list->is_array()) bad(at + ".tool_calls", "'tool_calls' must be an array");
    for (std::size_t k = 0; k < list->size(); ++k) {
        const std::string param = fmt::format("{}.tool_calls[{}].function", at, k);
        const json* fn = (*list)[k].is_object() ? field((*list)[k], "function") : nullptr;
        if (!fn || !fn->is_object() || !fn->contains("name") || !(*fn)["name"].is_string())
            bad(param, "each tool call needs a 'function' with a 'name' string");
        const json* args = field(*fn, "arguments");
        std::string arguments = "{}";
        if (args && args->is_string())
            arguments = args->get<std::string>();
        else if (args && args->is_object())
            arguments = python_json(*args);
        else if (args)
            bad(param + ".arguments", "'arguments' must be a JSON string or an object");
        calls.push_back({(*fn)["name"].get<std::string>(), std::move(arguments)});
    }
    return calls;
}

}  // namespace

ChatRequest parse_chat_request(std::string_view body, const RequestLimits& limits) {
    const json j = parse_object(body);
    check_model(j, limits);
    ChatRequest r;
    const json* messages = field(j, "messages");
    if (!messages) bad("messages", "'messages' is required");
    if (!messages->is_array() || messages->empty()) bad("messages", "'messages' must be a non-empty array");
    r.tools = parse_tools(j);
    for (std::size_t i = 0; i < messages->size(); ++i) {
        const json& m = (*messages)[i];
        const std::string at = fmt::format("messages[{}]", i);
        if (!m.is_object()) bad(at, "each message must be an object");
        const json* role = field(m, "role");
        if (!role || !role->is_string()) bad(at + ".role", "each message needs a 'role' string");
        std::string name = role->get<std::string>();
        if (name == "developer") name = "system";  // OpenAI's newer name for the system role
        if (name != "system" && name != "user" && name != "assistant" && name != "tool")
            bad(at + ".role",
                fmt::format("role '{}' is not supported (system, developer, user, assistant, tool)", name));
        const json* content = field(m, "content");
        if (!content && name != "assistant") bad(at + ".content", "'content' is required");
        std::vector<text::ToolCall> calls;
        if (name == "assistant") calls = parse_tool_calls(m, at);
        r.messages.push_back({name, content ? message_content(*content, i) : std::string(), std::move(calls)});
    }
    if (r.messages.back().role == "assistant")
        bad("messages", "the last message must not be the assistant's: ferry writes the next answer");
    r.params = parse_params(j, limits);
    parse_stream(j, r.stream, r.include_usage);
    return r;
}

CompletionRequest parse_completion_request(std::string_view body, const RequestLimits& limits) {
    const json j = parse_object(body);
    check_model(j, limits);
    CompletionRequest r;
    const json* prompt = field(j, "prompt");
    if (!prompt) bad("prompt", "'prompt' is required");
    if (prompt->is_string()) {
        r.prompt = prompt->get<std::string>();
    } else if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) {
        r.prompt = (*prompt)[0].get<std::string>();
    } else {
        bad("prompt", "'prompt' must be a string (or an array of one string)");
    }
    if (r.prompt.empty()) bad("prompt", "'prompt' may not be empty");
    if (boolean(j, "echo", false)) bad("echo", "'echo' is not supported");
    r.params = parse_params(j, limits);
    parse_stream(j, r.stream, r.include_usage);
    return r;
}

}  // namespace ferry::serve
