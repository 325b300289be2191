#include "text/pretokenizer.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace ferry::text;

namespace {
std::vector<std::string> split(std::string_view pre, std::string_view text) {
    PreTokenizer p(pre);
    std::vector<std::string_view> pieces;
    p.split(text, pieces);
    return {pieces.begin(), pieces.end()};
}
}  // namespace

TEST_CASE("pre-tokenizer: every known pattern compiles under PCRE2") {
    for (const auto& spec : known_pre_tokenizers()) {
        CAPTURE(spec.canonical_name);
        CHECK_NOTHROW(PreTokenizer(spec.canonical_name));
    }
}

TEST_CASE("pre-tokenizer: digits split per model") {
    using V = std::vector<std::string>;
    CHECK(split("qwen2", "abc 12345") == V{"abc", " ", "1", "2", "3", "4", "5"});
    CHECK(split("llama-bpe", "abc 12345") == V{"abc", " ", "123", "45"});
    CHECK(split("gpt-2", "abc 12345") == V{"abc", " 12345"});
    CHECK(split("starcoder", "abc 12345") == V{"abc", " ", "1", "2", "3", "4", "5"});
}

TEST_CASE("pre-tokenizer: whitespace before a word stays with the word, runs split before it") {
    using V = std::vector<std::string>;
    CHECK(split("gpt-2", "   Hello") == V{"  ", " Hello"});
    CHECK(split("qwen2", "a\n\n b") == V{"a", "\n\n", " b"});
    CHECK(split("gpt-2", "I've") == V{"I", "'ve"});
    CHECK(split("qwen2", "I'VE") == V{"I", "'VE"});  // case-insensitive contractions
}

TEST_CASE("pre-tokenizer: qwen35 keeps combining marks in their word, qwen2 does not") {
    using V = std::vector<std::string>;
    CHECK(split("qwen35", "x\u0301y ok") == V{"x\u0301y", " ok"});
    CHECK(split("qwen2", "x\u0301y ok") == V{"x", "\u0301y", " ok"});  // the mark only as a prefix
    CHECK(split("qwen35", "abc 12") == V{"abc", " ", "1", "2"});
}

TEST_CASE("pre-tokenizer: o200k keeps case runs and contractions together") {
    using V = std::vector<std::string>;
    CHECK(split("gpt-4o", "HelloWorld don't") == V{"Hello", "World", " don't"});
}

TEST_CASE("pre-tokenizer: unknown names fall back to default") {
    bool known = true;
    CHECK(find_pre_tokenizer("no-such-pre", &known).canonical_name == "default");
    CHECK_FALSE(known);
    CHECK(find_pre_tokenizer("mpt", &known).canonical_name == "gpt-2");
    CHECK(known);
}

TEST_CASE("pre-tokenizer: pieces always cover the text exactly") {
    const std::string text = "x \t\n y!!\xF0\x9F\xA6\x99 3.14 \xE4\xBD\xA0\xE5\xA5\xBD";
    for (const auto& spec : known_pre_tokenizers()) {
        CAPTURE(spec.canonical_name);
        std::string joined;
        for (const auto& p : split(spec.canonical_name, text)) {
            CHECK_FALSE(p.empty());
            joined += p;
        }
        CHECK(joined == text);
    }
}
