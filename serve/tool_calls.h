#pragma once
// Tool calling in Qwen3's format (Hermes style): the model answers a call as
//   <tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>
// This file turns those blocks of the generated text into OpenAI tool_calls, whole answers
// and streams alike, and writes JSON as the chat template's `tojson` does for the prompt.
#include "text/chat_template.h"
#include "text/python_json.h"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace ferry::serve {

using text::python_json;  // text/python_json.h: the templates' tojson

// `s` without leading and trailing spaces, tabs and line breaks.
std::string_view trim_space(std::string_view s);

// A complete <tool_call> body parsed: {"name": string, "arguments": object or JSON string}.
// False where it is not a call (the block then stays text, as the model wrote it).
bool parse_tool_call(std::string_view body, text::ToolCall& call);

// An answer's text, piece by piece: push() each and send what it returns (the text between
// and around the calls, and each call once complete); text that may open a call is held
// until it does or cannot. finish() at the end of the answer
// returns what is still held (an unclosed call's text, or its call where the body parsed).
class ToolCallStream {
public:
    struct Out {
        std::string text;
        std::vector<text::ToolCall> calls;
    };
    Out push(std::string_view piece);
    Out finish();

private:
    std::string held_;
    bool in_call_ = false;
};

// The same for gpt-oss's harmony: a call is a commentary message to a function,
//   <|channel|>commentary to=functions.NAME [json]<|message|>ARGS   (or " to=functions.NAME
//   <|channel|>commentary json<|message|>ARGS" after a dropped <|start|>assistant)
// and generation stops at its <|call|>, so everything from a call's header on is held and
// parsed at finish().
class HarmonyCallStream {
public:
    ToolCallStream::Out push(std::string_view piece);
    ToolCallStream::Out finish();

private:
    std::string held_;
    bool in_call_ = false;
};

}  // namespace ferry::serve
