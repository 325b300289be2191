// An answer split for the client: reasoning_content, content and tool calls, whole or in
// pieces split anywhere; Qwen3's tags, Qwen3.5's prompt-opened reasoning, harmony's channels.
#include "serve/answer_parts.h"

#include <doctest/doctest.h>

using namespace ferry;
using namespace ferry::serve;

namespace {

text::ReasoningMarkup markup(text::ChatFormat format) {
    text::ReasoningMarkup m = text::reasoning_markup(format);
    m.tags_shown = false;  // as the server splits: tags in neither text
    return m;
}

// The answer pushed in two pieces cut at `cut`, gathered.
AnswerParts::Piece gather(AnswerParts parts, const std::string& answer, std::size_t cut) {
    AnswerParts::Piece all;
    for (AnswerParts::Piece p : {parts.push(answer.substr(0, cut)), parts.push(answer.substr(cut)), parts.finish()}) {
        all.reasoning += p.reasoning;
        all.content += p.content;
        all.calls.insert(all.calls.end(), p.calls.begin(), p.calls.end());
    }
    return all;
}

}  // namespace

TEST_CASE("Qwen3: <think> goes to reasoning without its tags or leading newlines, in every split") {
    const std::string answer = "<think>\nThe user greets.\n</think>\n\nHello.";
    for (std::size_t cut = 0; cut <= answer.size(); ++cut) {
        CAPTURE(cut);
        const auto p = gather(AnswerParts(markup(text::ChatFormat::Qwen3), false, AnswerParts::Calls::none), answer, cut);
        CHECK(p.reasoning == "The user greets.\n");
        CHECK(p.content == "Hello.");
    }
}

TEST_CASE("Qwen3.5: the prompt opened the reasoning, the answer starts in it") {
    const auto p =
        gather(AnswerParts(markup(text::ChatFormat::Qwen35), true, AnswerParts::Calls::none), "Think.\n</think>\n\nAnswer.", 3);
    CHECK(p.reasoning == "Think.\n");
    CHECK(p.content == "Answer.");
}

TEST_CASE("harmony: the analysis channel is reasoning, the final channel content, headers dropped") {
    const std::string answer =
        "<|channel|>analysis<|message|>Greet back.<|end|><|start|>assistant<|channel|>final<|message|>Hello.";
    for (std::size_t cut : {std::size_t(0), std::size_t(5), std::size_t(40), answer.size()}) {
        const auto p = gather(AnswerParts(markup(text::ChatFormat::Harmony), false, AnswerParts::Calls::none), answer, cut);
        CHECK(p.reasoning == "Greet back.");
        CHECK(p.content == "Hello.");
    }
}

TEST_CASE("reasoning first, then a tool call taken out of the content") {
    const std::string answer =
        "<think>\nneed weather\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>";
    const auto p = gather(AnswerParts(markup(text::ChatFormat::Qwen3), false, AnswerParts::Calls::qwen3), answer, 20);
    CHECK(p.reasoning == "need weather\n");
    CHECK(p.content.empty());
    REQUIRE(p.calls.size() == 1);
    CHECK(p.calls[0].name == "get_weather");
}

TEST_CASE("without a markup every byte is content, newlines and tags included") {
    const auto p = gather(AnswerParts(std::nullopt, false, AnswerParts::Calls::none), "\n<think>x</think>y", 4);
    CHECK(p.reasoning.empty());
    CHECK(p.content == "\n<think>x</think>y");
}

TEST_CASE("harmony: analysis to reasoning, a commentary call to a function into tool_calls, in every split") {
    // As gpt-oss writes it: analysis, then <|start|>assistant (dropped) and the call's header;
    // <|constrain|> never reaches the text (a control token the markup does not name) and
    // generation stops at <|call|>.
    const std::string answer =
        "<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>commentary "
        "to=functions.get_weather json<|message|>{\"city\":\"Paris\"}";
    for (std::size_t cut = 0; cut <= answer.size(); ++cut) {
        CAPTURE(cut);
        const auto p = gather(AnswerParts(markup(text::ChatFormat::Harmony), false, AnswerParts::Calls::harmony),
                              answer, cut);
        CHECK(p.reasoning == "Need weather.");
        CHECK(p.content.empty());
        REQUIRE(p.calls.size() == 1);
        CHECK(p.calls[0].name == "get_weather");
        CHECK(p.calls[0].arguments == R"({"city":"Paris"})");
    }
    // The recipient before the channel (the template's own spelling of a call).
    const auto q = gather(AnswerParts(markup(text::ChatFormat::Harmony), false, AnswerParts::Calls::harmony),
                          "<|start|>assistant to=functions.now<|channel|>commentary json<|message|>{}", 9);
    REQUIRE(q.calls.size() == 1);
    CHECK(q.calls[0].name == "now");
    // No call: the final answer is content.
    const auto r = gather(AnswerParts(markup(text::ChatFormat::Harmony), false, AnswerParts::Calls::harmony),
                          "<|channel|>final<|message|>Hello.", 4);
    CHECK(r.calls.empty());
    CHECK(r.content == "Hello.");
}
