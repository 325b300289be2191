#include "text/tokenizer.h"

#include "base/error.h"
#include "text/bpe.h"
#include "text/byte_level.h"
#include "text/pretokenizer.h"
#include "text/spm.h"
#include "text/unicode.h"
#include "text/utf8.h"
#include "text/vocab_index.h"
#include "text/wordpiece.h"

#include <algorithm>
#include <unordered_set>

namespace ferry::text {

namespace {

constexpr std::string_view phantom_space = "\xE2\x96\x81";  // ▁

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
    std::string out;
    out.reserve(s.size());
    std::size_t at = 0;
    for (std::size_t hit; (hit = s.find(from, at)) != std::string_view::npos; at = hit + from.size()) {
        out.append(s.substr(at, hit - at)).append(to);
    }
    out.append(s.substr(at));
    return out;
}

// "<0x41>" -> 0x41
std::optional<char> parse_byte_token(std::string_view t) {
    if (t.size() != 6 || t.substr(0, 3) != "<0x" || t.back() != '>') return std::nullopt;
    unsigned value = 0;
    for (char c : t.substr(3, 2)) {
        value <<= 4;
        if (c >= '0' && c <= '9') value |= unsigned(c - '0');
        else if (c >= 'A' && c <= 'F') value |= unsigned(c - 'A' + 10);
        else if (c >= 'a' && c <= 'f') value |= unsigned(c - 'a' + 10);
        else return std::nullopt;
    }
    return static_cast<char>(value);
}

// Texts of end-of-turn tokens used by chat models whose GGUF names only the EOS id.
constexpr std::string_view end_of_turn_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
    "<|return|>", "<|call|>", "<EOT>", "<|end_of_text|>", "<turn|>", "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
};

}  // namespace

struct Tokenizer::Impl {
    Vocabulary vocab;
    VocabIndex index;
    std::unique_ptr<PreTokenizer> pre;
    std::unique_ptr<BpeModel> bpe;
    std::unique_ptr<SpmModel> spm;
    std::unique_ptr<WordPieceModel> wordpiece;
    std::vector<std::string> pieces;
    std::vector<TokenId> specials;  // control, user-defined, unknown; longest text first
    std::unordered_set<TokenId> end_of_generation;

    explicit Impl(Vocabulary v) : vocab(std::move(v)), index(vocab) {
        switch (vocab.model) {
            case ModelKind::bpe:
                pre = std::make_unique<PreTokenizer>(vocab.pre);
                bpe = std::make_unique<BpeModel>(vocab, index);
                break;
            case ModelKind::bpe_sp: bpe = std::make_unique<BpeModel>(vocab, index); break;
            case ModelKind::spm: spm = std::make_unique<SpmModel>(vocab, index); break;
            case ModelKind::wordpiece: wordpiece = std::make_unique<WordPieceModel>(vocab, index); break;
        }
        build_pieces();
        for (std::size_t i = 0; i < vocab.size(); ++i) {
            const TokenType t = vocab.type(static_cast<TokenId>(i));
            if ((t == TokenType::control || t == TokenType::user_defined || t == TokenType::unknown) &&
                !vocab.tokens[i].empty()) {
                specials.push_back(static_cast<TokenId>(i));
            }
        }
        std::stable_sort(specials.begin(), specials.end(), [&](TokenId a, TokenId b) {
            return vocab.tokens[a].size() > vocab.tokens[b].size();
        });
        if (vocab.eos) end_of_generation.insert(*vocab.eos);
        if (vocab.eot) end_of_generation.insert(*vocab.eot);
        for (std::string_view t : end_of_turn_texts) {
            if (const auto id = index.find(t); id && vocab.type(*id) == TokenType::control) end_of_generation.insert(*id);
        }
    }

    void build_pieces() {
        pieces.resize(vocab.size());
        for (std::size_t i = 0; i < vocab.size(); ++i) {
            const std::string& text = vocab.tokens[i];
            std::string& piece = pieces[i];
            const TokenType type = vocab.type(static_cast<TokenId>(i));
            if (type == TokenType::control || type == TokenType::unknown || type == TokenType::user_defined) {
                piece = text;
                continue;
            }
            switch (vocab.model) {
                case ModelKind::bpe:
                    if (!byte_level::decode(text, piece)) piece = text;  // not byte-level text: keep as is
                    break;
                case ModelKind::spm:
                case ModelKind::bpe_sp:
                    if (type == TokenType::byte || vocab.model == ModelKind::bpe_sp) {
                        if (const auto b = parse_byte_token(text)) {
                            piece.assign(1, *b);
                            break;
                        }
                    }
                    piece = replace_all(text, phantom_space, " ");
                    break;
                case ModelKind::wordpiece: piece = replace_all(text, phantom_space, " "); break;
            }
        }
    }

    bool is_special(TokenId id) const {
        const TokenType t = vocab.type(id);
        return t == TokenType::control || t == TokenType::unknown;
    }

    struct Fragment {
        TokenId token;  // -1: raw text [begin, begin + size)
        std::size_t begin, size;
    };

