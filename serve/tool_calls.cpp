#include "serve/tool_calls.h"

#include "text/stop_text.h"

#include <algorithm>

namespace ferry::serve {
namespace {

using nlohmann::ordered_json;
constexpr std::string_view kOpen = "<tool_call>";
constexpr std::string_view kClose = "</tool_call>";

}  // namespace

std::string_view trim_space(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

bool parse_tool_call(std::string_view body, text::ToolCall& call) {
    const std::string_view json_text = trim_space(body);
    const ordered_json j = ordered_json::parse(json_text.begin(), json_text.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return false;
    const auto name = j.find("name");
    if (name == j.end() || !name->is_string() || name->get<std::string>().empty()) return false;
    call.name = name->get<std::string>();
    const auto args = j.find("arguments");
    if (args == j.end() || args->is_null()) {
        call.arguments = "{}";
    } else if (args->is_string()) {
        call.arguments = args->get<std::string>();
    } else if (args->is_object()) {
        call.arguments = args->dump();  // OpenAI's arguments: a JSON string, compact
    } else {
        return false;
    }
    return true;
}

ToolCallStream::Out ToolCallStream::push(std::string_view piece) {
    held_ += piece;
    Out out;
    for (;;) {
        if (!in_call_) {
            const auto open = held_.find(kOpen);
            if (open == std::string::npos) {
                const std::size_t keep = text::partial_tail(held_, kOpen);
                out.text += held_.substr(0, held_.size() - keep);
                held_.erase(0, held_.size() - keep);
                return out;
            }
            out.text += held_.substr(0, open);
            held_.erase(0, open + kOpen.size());
            in_call_ = true;
        }
        const auto close = held_.find(kClose);
        if (close == std::string::npos) return out;  // the call goes on
        text::ToolCall call;
        if (parse_tool_call(std::string_view(held_).substr(0, close), call))
            out.calls.push_back(std::move(call));
        else
            out.text += std::string(kOpen) + held_.substr(0, close + kClose.size());
        held_.erase(0, close + kClose.size());
        in_call_ = false;
    }
}

namespace {

constexpr std::string_view kHarmonyHeaders[] = {"<|channel|>commentary", " to=functions.", "to=functions."};

}  // namespace

ToolCallStream::Out HarmonyCallStream::push(std::string_view piece) {
    held_ += piece;
    ToolCallStream::Out out;
    if (in_call_) return out;
    std::size_t at = std::string::npos;
    for (std::string_view h : kHarmonyHeaders) at = std::min(at, held_.find(h));
    if (at != std::string::npos) {
        out.text = held_.substr(0, at);
        held_.erase(0, at);
        in_call_ = true;
        return out;
    }
    std::size_t keep = 0;
    for (std::string_view h : kHarmonyHeaders) keep = std::max(keep, text::partial_tail(held_, h));
    out.text = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return out;
}

ToolCallStream::Out HarmonyCallStream::finish() {
    ToolCallStream::Out out;
    const auto to = held_.find("to=functions.");
    const auto message = held_.find("<|message|>", to == std::string::npos ? 0 : to);
    if (in_call_ && to != std::string::npos && message != std::string::npos) {
        const std::size_t name_at = to + 13;
        const std::size_t name_end = std::min(held_.find_first_of(" <", name_at), message);
        std::string args = held_.substr(message + 11);
        if (const auto end = args.find("<|"); end != std::string::npos) args.resize(end);
        text::ToolCall call{held_.substr(name_at, name_end - name_at), std::string(trim_space(args))};
        if (!call.name.empty()) {
            if (call.arguments.empty()) call.arguments = "{}";
            out.calls.push_back(std::move(call));
            held_.clear();
        }
    }
    out.text = std::move(held_);
    held_.clear();
    in_call_ = false;
    return out;
}

ToolCallStream::Out ToolCallStream::finish() {
    Out out;
    text::ToolCall call;
    if (in_call_ && parse_tool_call(held_, call))
        out.calls.push_back(std::move(call));  // the answer ended before </tool_call>
    else
        out.text = (in_call_ ? std::string(kOpen) : std::string()) + held_;
    held_.clear();
    in_call_ = false;
    return out;
}

}  // namespace ferry::serve
