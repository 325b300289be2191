// The text filters of `ferry chat`: stop texts and <think> blocks split across pieces.
#include "app/chat_stream.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

using ferry::app::StopTextFilter;
using ferry::app::TextSegment;
using ferry::app::ThinkSplitter;

TEST_CASE("StopTextFilter ends at a stop text split across pieces and never shows it") {
    StopTextFilter f({"<|im_end|>"});
    std::string shown;
    for (const char* piece : {"Hello", " wor", "ld<|im", "_en", "d|>after"}) shown += f.push(piece);
    CHECK(f.stopped());
    CHECK(shown == "Hello world");
    CHECK(f.push("more") == "");
    CHECK(f.flush() == "");
}

TEST_CASE("StopTextFilter releases a held-back prefix that turned out not to be a stop text") {
    StopTextFilter f({"</s>"});
    CHECK(f.push("a <") == "a ");
    CHECK(f.push("/b") == "</b");
    CHECK(f.push("</") == "");
    CHECK(f.flush() == "</");
    CHECK_FALSE(f.stopped());
}

namespace {
std::string join(const std::vector<TextSegment>& segs, bool thinking) {
    std::string s;
    for (const TextSegment& seg : segs)
        if (seg.thinking == thinking) s += seg.text;
    return s;
}
}  // namespace

TEST_CASE("ThinkSplitter separates reasoning from the answer, tags split across pieces") {
    ThinkSplitter t;
    std::vector<TextSegment> all;
    for (const char* piece : {"<thi", "nk>\nlet me", " see</th", "ink>\n\nThe answer", " is 4."}) {
        auto segs = t.push(piece);
        all.insert(all.end(), segs.begin(), segs.end());
    }
    auto rest = t.flush();
    all.insert(all.end(), rest.begin(), rest.end());
    CHECK(join(all, true) == "<think>\nlet me see</think>");
    CHECK(join(all, false) == "\n\nThe answer is 4.");
}

TEST_CASE("ThinkSplitter after a prompt that opened the reasoning (Qwen3.5) starts inside it") {
    ThinkSplitter t(ferry::app::reasoning_markup(ferry::text::ChatFormat::Qwen35), /*inside=*/true);
    CHECK(t.in_think());
    std::vector<TextSegment> all = t.push("let me see</th");
    for (const auto& s : {t.push("ink>\n\n4"), t.flush()}) all.insert(all.end(), s.begin(), s.end());
    CHECK(join(all, true) == "let me see</think>");
    CHECK(join(all, false) == "\n\n4");
}

TEST_CASE("ThinkSplitter on harmony: the analysis channel is reasoning, the headers are dropped") {
    ThinkSplitter t(ferry::app::reasoning_markup(ferry::text::ChatFormat::Harmony));
    std::vector<TextSegment> all;
    // As gpt-oss writes it after the prompt's <|start|>assistant, control tokens as their text.
    for (const char* piece : {"<|channel|>", "analy", "sis", "<|message|>", "User asks 2+2.", "<|end|>",
                              "<|start|>", "assistant", "<|channel|>", "final", "<|message|>", "It is ", "4."}) {
        auto segs = t.push(piece);
        all.insert(all.end(), segs.begin(), segs.end());
    }
    auto rest = t.flush();
    all.insert(all.end(), rest.begin(), rest.end());
    CHECK(join(all, true) == "User asks 2+2.");
    CHECK(join(all, false) == "It is 4.");
    const auto markup = ferry::app::reasoning_markup(ferry::text::ChatFormat::Harmony);
    CHECK(markup.mentions("<|channel|>"));
    CHECK(markup.mentions("<|end|>"));
    CHECK_FALSE(markup.mentions("<|return|>"));
    CHECK_FALSE(ferry::app::reasoning_markup(ferry::text::ChatFormat::ChatML).mentions("<|im_end|>"));
}

TEST_CASE("ThinkSplitter on Gemma 4: the thought channel is reasoning, its markers are dropped") {
    ThinkSplitter t(ferry::app::reasoning_markup(ferry::text::ChatFormat::Gemma4));
    std::vector<TextSegment> all;
    for (const char* piece : {"<|channel>", "thought\n", "User asks 2+2.", "<channel|>", "It is ", "4."}) {
        auto segs = t.push(piece);
        all.insert(all.end(), segs.begin(), segs.end());
    }
    auto rest = t.flush();
    all.insert(all.end(), rest.begin(), rest.end());
    CHECK(join(all, true) == "User asks 2+2.");
    CHECK(join(all, false) == "It is 4.");
    const auto markup = ferry::app::reasoning_markup(ferry::text::ChatFormat::Gemma4);
    CHECK(markup.mentions("<|channel>"));
    CHECK(markup.mentions("<channel|>"));
    CHECK_FALSE(markup.mentions("<turn|>"));
}

TEST_CASE("ThinkSplitter passes text without tags straight through") {
    ThinkSplitter t;
    auto segs = t.push("a < b and c > d");
    CHECK(join(segs, false) == "a < b and c > d");
    CHECK_FALSE(t.in_think());
}

namespace {
std::string print(ferry::app::ThinkingDisplay display, const std::vector<TextSegment>& segs) {
    char* buffer = nullptr;
    std::size_t size = 0;
    std::FILE* f = open_memstream(&buffer, &size);
    ferry::app::AnswerPrinter p(f, display);
    p.write(segs);
    p.finish();
    std::fclose(f);
    std::string s(buffer, size);
    std::free(buffer);
    return s;
}
}  // namespace

TEST_CASE("AnswerPrinter hides, dims or shows the reasoning") {
    const std::vector<TextSegment> segs = {{"<think>\nhm\n</think>", true}, {"\n\nFour.", false}};
    CHECK(print(ferry::app::ThinkingDisplay::hide, segs) == "Four.\n");
    CHECK(print(ferry::app::ThinkingDisplay::plain, segs) == "<think>\nhm\n</think>\n\nFour.\n");
    CHECK(print(ferry::app::ThinkingDisplay::dim, segs) == "\x1b[2m<think>\nhm\n</think>\x1b[0m\n\nFour.\n");
    CHECK(print(ferry::app::ThinkingDisplay::plain, {}) == "\n");  // an empty answer still ends its line
}
