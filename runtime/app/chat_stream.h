#pragma once
// Text filters between the detokenizer and the screen, for `ferry chat`. They work on the
// streamed text, never on token ids, so they hold back only the few bytes that could be the
// start of a marker split across tokens.
//
//   StopTextFilter (text/stop_text.h, shared with serve): ends the answer at an end-of-turn text ("<|im_end|>", "</s>") that the
//     model spelled with ordinary tokens; the marker itself is never shown.
//   ThinkSplitter (text/reasoning.h, shared with serve): tells reasoning apart from the
//     answer, so the printer can hide it or show it dimmed.
#include "text/chat_template.h"
#include "text/reasoning.h"
#include "text/stop_text.h"

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::app {

using text::StopTextFilter;  // text/stop_text.h

using text::reasoning_markup;  // text/reasoning.h, shared with serve
using text::ReasoningMarkup;
using text::TextSegment;
using text::ThinkSplitter;

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
