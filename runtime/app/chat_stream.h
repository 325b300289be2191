#pragma once
// Text filters between the detokenizer and the screen, for `ferry chat`. They work on the
// streamed text, never on token ids, so they hold back only the few bytes that could be the
// start of a marker split across tokens.
//
//   StopTextFilter (text/stop_text.h, shared with serve): ends the answer at an end-of-turn text ("<|im_end|>", "</s>") that the
//     model spelled with ordinary tokens; the marker itself is never shown.
//   ThinkSplitter: tells reasoning apart from the answer (Qwen3's <think>...</think>,
//     gpt-oss's harmony analysis channel), so the printer can hide it or show it dimmed, and
//     drops a format's other markup (harmony's message headers).
#include "text/chat_template.h"
#include "text/stop_text.h"

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::app {

using text::StopTextFilter;  // text/stop_text.h

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
ReasoningMarkup reasoning_markup(text::ChatFormat format);

class ThinkSplitter {
public:
    explicit ThinkSplitter(ReasoningMarkup markup = reasoning_markup(text::ChatFormat::Qwen3));
    std::vector<TextSegment> push(std::string_view text);
    std::vector<TextSegment> flush();
    bool in_think() const { return in_think_; }

private:
    ReasoningMarkup markup_;
    std::string pending_;
    bool in_think_ = false;
};

// How reasoning is shown: hidden, dimmed with ANSI faint (a terminal), or as plain text.
enum class ThinkingDisplay { hide, dim, plain };

// Prints an answer's segments to a FILE, flushing after each piece.
class AnswerPrinter {
public:
    AnswerPrinter(std::FILE* out, ThinkingDisplay display);
    void write(const std::vector<TextSegment>& segments);
    // Resets the terminal attribute if one is on and ends the answer's line (an empty answer
    // still gets its line, so piped output has one line break per answer at least).
    void finish();

private:
    std::FILE* out_;
    ThinkingDisplay display_;
    bool dim_on_ = false;
    bool skip_newlines_ = false;  // after a hidden think block, its trailing blank lines
    bool printed_ = false;
    char last_ = '\n';
};

}  // namespace ferry::app
