#include "text/gguf_vocab.h"

#include "base/error.h"
#include "gguf/reader.h"
#include "gguf/writer.h"

namespace ferry::text {

namespace {

constexpr std::string_view kModel = "tokenizer.ggml.model";
constexpr std::string_view kPre = "tokenizer.ggml.pre";
constexpr std::string_view kTokens = "tokenizer.ggml.tokens";
constexpr std::string_view kScores = "tokenizer.ggml.scores";
constexpr std::string_view kTypes = "tokenizer.ggml.token_type";
constexpr std::string_view kMerges = "tokenizer.ggml.merges";
constexpr std::string_view kBos = "tokenizer.ggml.bos_token_id";
constexpr std::string_view kEos = "tokenizer.ggml.eos_token_id";
constexpr std::string_view kUnk = "tokenizer.ggml.unknown_token_id";
constexpr std::string_view kSep = "tokenizer.ggml.seperator_token_id";  // sic, as llama.cpp spells it
constexpr std::string_view kPad = "tokenizer.ggml.padding_token_id";
constexpr std::string_view kEot = "tokenizer.ggml.eot_token_id";
constexpr std::string_view kAddBos = "tokenizer.ggml.add_bos_token";
constexpr std::string_view kAddEos = "tokenizer.ggml.add_eos_token";
constexpr std::string_view kAddSpacePrefix = "tokenizer.ggml.add_space_prefix";
constexpr std::string_view kIgnoreMerges = "tokenizer.ferry.ignore_merges";  // ferry's own, optional
constexpr std::string_view kNfc = "tokenizer.ferry.nfc";  // ferry's own, optional

}  // namespace

Vocabulary vocabulary_from_gguf(const gguf::File& file) {
    Vocabulary v;
    const std::string model = file.get_string(kModel);
    try {
        v.model = model_kind_from_gguf_name(model);
    } catch (const Error& e) {
        fail("{}: {}", file.name(), e.what());
    }
    v.pre = file.optional_string(kPre).value_or("");
    v.tokens = file.get_string_array(kTokens);
    if (auto scores = file.optional_f32_array(kScores)) v.scores = std::move(*scores);
    if (auto types = file.optional_i32_array(kTypes)) {
        v.types.reserve(types->size());
        for (std::int32_t t : *types) {
            if (t < 0 || t > 6) fail("{}: {} holds {}, not a token type (0..6)", file.name(), kTypes, t);
            v.types.push_back(static_cast<TokenType>(t));
        }
    }
    if (has_merges(v.model)) {
        const auto* merges = file.optional_string_array(kMerges);
        if (!merges) fail("{}: a BPE ({}) vocabulary needs {}", file.name(), model_kind_gguf_name(v.model), kMerges);
        v.merges = *merges;
    }

    v.apply_family_defaults();
    const auto in_range = [&](std::int64_t id) { return id >= 0 && static_cast<std::size_t>(id) < v.tokens.size(); };
    if (v.model == ModelKind::spm) {
        if (in_range(1)) v.bos = 1;
        if (in_range(2)) v.eos = 2;
        if (in_range(0)) v.unk = 0;
    } else if (v.model == ModelKind::wordpiece) {
        if (in_range(101)) v.bos = 101;
        if (in_range(100)) v.unk = 100;
        if (in_range(102)) v.sep = 102;
        if (in_range(0)) v.pad = 0;
    }
    const auto read_id = [&](std::string_view key, std::optional<TokenId>& id) {
        if (const auto value = file.optional_u32(key)) {
            if (!in_range(*value)) {
                fail("{}: {} = {} is outside the vocabulary of {} tokens", file.name(), key, *value, v.tokens.size());
            }
            id = static_cast<TokenId>(*value);
        }
    };
    read_id(kBos, v.bos);
    read_id(kEos, v.eos);
    read_id(kUnk, v.unk);
    read_id(kSep, v.sep);
    read_id(kPad, v.pad);
    read_id(kEot, v.eot);
    if (const auto b = file.optional_bool(kAddBos)) v.add_bos = *b;
    if (const auto b = file.optional_bool(kAddEos)) v.add_eos = *b;
    if (const auto b = file.optional_bool(kAddSpacePrefix)) v.add_space_prefix = *b;
    if (const auto b = file.optional_bool(kIgnoreMerges)) v.ignore_merges = *b;
    if (const auto b = file.optional_bool(kNfc)) v.nfc = *b;
    if (v.add_bos && !v.bos) v.add_bos = false;
    if (v.add_eos && !v.eos) v.add_eos = false;
    v.validate(file.name());
    return v;
}

void write_vocabulary(const Vocabulary& v, gguf::Writer& w) {
    w.set_string(std::string(kModel), std::string(model_kind_gguf_name(v.model)));
    if (!v.pre.empty()) w.set_string(std::string(kPre), v.pre);
    w.set_string_array(std::string(kTokens), v.tokens);
    if (!v.scores.empty()) w.set_f32_array(std::string(kScores), v.scores);
    if (!v.types.empty()) {
        std::vector<std::int32_t> types(v.types.size());
        for (std::size_t i = 0; i < types.size(); ++i) types[i] = static_cast<std::int32_t>(v.types[i]);
        w.set_i32_array(std::string(kTypes), types);
    }
    if (has_merges(v.model)) w.set_string_array(std::string(kMerges), v.merges);
    const auto write_id = [&](std::string_view key, const std::optional<TokenId>& id) {
        if (id) w.set_u32(std::string(key), static_cast<std::uint32_t>(*id));
    };
    write_id(kBos, v.bos);
    write_id(kEos, v.eos);
    write_id(kUnk, v.unk);
    write_id(kSep, v.sep);
    write_id(kPad, v.pad);
    write_id(kEot, v.eot);
    w.set_bool(std::string(kAddBos), v.add_bos);
    w.set_bool(std::string(kAddEos), v.add_eos);
    if (v.model == ModelKind::spm) w.set_bool(std::string(kAddSpacePrefix), v.add_space_prefix);
    w.set_bool(std::string(kIgnoreMerges), v.ignore_merges);
    w.set_bool(std::string(kNfc), v.nfc);
}

}  // namespace ferry::text
