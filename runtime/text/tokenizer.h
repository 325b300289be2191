#pragma once
// Text <-> token ids for one Vocabulary: BPE (with the pre-tokenizer tokenizer.ggml.pre
// names), SentencePiece or WordPiece, plus special tokens.
//
//   Tokenizer tok(vocab);
//   auto ids = tok.encode("Hello", {.add_special = false});   // test vectors: no BOS/EOS
//   std::string text = tok.decode(ids);
//
// Special tokens: user-defined tokens (type 4) are always matched in the input text, as
// Hugging Face and llama.cpp do; control tokens (type 3, e.g. "<|im_start|>") only with
// parse_special, which chat prompts use and plain user text must not. The longest token
// text wins where two could match.
//
// Input must be valid UTF-8 (a ferry::Error names the offset otherwise; utf8::sanitize
// replaces bad bytes with U+FFFD for callers that prefer that).
#include "text/vocabulary.h"

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::text {

struct EncodeOptions {
    bool add_special = true;     // BOS/EOS as the vocabulary's add_bos/add_eos say ([CLS]/[SEP] for BERT)
    bool parse_special = false;  // recognise control-token text such as "<|im_end|>"
};

struct DecodeOptions {
    bool special = true;             // render control/unknown tokens' text (else they vanish)
    bool strip_space_prefix = true;  // SPM with add_space_prefix: drop the space encode added
};

class Tokenizer {
public:
    explicit Tokenizer(Vocabulary vocab);
    ~Tokenizer();
    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;

    std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options = {}) const;

    // Concatenated bytes of the tokens. May end in (or contain) partial UTF-8 when the ids
    // are an arbitrary slice; StreamDecoder handles generation output.
    std::string decode(std::span<const TokenId> ids, const DecodeOptions& options = {}) const;

    // Bytes one token stands for (spaces restored, byte tokens as their byte); control and
    // unknown tokens give their text when `special`, else nothing.
    const std::string& piece(TokenId id) const;
    std::string_view piece(TokenId id, bool special) const;

    const Vocabulary& vocab() const;
    std::size_t size() const;
    bool valid(TokenId id) const { return id >= 0 && static_cast<std::size_t>(id) < size(); }
    std::optional<TokenId> find(std::string_view token_text) const;
    bool is_special(TokenId id) const;  // control or unknown
    bool is_end_of_generation(TokenId id) const;  // EOS, EOT or a known end-of-turn token

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// How many of `ids` (the tokens of a rendered chat `text`, special-token text parsed) spell
// `prefix`, the start of `text`: the rest of the text is encoded and matched against the
// end of `ids`. 0 where `prefix` does not start `text` or the rest's tokens do not end `ids`
// (the split fell inside a token). Chat and serve checkpoint there (GpuModel::checkpoint_at).
std::size_t prefix_token_count(const Tokenizer& tokenizer, std::span<const TokenId> ids, std::string_view text,
                               std::string_view prefix);

}  // namespace ferry::text
