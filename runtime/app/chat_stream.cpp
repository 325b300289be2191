#include "app/chat_stream.h"

#include <algorithm>
#include <cstdio>

namespace ferry::app {
namespace {

constexpr std::string_view kFaint = "\x1b[2m";
constexpr std::string_view kReset = "\x1b[0m";

}  // namespace

AnswerPrinter::AnswerPrinter(std::FILE* out, ThinkingDisplay display) : out_(out), display_(display) {}

void AnswerPrinter::write(const std::vector<TextSegment>& segments) {
    for (const TextSegment& seg : segments) {
        std::string_view text = seg.text;
        if (seg.thinking && display_ == ThinkingDisplay::hide) {
            skip_newlines_ = true;
            continue;
        }
        if (!seg.thinking && skip_newlines_) {
            const auto start = text.find_first_not_of('\n');
            text.remove_prefix(start == std::string_view::npos ? text.size() : start);
            if (text.empty()) continue;
            skip_newlines_ = false;
        }
        if (display_ == ThinkingDisplay::dim && seg.thinking != dim_on_) {
            std::fwrite((seg.thinking ? kFaint : kReset).data(), 1, (seg.thinking ? kFaint : kReset).size(),
                        out_);
            dim_on_ = seg.thinking;
        }
        std::fwrite(text.data(), 1, text.size(), out_);
        if (!text.empty()) {
            printed_ = true;
            last_ = text.back();
        }
    }
    std::fflush(out_);
}

void AnswerPrinter::finish() {
    if (dim_on_) std::fwrite(kReset.data(), 1, kReset.size(), out_);
    dim_on_ = false;
    if (!printed_ || last_ != '\n') std::fputc('\n', out_);
    std::fflush(out_);
    printed_ = false;
    skip_newlines_ = false;
    last_ = '\n';
}

}  // namespace ferry::app
