#pragma once
// What the model's KV cache holds, as token ids and as the text they spell, so a new turn
// prefills only what changed.
//
// Each turn the whole conversation is rendered with the chat template. tokenize() turns
// that text into ids: when the text already in the cache is a prefix of it (the usual case:
// the previous prompt plus the answer as generated), the cached ids are kept and only the
// new tail is encoded, so the model's own tokens of its answer are reused even where the
// tokenizer would have split the text differently. Otherwise the whole text is encoded.
// prefill() then keeps the longest common prefix of those ids with the cache
// (model.truncate) and runs the rest.
#include "model/gpu_model.h"
#include "text/tokenizer.h"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::app {

struct PrefillResult {
    std::size_t reused = 0;     // cached positions kept
    std::size_t prefilled = 0;  // positions run through the model this time
    double seconds = 0;
    bool interrupted = false;   // Ctrl-C between batches; the cache holds what ran
    std::vector<float> logits;  // of the last token (empty when interrupted)
};

class KvMirror {
public:
    KvMirror(model::GpuModel& model, const text::Tokenizer& tokenizer, std::uint32_t batch);

    std::vector<text::TokenId> tokenize(const std::string& rendered) const;

    // Makes the cache hold exactly `ids` (at least the last one is run, for its logits).
    // Checks the interrupt flag between batches of `batch` tokens.
    // history: the conversation before the new answer's opening (rendered without the
    // generation prompt); where it is a prefix of `rendered`, a model with recurrent layers
    // saves its state at its end, so the next turn, whose prompt diverges from the cache
    // where this answer's opening was (Qwen3.5 drops earlier think blocks), resumes there.
    PrefillResult prefill(std::span<const text::TokenId> ids, const std::string& rendered,
                          const std::string& history = {});

    // Runs one generated token; returns its logits. What the cache spells is unknown from
    // here until answer_text() says it.
    std::vector<float> append(text::TokenId id);
    // The text the conversation keeps for the tokens appended since prefill() (with
    // invalid bytes as U+FFFD: the history renders them so, and these ids stand for it).
    // Without this call the next tokenize() encodes the whole conversation afresh.
    void answer_text(std::string_view text);

    void clear();
    std::size_t size() const { return ids_.size(); }
    std::uint32_t n_ctx() const { return model_.n_ctx(); }

private:
    model::GpuModel& model_;
    const text::Tokenizer& tokenizer_;
    std::uint32_t batch_;
    std::vector<text::TokenId> ids_;  // == the model's positions 0..n_past
    std::string text_;                // what ids_ spell, when text_known_
    bool text_known_ = true;
    bool answer_open_ = false;  // text_ spells ids_ up to the answer being generated
};

}  // namespace ferry::app
