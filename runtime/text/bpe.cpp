#include "text/bpe.h"

#include "base/error.h"
#include "text/utf8.h"

#include <fmt/format.h>

#include <queue>

namespace ferry::text {

BpeModel::BpeModel(const Vocabulary& vocab, const VocabIndex& index)
    : index_(index), unk_(vocab.unk), ignore_merges_(vocab.ignore_merges) {
    if (vocab.model == ModelKind::bpe_sp) {
        byte_tokens_.resize(256);
        for (unsigned b = 0; b < 256; ++b) byte_tokens_[b] = index.find_or(fmt::format("<0x{:02X}>", b), -1);
    }
    merges_.reserve(vocab.merges.size());
    for (std::size_t rank = 0; rank < vocab.merges.size(); ++rank) {
        const std::string& m = vocab.merges[rank];
        // "left right"; the left part may itself start with a space, hence find from 1.
        const std::size_t space = m.find(' ', 1);
        if (space == std::string::npos) fail("BPE merge {} ('{}') has no space between its two parts", rank, m);
        const std::string_view left = std::string_view(m).substr(0, space);
        const std::string_view right = std::string_view(m).substr(space + 1);
        const auto l = index.find(left), r = index.find(right);
        if (!l || !r) continue;
        std::string joined;
        joined.reserve(left.size() + right.size());
        joined.append(left).append(right);
        const auto result = index.find(joined);
        if (!result) continue;
        // The first (lowest-rank) occurrence of a pair counts.
        merges_.try_emplace(key(*l, *r), Merge{static_cast<std::int32_t>(rank), *result});
    }
}

void BpeModel::encode_word(std::string_view word, std::vector<TokenId>& out) const {
    if (word.empty()) return;
    if (ignore_merges_) {
        if (const auto id = index_.find(word)) {
            out.push_back(*id);
            return;
        }
    }

    struct Symbol {
        std::uint32_t begin, size;
        TokenId id;  // -1: this text is not a token
        std::int32_t prev, next;
    };
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    for (std::size_t pos = 0; pos < word.size();) {
        std::size_t len = utf8::sequence_length(static_cast<unsigned char>(word[pos]));
        if (len == 0 || pos + len > word.size()) len = 1;
        const auto n = static_cast<std::int32_t>(symbols.size());
        symbols.push_back({static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(len),
                           index_.find_or(word.substr(pos, len), -1), n - 1, n + 1});
        pos += len;
    }
    symbols.back().next = -1;

    struct Candidate {
        std::int32_t rank;
        std::int32_t left, right;
        TokenId left_id, right_id;
        bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
    const auto consider = [&](std::int32_t left, std::int32_t right) {
        if (left < 0 || right < 0) return;
        const Symbol &l = symbols[left], &r = symbols[right];
        if (l.id < 0 || r.id < 0) return;
        const auto it = merges_.find(key(l.id, r.id));
        if (it == merges_.end()) return;
        queue.push({it->second.rank, left, right, l.id, r.id});
    };
    for (std::int32_t i = 0; i + 1 < static_cast<std::int32_t>(symbols.size()); ++i) consider(i, i + 1);

    while (!queue.empty()) {
        const Candidate c = queue.top();
        queue.pop();
        Symbol& l = symbols[c.left];
        if (l.size == 0 || l.next != c.right || l.id != c.left_id) continue;  // stale
        Symbol& r = symbols[c.right];
        if (r.size == 0 || r.id != c.right_id) continue;
        l.id = merges_.find(key(l.id, r.id))->second.result;
        l.size += r.size;
        l.next = r.next;
        if (r.next >= 0) symbols[r.next].prev = c.left;
        r.size = 0;
        consider(l.prev, c.left);
        consider(c.left, l.next);
    }

    for (std::int32_t i = 0; i >= 0; i = symbols[i].next) {
        const Symbol& s = symbols[i];
        if (s.id >= 0) {
            out.push_back(s.id);
        } else if (!byte_tokens_.empty()) {  // SentencePiece's byte fallback
            for (const char c : word.substr(s.begin, s.size)) {
                const TokenId b = byte_tokens_[static_cast<unsigned char>(c)];
                if (b >= 0)
                    out.push_back(b);
                else if (unk_)
                    out.push_back(*unk_);
            }
        } else if (unk_) {
            out.push_back(*unk_);
        }
        // else: the vocabulary cannot represent this byte (Falcon lacks a few control bytes
        // such as 0x0B); Hugging Face and llama.cpp drop it, and so does ferry.
    }
}

}  // namespace ferry::text
