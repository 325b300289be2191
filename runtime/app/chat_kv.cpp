#include "app/chat_kv.h"

#include "app/chat_signal.h"
#include "base/error.h"

#include <algorithm>
#include <chrono>

namespace ferry::app {

KvMirror::KvMirror(model::GpuModel& model, const text::Tokenizer& tokenizer, std::uint32_t batch)
    : model_(model), tokenizer_(tokenizer), batch_(std::max<std::uint32_t>(batch, 1)) {}

std::vector<text::TokenId> KvMirror::tokenize(const std::string& rendered) const {
    // The chat template writes BOS itself where a format wants one, so no add_special.
    const text::EncodeOptions options{.add_special = false, .parse_special = true};
    // SentencePiece adds a space before every encoded text, so a tail cannot be encoded alone.
    const bool tail_ok = tokenizer_.vocab().model == text::ModelKind::bpe;
    if (tail_ok && text_known_ && !ids_.empty() && rendered.starts_with(text_)) {
        std::vector<text::TokenId> ids = ids_;
        const auto tail = tokenizer_.encode(std::string_view(rendered).substr(text_.size()), options);
        ids.insert(ids.end(), tail.begin(), tail.end());
        return ids;
    }
    return tokenizer_.encode(rendered, options);
}

PrefillResult KvMirror::prefill(std::span<const text::TokenId> ids, const std::string& rendered,
                                const std::string& history) {
    if (ids.empty()) fail("chat: the rendered conversation has no tokens");
    if (const std::size_t at = text::prefix_token_count(tokenizer_, ids, rendered, history))
        model_.checkpoint_at(std::uint32_t(at));
    if (ids.size() > model_.n_ctx())
        fail("chat: {} tokens do not fit the context of {}", ids.size(), model_.n_ctx());
    std::size_t common = 0;
    while (common < ids.size() && common < ids_.size() && ids[common] == ids_[common]) ++common;
    if (common == ids.size()) --common;  // run the last token again: its logits start the answer

    common = model_.truncate(std::uint32_t(common));  // recurrent layers: all or nothing
    PrefillResult r;
    r.reused = common;
    ids_.resize(common);
    text_known_ = false;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t at = common; at < ids.size(); at += batch_) {
        if (interrupted()) {
            r.interrupted = true;
            r.logits.clear();
            break;
        }
        const auto chunk = ids.subspan(at, std::min<std::size_t>(batch_, ids.size() - at));
        r.logits = model_.forward(chunk);
        ids_.insert(ids_.end(), chunk.begin(), chunk.end());
        r.prefilled += chunk.size();
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!r.interrupted) {
        text_ = rendered;
        text_known_ = true;
    }
    answer_open_ = false;
    return r;
}

std::vector<float> KvMirror::append(text::TokenId id) {
    const text::TokenId one[] = {id};
    std::vector<float> logits = model_.forward(one);
    ids_.push_back(id);
    if (text_known_) answer_open_ = true;
    text_known_ = false;
    return logits;
}

void KvMirror::answer_text(std::string_view text) {
    if (answer_open_) {
        text_ += text;
        text_known_ = true;
    }
    answer_open_ = false;
}

void KvMirror::clear() {
    model_.reset();
    ids_.clear();
    text_.clear();
    text_known_ = true;
    answer_open_ = false;
}

}  // namespace ferry::app
