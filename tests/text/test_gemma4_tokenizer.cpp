// The Gemma 4 tokenizer (tokenizer.ggml.model = gemma4: BPE merges over SentencePiece-style
// text), as llama.cpp's gemma4 pre-tokenizer and SentencePiece's byte fallback define it:
// spaces become ▁, the text is cut into runs of newlines and runs of other characters, each
// run is merged by rank over UTF-8 characters, and a character with no token is written as
// its <0xXX> byte tokens. A small hand-made vocabulary, so each expectation follows from the
// merges by hand; round trips over random text; the GGUF model name.
#include "base/error.h"
#include "gguf/reader.h"
#include "gguf/writer.h"
#include "text/gguf_vocab.h"
#include "text/tokenizer.h"

#include <doctest/doctest.h>

#include <fmt/format.h>

#include <random>
#include <string>
#include <vector>

using namespace ferry;
using namespace ferry::text;

namespace {

const std::string kSpace = "\xE2\x96\x81";  // ▁

// <pad> <bos> <eos> <|turn> <turn|>, 256 byte tokens, then characters and merged pieces.
Vocabulary gemma4_vocab() {
    Vocabulary v;
    v.model = ModelKind::bpe_sp;
    v.tokens = {"<pad>", "<bos>", "<eos>", "<|turn>", "<turn|>"};
    v.types = {TokenType::control, TokenType::control, TokenType::control, TokenType::control, TokenType::control};
    for (unsigned b = 0; b < 256; ++b) {
        v.tokens.push_back(fmt::format("<0x{:02X}>", b));
        v.types.push_back(TokenType::byte);
    }
    for (const std::string& t : {kSpace, std::string("h"), std::string("e"), std::string("l"), std::string("o"),
                                 std::string("w"), std::string("r"), std::string("d"), std::string("\n"),
                                 std::string("\n\n"), std::string("he"), std::string("ll"), std::string("llo"),
                                 std::string("hello"), kSpace + "w", kSpace + "wo", std::string("rd"),
                                 kSpace + "hello"}) {
        v.tokens.push_back(t);
        v.types.push_back(TokenType::normal);
    }
    v.merges = {"h e", "l l", "ll o", "he llo", kSpace + " w", kSpace + "w o", "r d", "\n \n", kSpace + " hello"};
    v.bos = 1;
    v.eos = 2;
    v.pad = 0;
    v.apply_family_defaults();
    return v;
}

std::vector<std::string> pieces(const Tokenizer& t, const std::vector<TokenId>& ids) {
    std::vector<std::string> out;
    for (TokenId id : ids) out.push_back(t.vocab().tokens[id]);
    return out;
}

}  // namespace

TEST_CASE("gemma4 tokenizer: spaces as ▁, merges by rank, newline runs apart, BOS first") {
    const Tokenizer t(gemma4_vocab());
    using P = std::vector<std::string>;
    // "hello word": hello | ▁wo | rd (no merge joins "▁wo" and "rd").
    CHECK(pieces(t, t.encode("hello word", {.add_special = false})) == P{"hello", kSpace + "wo", "rd"});
    // "world": no "l d" merge, so r, l, d stay apart.
    CHECK(pieces(t, t.encode(" world", {.add_special = false})) == P{kSpace + "wo", "r", "l", "d"});
    // " hello": the leading space merges with the word ("▁ hello" is a merge).
    CHECK(pieces(t, t.encode(" hello", {.add_special = false})) == P{kSpace + "hello"});
    // Newlines are their own runs: "\n\n" merges, and never with the letters around it.
    CHECK(pieces(t, t.encode("he\n\nllo", {.add_special = false})) == P{"he", "\n\n", "llo"});
    CHECK(pieces(t, t.encode("\n", {.add_special = false})) == P{"\n"});
    // BOS where asked for (Gemma 4 files say add_bos_token true), special tokens parsed.
    const std::vector<TokenId> ids = t.encode("<|turn>hello<turn|>", {.add_special = true, .parse_special = true});
    CHECK(pieces(t, ids) == P{"<bos>", "<|turn>", "hello", "<turn|>"});
}

TEST_CASE("gemma4 tokenizer: characters without a token fall back to their UTF-8 bytes, and decode back") {
    const Tokenizer t(gemma4_vocab());
    using P = std::vector<std::string>;
    // 'x' and 'é' (C3 A9) have no token: bytes; 'h' 'e' merge as usual.
    CHECK(pieces(t, t.encode("hex\xC3\xA9", {.add_special = false})) == P{"he", "<0x78>", "<0xC3>", "<0xA9>"});
    const std::vector<TokenId> ids = t.encode("hex\xC3\xA9 world\n\nhello", {.add_special = false});
    CHECK(t.decode(ids) == "hex\xC3\xA9 world\n\nhello");
}

TEST_CASE("property: random text round-trips through the gemma4 tokenizer") {
    const Tokenizer t(gemma4_vocab());
    const std::vector<std::string> alphabet = {"h", "e", "l", "o", " ", "\n", "w", "r", "d", "x", "\xC3\xA9",
                                               "\xE4\xBD\xA0", "\xF0\x9F\x98\x80", "\t"};
    std::mt19937 rng(4);
    for (int round = 0; round < 200; ++round) {
        std::string s;
        const int n = int(rng() % 40);
        for (int i = 0; i < n; ++i) s += alphabet[rng() % alphabet.size()];
        CAPTURE(s);
        CHECK(t.decode(t.encode(s, {.add_special = false})) == s);
    }
}

TEST_CASE("tokenizer.ggml.model gemma4 reads from GGUF with its merges, and without them is refused") {
    const Vocabulary v = gemma4_vocab();
    gguf::Writer w;
    write_vocabulary(v, w);
    const gguf::File file = gguf::File::from_memory(w.write_memory(), "gemma4-vocab.gguf");
    CHECK(file.get_string("tokenizer.ggml.model") == "gemma4");
    const Vocabulary back = vocabulary_from_gguf(file);
    CHECK(back.model == ModelKind::bpe_sp);
    CHECK(back.add_bos);
    CHECK(back.merges == v.merges);
    const Tokenizer t(back);
    CHECK(t.decode(t.encode("hello world", {.add_special = false})) == "hello world");

    gguf::Writer bad;
    bad.set_string("tokenizer.ggml.model", "gemma4");
    bad.set_string_array("tokenizer.ggml.tokens", {"a", "b"});
    CHECK_THROWS_WITH_AS(vocabulary_from_gguf(gguf::File::from_memory(bad.write_memory(), "nomerges.gguf")),
                         doctest::Contains("tokenizer.ggml.merges"), Error);
}
