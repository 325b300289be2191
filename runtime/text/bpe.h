#pragma once
// Byte-level BPE merges inside one pre-tokenized word: start from single code points of the
// byte-level text and repeatedly merge the adjacent pair with the lowest merge rank (ties:
// leftmost first), as Hugging Face tokenizers and llama.cpp do. A heap of candidate pairs
// with lazy invalidation keeps a word of n symbols at O(n log n).
#include "text/vocab_index.h"
#include "text/vocabulary.h"

#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ferry::text {

class BpeModel {
public:
    // Merges whose parts or result are not tokens are ignored (they can never apply).
    BpeModel(const Vocabulary& vocab, const VocabIndex& index);

    // `word` is byte-level text (see byte_level.h), or UTF-8 text with ▁ for spaces for
    // ModelKind::bpe_sp. Appends its token ids. A symbol the vocabulary has no token for
    // becomes its <0xXX> byte tokens (bpe_sp), else the unknown token, or is dropped when
    // there is none (as the reference tokenizers do; only a few vocabularies, e.g. Falcon,
    // lack bytes).
    void encode_word(std::string_view word, std::vector<TokenId>& out) const;

    std::size_t merge_count() const { return merges_.size(); }

private:
    struct Merge {
        std::int32_t rank;
        TokenId result;
    };
    static std::uint64_t key(TokenId left, TokenId right) {
        return (std::uint64_t(std::uint32_t(left)) << 32) | std::uint32_t(right);
    }

    const VocabIndex& index_;
    std::unordered_map<std::uint64_t, Merge> merges_;
    std::optional<TokenId> unk_;
    bool ignore_merges_;
    std::vector<TokenId> byte_tokens_;  // bpe_sp: the <0xXX> token of each byte (-1: none); else empty
};

}  // namespace ferry::text
