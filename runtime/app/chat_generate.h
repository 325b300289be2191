#pragma once
// One assistant answer: sample, stream the text (through the stop-text filter and the
// think splitter) and feed each token back, until an end-of-turn token or text, -n tokens,
// the end of the context, or Ctrl-C.
#include "app/chat_kv.h"
#include "app/chat_stream.h"
#include "sample/sampler.h"
#include "text/tokenizer.h"

#include <string>
#include <string_view>
#include <vector>

namespace ferry::app {

enum class StopReason { end_of_turn, limit, context_full, interrupted };
std::string_view stop_reason_name(StopReason reason);

struct GenerateOptions {
    int n_predict = 512;
    std::vector<std::string> end_texts;  // the chat format's end-of-turn texts
    ReasoningMarkup reasoning = reasoning_markup(text::ChatFormat::Qwen3);
    bool reasoning_open = false;  // the prompt ended inside the reasoning (Qwen3.5 thinking)
};

struct Answer {
    std::string content;      // every token's text (reasoning and control tokens included)
    std::size_t tokens = 0;   // tokens of the answer (the end-of-turn token not counted)
    std::size_t decoded = 0;  // tokens run through the model after the prefill
    double seconds = 0;       // sampling + decoding
    StopReason reason = StopReason::end_of_turn;
    bool cached_as_content = true;  // the tokens run spell `content` (false: a stop text cut it)
};

Answer generate_answer(KvMirror& kv, sample::Sampler& sampler, const text::Tokenizer& tokenizer,
                       std::vector<float> logits, const GenerateOptions& options, AnswerPrinter& printer);

}  // namespace ferry::app
