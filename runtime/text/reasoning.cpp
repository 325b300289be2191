#include "text/reasoning.h"

#include "text/stop_text.h"

#include <algorithm>

namespace ferry::text {
namespace {

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";

}  // namespace

bool ReasoningMarkup::mentions(std::string_view control_text) const {
    if (control_text.empty()) return false;
    auto in = [&](const std::string& m) { return m.find(control_text) != std::string::npos; };
    return in(open) || in(close) || std::any_of(hidden.begin(), hidden.end(), in);
}

ReasoningMarkup reasoning_markup(ChatFormat format) {
    if (format == ChatFormat::Harmony)
        return {.open = "<|channel|>analysis<|message|>",
                .close = "<|end|>",
                .tags_shown = false,
                .hidden = {"<|start|>assistant", "<|channel|>final<|message|>"}};
    if (format == ChatFormat::Gemma4)  // <|channel>thought\n ... <channel|>, then the answer
        return {.open = "<|channel>thought\n", .close = "<channel|>", .tags_shown = false, .hidden = {}};
    return {.open = std::string(kThinkOpen), .close = std::string(kThinkClose), .tags_shown = true, .hidden = {}};
}

ThinkSplitter::ThinkSplitter(ReasoningMarkup markup, bool inside) : markup_(std::move(markup)), in_think_(inside) {}

std::vector<TextSegment> ThinkSplitter::push(std::string_view text) {
    pending_ += text;
    std::vector<TextSegment> out;
    auto emit = [&](std::string s, bool thinking) {
        if (s.empty()) return;
        if (!out.empty() && out.back().thinking == thinking)
            out.back().text += s;
        else
            out.push_back({std::move(s), thinking});
    };
    for (;;) {
        // The markers that may come next: the end of the reasoning inside it, else its start
        // and the hidden markup.
        std::vector<std::string_view> markers{in_think_ ? markup_.close : markup_.open};
        if (!in_think_) markers.insert(markers.end(), markup_.hidden.begin(), markup_.hidden.end());
        std::size_t at = std::string::npos;
        std::string_view marker;
        for (std::string_view m : markers)
            if (const auto i = pending_.find(m); i < at) at = i, marker = m;
        if (at != std::string::npos) {
            emit(pending_.substr(0, at), in_think_);
            const bool toggles = marker == (in_think_ ? markup_.close : markup_.open);
            if (toggles && markup_.tags_shown) emit(std::string(marker), true);
            pending_.erase(0, at + marker.size());
            if (toggles) in_think_ = !in_think_;
            continue;
        }
        std::size_t hold = 0;
        for (std::string_view m : markers) hold = std::max(hold, partial_tail(pending_, m));
        emit(pending_.substr(0, pending_.size() - hold), in_think_);
        pending_.erase(0, pending_.size() - hold);
        return out;
    }
}

std::vector<TextSegment> ThinkSplitter::flush() {
    std::vector<TextSegment> out;
    if (!pending_.empty()) out.push_back({std::move(pending_), in_think_});
    pending_.clear();
    in_think_ = false;
    return out;
}

}  // namespace ferry::text
