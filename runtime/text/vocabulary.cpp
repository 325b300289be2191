#include "text/vocabulary.h"

#include "base/error.h"
#include <cstdint>

namespace ferry::text {

std::string_view model_kind_gguf_name(ModelKind kind) {
    switch (kind) {
        case ModelKind::bpe: return "gpt2";
        case ModelKind::spm: return "llama";
        case ModelKind::wordpiece: return "bert";
        case ModelKind::bpe_sp: return "gemma4";
    }
    return "?";
}

ModelKind model_kind_from_gguf_name(std::string_view name) {
    if (name == "gpt2") return ModelKind::bpe;
    if (name == "llama") return ModelKind::spm;
    if (name == "bert") return ModelKind::wordpiece;
    if (name == "gemma4") return ModelKind::bpe_sp;
    fail("tokenizer model '{}' is not supported (ferry knows gpt2, llama, bert, gemma4)", name);
}

std::string_view token_type_name(TokenType type) {
    switch (type) {
        case TokenType::undefined: return "undefined";
        case TokenType::normal: return "normal";
        case TokenType::unknown: return "unknown";
        case TokenType::control: return "control";
        case TokenType::user_defined: return "user-defined";
        case TokenType::unused: return "unused";
        case TokenType::byte: return "byte";
    }
    return "?";
}

void Vocabulary::apply_family_defaults() {
    switch (model) {
        case ModelKind::spm:
            add_space_prefix = true;
            add_bos = true;
            add_eos = false;
            break;
        case ModelKind::wordpiece:
            add_space_prefix = false;
            add_bos = true;  // [CLS] ... [SEP]
            add_eos = false;
            break;
        case ModelKind::bpe_sp:  // Gemma 4: <bos> first, no space prefix
            add_space_prefix = false;
            add_bos = true;
            add_eos = false;
            break;
        case ModelKind::bpe:
            add_space_prefix = false;
            if (pre == "llama3" || pre == "llama-v3" || pre == "llama-bpe" || pre == "falcon3" ||
                pre == "pixtral" || pre == "tekken") {
                ignore_merges = true;
                add_bos = true;
            }
            // o200k (tiktoken) looks a whole word up before merging; gpt-oss's tokenizer.json
            // says ignore_merges too.
            if (pre == "gpt-4o" || pre == "llama4") ignore_merges = true;
            // Every Qwen2/2.5/3/3.5 tokenizer.json normalises to NFC; GGUF has no key for it.
            if (pre == "qwen2" || pre == "qwen35") nfc = true;
            break;
    }
}

void Vocabulary::validate(std::string_view source) const {
    if (tokens.empty()) fail("{}: the vocabulary has no tokens", source);
    if (tokens.size() > static_cast<std::size_t>(INT32_MAX)) fail("{}: too many tokens", source);
    if (!scores.empty() && scores.size() != tokens.size()) {
        fail("{}: {} scores for {} tokens", source, scores.size(), tokens.size());
    }
    if (!types.empty() && types.size() != tokens.size()) {
        fail("{}: {} token types for {} tokens", source, types.size(), tokens.size());
    }
    for (const TokenType t : types) {
        if (static_cast<std::int32_t>(t) < 0 || static_cast<std::int32_t>(t) > 6) {
            fail("{}: token type {} is not one of 0..6", source, static_cast<std::int32_t>(t));
        }
    }
    const auto check_id = [&](const std::optional<TokenId>& id, std::string_view what) {
        if (id && (*id < 0 || static_cast<std::size_t>(*id) >= tokens.size())) {
            fail("{}: {} token id {} is outside the vocabulary of {} tokens", source, what, *id, tokens.size());
        }
    };
    check_id(bos, "BOS");
    check_id(eos, "EOS");
    check_id(unk, "UNK");
    check_id(sep, "SEP");
    check_id(pad, "PAD");
    check_id(eot, "EOT");
    if (has_merges(model) && merges.empty()) fail("{}: a BPE vocabulary needs merges", source);
}

}  // namespace ferry::text
