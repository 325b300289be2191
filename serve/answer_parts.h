#pragma once
// An answer's text on its way out of `ferry serve`: the reasoning split off where the
// request's shape asks (reasoning_content; its leading newlines and the content's dropped,
// as llama-server does), then, with tools, the <tool_call> blocks taken out of the content.
#include "serve/tool_calls.h"
#include "text/reasoning.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::serve {

class AnswerParts {
public:
    struct Piece {
        std::string reasoning, content;
        std::vector<text::ToolCall> calls;
    };
    // reasoning: the markup to split off (none: all content); reasoning_open: the prompt
    // opened it, so the answer starts inside; tool_calls: parse calls out of the content in
    // this format's syntax (Qwen3's <tool_call> blocks, harmony's function messages).
    enum class Calls { none, qwen3, harmony };
    AnswerParts(const std::optional<text::ReasoningMarkup>& reasoning, bool reasoning_open, Calls tool_calls);
    Piece push(std::string_view text);
    Piece finish();  // what is still held at the end of the answer

private:
    Piece route(const std::vector<text::TextSegment>& segments, bool last);

    Calls tool_calls_;
    std::optional<text::ThinkSplitter> think_;
    ToolCallStream calls_;
    HarmonyCallStream harmony_calls_;
    bool reasoning_started_ = false, content_started_ = false;
};

}  // namespace ferry::serve
