#include "serve/answer_parts.h"

#include <algorithm>

namespace ferry::serve {
namespace {

void drop_leading_newlines(std::string& s, bool& started) {
    if (started) return;
    s.erase(0, std::min(s.size(), s.find_first_not_of('\n')));
    started = !s.empty();
}

}  // namespace

AnswerParts::AnswerParts(const std::optional<text::ReasoningMarkup>& reasoning, bool reasoning_open,
                         Calls tool_calls)
    : tool_calls_(tool_calls) {
    if (reasoning) think_.emplace(*reasoning, reasoning_open);
}

AnswerParts::Piece AnswerParts::push(std::string_view text) {
    return route(think_ ? think_->push(text) : std::vector<text::TextSegment>{{std::string(text), false}}, false);
}

AnswerParts::Piece AnswerParts::finish() {
    return route(think_ ? think_->flush() : std::vector<text::TextSegment>{}, true);
}

AnswerParts::Piece AnswerParts::route(const std::vector<text::TextSegment>& segments, bool last) {
    Piece p;
    for (const text::TextSegment& s : segments) (s.thinking ? p.reasoning : p.content) += s.text;
    if (tool_calls_ != Calls::none) {
        const bool harmony = tool_calls_ == Calls::harmony;
        ToolCallStream::Out out = harmony ? harmony_calls_.push(p.content) : calls_.push(p.content);
        if (last) {
            ToolCallStream::Out rest = harmony ? harmony_calls_.finish() : calls_.finish();
            out.text += rest.text;
            out.calls.insert(out.calls.end(), rest.calls.begin(), rest.calls.end());
        }
        p.content = std::move(out.text);
        p.calls = std::move(out.calls);
    }
    if (think_) {
        drop_leading_newlines(p.reasoning, reasoning_started_);
        drop_leading_newlines(p.content, content_started_);
    }
    return p;
}

}  // namespace ferry::serve
