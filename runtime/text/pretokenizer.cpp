#include "text/pretokenizer.h"

#include <algorithm>

namespace ferry::text {

namespace {

// GPT-2's pattern (tokenizer.json of gpt2, mpt, gpt-neox, starcoder, falcon, refact).
constexpr std::string_view gpt2_pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Llama 3 (digits in groups of up to three) and Qwen2 (single digits). (?i:...) is kept as
// in tokenizer.json: PCRE2 folds case with Unicode rules, as the reference (Oniguruma) does.
constexpr std::string_view llama3_pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view qwen2_pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Qwen3.5/3.6: qwen2's split with letters widened to letters-or-marks, so a combining mark
// stays in its word (llama.cpp's LLAMA_VOCAB_PRE_TYPE_QWEN35, the models' tokenizer.json).
constexpr std::string_view qwen35_pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// o200k (gpt-4o, gpt-oss): case-aware words with optional contractions.
constexpr std::string_view o200k_pattern =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|)"
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|)"
    R"(\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// DeepSeek LLM: the cased letters (Unicode LC) as explicit ranges. Written with \x{...} escapes:
// several of these code points (U+1FBE, U+2126, U+212A, ...) have canonical singleton
// decompositions, and an editor that normalises the source would otherwise corrupt the ranges.
constexpr std::string_view deepseek_llm_letters =
    "\\s?["
    "A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}"
    "\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}"
    "\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}"
    "\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}"
    "\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}"
    "\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}"
    "\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}"
    "\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}"
    "\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}"
    "\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}"
    "\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}"
    "\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}"
    "\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}"
    "\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}"
    "\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}"
    "\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}"
    "\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}"
    "\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}"
    "]+";
constexpr std::string_view deepseek_cjk = "[一-龥ࠀ-一가-퟿]+";

// DeepSeek V3: the third pattern contains literal CR and LF characters, as its tokenizer.json does.
constexpr std::string_view deepseek_v3_words =
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
    "?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";

}  // namespace

const std::vector<PreTokenizerSpec>& known_pre_tokenizers() {
    static const std::vector<PreTokenizerSpec> specs = {
        {"default", {}, {R"([\p{P}\$\+<=>\^~\|]+)", gpt2_pattern, R"(\p{N}+)", "[0-9][0-9][0-9]"}},
        {"gpt-2", {"gpt2", "mpt", "gpt-neox", "olmo", "phi-2", "jais", "exaone4", "trillion"}, {gpt2_pattern}},
        {"llama-bpe", {"llama3", "llama-v3", "falcon3", "dbrx", "smaug-bpe", "chatglm-bpe", "glm4"}, {llama3_pattern}},
        {"qwen2", {"stablelm2", "deepseek-r1-qwen", "megrez", "hunyuan"}, {qwen2_pattern}},
        {"qwen35", {}, {qwen35_pattern}},
        {"gpt-4o", {"llama4", "minimax-m2"}, {o200k_pattern}},
        {"deepseek-llm", {}, {"[\r\n]", deepseek_llm_letters, "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$", deepseek_cjk, "\\p{N}+"}},
        {"deepseek-coder", {}, {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", deepseek_cjk, "\\p{N}"}},
        {"deepseek-v3", {"hunyuan-dense"}, {"\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+", deepseek_v3_words}},
        {"falcon", {}, {"[\\p{P}\\$\\+<=>\\^~\\|`]+", gpt2_pattern, "[0-9][0-9][0-9]"}},
        {"starcoder", {"refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"}, {"\\p{N}", gpt2_pattern}},
    };
    return specs;
}

const PreTokenizerSpec& find_pre_tokenizer(std::string_view name, bool* known) {
    const auto& specs = known_pre_tokenizers();
    for (const auto& spec : specs) {
        if (spec.canonical_name == name ||
            std::find(spec.aliases.begin(), spec.aliases.end(), name) != spec.aliases.end()) {
            if (known) *known = true;
            return spec;
        }
    }
    if (known) *known = name.empty();
    return specs.front();  // "default"
}

std::string_view pre_tokenizer_for_patterns(std::span<const std::string> patterns) {
    for (const auto& spec : known_pre_tokenizers()) {
        if (spec.patterns.size() == patterns.size() &&
            std::equal(spec.patterns.begin(), spec.patterns.end(), patterns.begin(),
                       [](std::string_view a, const std::string& b) { return a == b; })) {
            return spec.canonical_name;
        }
    }
    return {};
}

PreTokenizer::PreTokenizer(std::string_view pre_name) : spec_(&find_pre_tokenizer(pre_name)) {
    regexes_.reserve(spec_->patterns.size());
    for (std::string_view p : spec_->patterns) regexes_.emplace_back(p);
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& pieces) const {
    if (text.empty()) return;
    std::vector<std::string_view> current{text}, next;
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    for (const Regex& regex : regexes_) {
        next.clear();
        for (std::string_view piece : current) {
            matches.clear();
            regex.find_all(piece, matches);
            std::size_t at = 0;
            for (const auto& [begin, end] : matches) {
                if (begin > at) next.push_back(piece.substr(at, begin - at));
                next.push_back(piece.substr(begin, end - begin));
                at = end;
            }
            if (at < piece.size()) next.push_back(piece.substr(at));
        }
        current.swap(next);
    }
    pieces.insert(pieces.end(), current.begin(), current.end());
}

}  // namespace ferry::text
