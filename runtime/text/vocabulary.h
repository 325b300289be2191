#pragma once
// A tokenizer vocabulary as GGUF stores it (tokenizer.ggml.*), independent of where it came
// from: a GGUF file (gguf_vocab.h), a Hugging Face tokenizer.json (hf_json.h), or a test.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::text {

using TokenId = std::int32_t;

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : std::int32_t {
    undefined = 0,
    normal = 1,
    unknown = 2,
    control = 3,
    user_defined = 4,
    unused = 5,
    byte = 6,
};

// tokenizer.ggml.model: "gpt2" (byte-level BPE), "llama" (SentencePiece), "bert" (WordPiece),
// "gemma4" (BPE merges over SentencePiece-style text: spaces as ▁, UTF-8 characters, not
// bytes, the text split only into runs of newlines and runs of the rest, a character
// without a token written as its <0xXX> byte tokens).
enum class ModelKind { bpe, spm, wordpiece, bpe_sp };
inline bool has_merges(ModelKind kind) { return kind == ModelKind::bpe || kind == ModelKind::bpe_sp; }

std::string_view model_kind_gguf_name(ModelKind kind);
ModelKind model_kind_from_gguf_name(std::string_view name);  // throws on an unknown name
std::string_view token_type_name(TokenType type);

struct Vocabulary {
    ModelKind model = ModelKind::bpe;
    std::string pre;  // tokenizer.ggml.pre, e.g. "qwen2", "llama-bpe"; empty = "default"

    std::vector<std::string> tokens;  // as stored: byte-level text for BPE, ▁ for SPM
    std::vector<float> scores;        // SPM merge priorities; empty when absent
    std::vector<TokenType> types;     // empty = every token normal
    std::vector<std::string> merges;  // BPE, "left right" by rank (rank = index)

    std::optional<TokenId> bos, eos, unk, sep, pad, eot;

    bool add_bos = false;
    bool add_eos = false;
    bool add_space_prefix = false;  // SPM: a ▁ before the text (tokenizer.ggml.add_space_prefix)
    bool ignore_merges = false;     // BPE: a word that is a whole token skips the merges (Llama 3)
    bool nfc = false;               // NFC-normalise before pre-splitting (Qwen2/3 tokenizer.json)

    std::size_t size() const { return tokens.size(); }
    TokenType type(TokenId id) const { return types.empty() ? TokenType::normal : types[id]; }
    float score(TokenId id) const { return scores.empty() ? 0.0f : scores[id]; }

    // Sets the flags a model family implies when the file does not say (llama.cpp's
    // defaults per tokenizer.ggml.model/pre); explicit keys override them afterwards.
    void apply_family_defaults();

    // Throws ferry::Error when sizes disagree, a special id is out of range, or a token
    // is not valid UTF-8 where it must be. `source` names the file in the message.
    void validate(std::string_view source) const;
};

}  // namespace ferry::text