    std::vector<Fragment> partition(std::string_view text, bool parse_special) const {
        std::vector<Fragment> fragments{{-1, 0, text.size()}}, next;
        for (const TokenId id : specials) {
            if (!parse_special && is_special(id)) continue;
            const std::string& needle = vocab.tokens[id];
            next.clear();
            bool changed = false;
            for (const Fragment& f : fragments) {
                if (f.token >= 0) {
                    next.push_back(f);
                    continue;
                }
                const std::string_view raw = text.substr(f.begin, f.size);
                std::size_t at = 0;
                for (std::size_t hit; (hit = raw.find(needle, at)) != std::string_view::npos; at = hit + needle.size()) {
                    if (hit > at) next.push_back({-1, f.begin + at, hit - at});
                    next.push_back({id, 0, 0});
                    changed = true;
                }
                if (at < raw.size()) next.push_back({-1, f.begin + at, raw.size() - at});
            }
            if (changed) fragments.swap(next);
        }
        return fragments;
    }

    void encode_raw(std::string_view raw, bool after_special, std::vector<TokenId>& out) const {
        switch (vocab.model) {
            case ModelKind::bpe: {
                std::string normalized;
                if (vocab.nfc) {
                    normalized = unicode::nfc(raw);
                    raw = normalized;
                }
                std::vector<std::string_view> words;
                pre->split(raw, words);
                for (std::string_view w : words) bpe->encode_word(byte_level::encode(w), out);
                break;
            }
            case ModelKind::spm: {
                std::string text;
                if (vocab.add_space_prefix && after_special) text = " ";
                text.append(raw);
                spm->encode(replace_all(text, " ", phantom_space), out);
                break;
            }
            case ModelKind::bpe_sp: {
                // Gemma 4 (llama.cpp's gemma4 pre-tokenizer, "[^\n]+|[\n]+"): spaces become ▁,
                // then BPE over each run of newlines and each run of other characters.
                const std::string text = replace_all(raw, " ", phantom_space);
                const std::string_view t = text;
                for (std::size_t at = 0; at < t.size();) {
                    const bool newlines = t[at] == '\n';
                    std::size_t end = at;
                    while (end < t.size() && (t[end] == '\n') == newlines) ++end;
                    bpe->encode_word(t.substr(at, end - at), out);
                    at = end;
                }
                break;
            }
            case ModelKind::wordpiece: wordpiece->encode(raw, out); break;
        }
    }
};

Tokenizer::Tokenizer(Vocabulary vocab) {
    vocab.validate("vocabulary");
    impl_ = std::make_unique<Impl>(std::move(vocab));
}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

std::vector<TokenId> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
    utf8::check_valid(text, "text to tokenize");
    const Vocabulary& v = impl_->vocab;
    std::vector<TokenId> out;
    out.reserve(text.size() / 3 + 4);
    if (options.add_special && v.add_bos && v.bos) out.push_back(*v.bos);
    // The SentencePiece space prefix goes at the start of the text and after each special token.
    bool after_special = true;
    if (!text.empty()) {
        for (const auto& f : impl_->partition(text, options.parse_special)) {
            if (f.token >= 0) {
                out.push_back(f.token);
                after_special = true;
            } else {
                impl_->encode_raw(text.substr(f.begin, f.size), after_special, out);
                after_special = false;
            }
        }
    }
    if (options.add_special) {
        if (v.add_eos && v.eos) out.push_back(*v.eos);
        if (v.model == ModelKind::wordpiece && v.sep) out.push_back(*v.sep);
    }
    return out;
}

std::string Tokenizer::decode(std::span<const TokenId> ids, const DecodeOptions& options) const {
    const Vocabulary& v = impl_->vocab;
    std::string out;
    bool strip = options.strip_space_prefix && v.model == ModelKind::spm && v.add_space_prefix;
    for (const TokenId id : ids) {
        if (!valid(id)) fail("token id {} is outside the vocabulary of {} tokens", id, size());
        std::string_view p = piece(id, options.special);
        if (p.empty()) continue;
        if (strip) {
            if (!impl_->is_special(id) && p.front() == ' ') p.remove_prefix(1);
            strip = false;
        }
        out.append(p);
    }
    return out;
}

const std::string& Tokenizer::piece(TokenId id) const {
    if (!valid(id)) fail("token id {} is outside the vocabulary of {} tokens", id, size());
    return impl_->pieces[id];
}

std::string_view Tokenizer::piece(TokenId id, bool special) const {
    const std::string& p = piece(id);
    // Unused (reserved filler) tokens carry no text a reader wants, like control tokens.
    if (!special && (impl_->is_special(id) || impl_->vocab.type(id) == TokenType::unused)) return {};
    return p;
}

const Vocabulary& Tokenizer::vocab() const { return impl_->vocab; }
std::size_t Tokenizer::size() const { return impl_->vocab.size(); }
std::optional<TokenId> Tokenizer::find(std::string_view token_text) const { return impl_->index.find(token_text); }
bool Tokenizer::is_special(TokenId id) const { return valid(id) && impl_->is_special(id); }
bool Tokenizer::is_end_of_generation(TokenId id) const { return impl_->end_of_generation.count(id) > 0; }

std::size_t prefix_token_count(const Tokenizer& tokenizer, std::span<const TokenId> ids, std::string_view text,
                               std::string_view prefix) {
    if (prefix.empty() || !text.starts_with(prefix)) return 0;
    const std::vector<TokenId> rest =
        tokenizer.encode(text.substr(prefix.size()), {.add_special = false, .parse_special = true});
    if (rest.empty() || rest.size() >= ids.size() || !std::equal(rest.rbegin(), rest.rend(), ids.rbegin())) return 0;
    return ids.size() - rest.size();
}

}  // namespace ferry::text
