#include "app/chat_generate.h"

#include "app/chat_signal.h"
#include "text/detokenizer.h"

#include <algorithm>
#include <chrono>

namespace ferry::app {

std::string_view stop_reason_name(StopReason reason) {
    switch (reason) {
        case StopReason::end_of_turn:
            return "end_of_turn";
        case StopReason::limit:
            return "limit";
        case StopReason::context_full:
            return "context_full";
        case StopReason::interrupted:
            return "interrupted";
    }
    return "?";
}

Answer generate_answer(KvMirror& kv, sample::Sampler& sampler, const text::Tokenizer& tok,
                       std::vector<float> logits, const GenerateOptions& o, AnswerPrinter& printer) {
    Answer a;
    text::StreamDecoder decoder(tok);
    StopTextFilter stop(o.end_texts);
    ThinkSplitter think(o.reasoning, o.reasoning_open);
    // `content` keeps the text of every token, control tokens included, so the history
    // renders back to the very tokens in the KV cache; the screen sees no control tokens
    // except those of the reasoning markup (Qwen3's tags, harmony's channel headers), which
    // the splitter shows with the reasoning or drops.
    auto keep = [&](const std::string& text, bool visible) {
        a.content += text;
        if (visible) printer.write(think.push(text));
    };
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
        if (interrupted()) {
            a.reason = StopReason::interrupted;
            break;
        }
        if (a.tokens >= std::size_t(o.n_predict)) {
            a.reason = StopReason::limit;
            break;
        }
        if (kv.size() >= kv.n_ctx()) {
            a.reason = StopReason::context_full;
            break;
        }
        const text::TokenId id = sampler.sample(logits);
        sampler.accept(id);
        const std::string_view special_text = tok.piece(id, true);
        if (tok.is_end_of_generation(id) ||
            std::find(o.end_texts.begin(), o.end_texts.end(), special_text) != o.end_texts.end()) {
            a.reason = StopReason::end_of_turn;
            break;
        }
        ++a.tokens;
        if (tok.is_special(id)) {
            // A control token ends any partial character or stop text before it.
            keep(stop.push(decoder.flush()) + stop.flush(), true);
            keep(std::string(special_text), o.reasoning.mentions(special_text));
        } else {
            keep(stop.push(decoder.push(id)), true);
            if (stop.stopped()) {
                a.reason = StopReason::end_of_turn;
                a.cached_as_content = false;  // the cut token (and what it added) was not run
                break;
            }
        }
        // Every shown token is run, even the last of a full answer, so the cache holds the
        // whole answer and the next turn prefills only its own text.
        logits = kv.append(id);
        ++a.decoded;
    }
    if (!stop.stopped()) keep(stop.push(decoder.flush()) + stop.flush(), true);
    printer.write(think.flush());
    a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return a;
}

}  // namespace ferry::app
