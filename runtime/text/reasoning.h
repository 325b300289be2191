#pragma once
// Reasoning told apart from the answer in the text a model writes: Qwen3's
// <think>...</think>, gpt-oss's harmony analysis channel, Gemma 4's thought channel
// (<|channel>thought\n...<channel|>); a format's other markup (harmony's
// message headers) is dropped. Works on streamed text, holding back only the bytes that could
// begin a marker split across tokens. `ferry chat` hides or dims the reasoning; `ferry serve`
// sends it as reasoning_content.
#include "text/chat_template.h"

#include <string>
#include <string_view>
#include <vector>

namespace ferry::text {

struct TextSegment {
    std::string text;
    bool thinking = false;  // reasoning (Qwen3: inside <think>...</think>, tags included)
};

// How a chat format marks reasoning in the text the model writes.
struct ReasoningMarkup {
    std::string open, close;  // reasoning runs from open to close
    bool tags_shown = true;   // open/close belong to the reasoning's text (Qwen3), else dropped
    std::vector<std::string> hidden;  // other markup, never shown (harmony's headers)
    // Whether a control token's text is part of this markup: such tokens go through the
    // splitter, the others are never shown.
    bool mentions(std::string_view control_text) const;
};
// Qwen3's <think> tags for most formats; harmony's channels for gpt-oss:
// <|channel|>analysis<|message|>...<|end|> is reasoning, <|start|>assistant and
// <|channel|>final<|message|> are dropped.
ReasoningMarkup reasoning_markup(ChatFormat format);

class ThinkSplitter {
public:
    // inside: the prompt already opened the reasoning (Qwen3.5's generation prompt ends in
    // "<think>\n"), so the text starts in it.
    explicit ThinkSplitter(ReasoningMarkup markup = reasoning_markup(ChatFormat::Qwen3), bool inside = false);
    std::vector<TextSegment> push(std::string_view text);
    std::vector<TextSegment> flush();
    bool in_think() const { return in_think_; }

private:
    ReasoningMarkup markup_;
    std::string pending_;
    bool in_think_ = false;
};

}  // namespace ferry::text
