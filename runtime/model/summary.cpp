#include "model/summary.h"

#include "base/error.h"
#include "base/units.h"
#include "offload/budget_planner.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <iterator>
#include <map>
#include <string_view>

namespace ferry::model {
namespace {

// The <arch>.* keys `info` shows, in the order it shows them.
constexpr std::array<std::string_view, 20> kHyperKeys{
    "block_count",
    "context_length",
    "embedding_length",
    "feed_forward_length",
    "expert_count",
    "expert_used_count",
    "expert_feed_forward_length",
    "expert_shared_count",
    "expert_shared_feed_forward_length",
    "attention.head_count",
    "attention.head_count_kv",
    "attention.key_length",
    "attention.value_length",
    "attention.q_lora_rank",
    "attention.kv_lora_rank",
    "leading_dense_block_count",
    "attention.sliding_window",
    "rope.freq_base",
    "attention.layer_norm_rms_epsilon",
    "attention.layer_norm_epsilon",
};

constexpr std::array<std::string_view, 3> kExpertSuffixes{"ffn_gate_exps.weight", "ffn_up_exps.weight",
                                                          "ffn_down_exps.weight"};

// "blk.<N>.<suffix>" -> N, and the suffix.
std::optional<std::pair<std::uint32_t, std::string_view>> split_block_name(std::string_view name) {
    if (!name.starts_with("blk.")) return std::nullopt;
    name.remove_prefix(4);
    std::uint32_t layer = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), layer);
    if (ec != std::errc() || end == name.data() || end == name.data() + name.size() || *end != '.')
        return std::nullopt;
    return std::pair{layer, name.substr(static_cast<std::size_t>(end - name.data()) + 1)};
}

std::optional<std::uint32_t> block_index(std::string_view name) {
    const auto b = split_block_name(name);
    return b ? std::optional(b->first) : std::nullopt;
}

// "blk.<N>.ffn_{gate,up,down}_exps.weight" -> N.
std::optional<std::uint32_t> routed_expert_layer(std::string_view name) {
    const auto b = split_block_name(name);
    if (!b) return std::nullopt;
    for (std::string_view s : kExpertSuffixes)
        if (b->second == s) return b->first;
    return std::nullopt;
}

// An integer key read leniently: a value of another type is noted and ignored.
std::uint64_t integer_key(const gguf::File& file, const std::string& key, ModelSummary& s) {
    const gguf::Value* v = file.find(key);
    if (v == nullptr) return 0;
    if (const auto u = v->as_u64()) return *u;
    if (v->type() != gguf::ValueType::Array)
        s.notes.push_back(
            fmt::format("{} is {}, expected an integer; ignored", key, gguf::value_type_name(v->type())));
    return 0;
}

// Layers that slide by a per-layer pattern with their own key / value sizes (Gemma 4): their
// K/V per ring position go to sliding_kv_elements, their kv_heads entries to 0.
template <class Key>
void read_sliding_layers(const gguf::File& file, Key&& key, ModelSummary& s, std::vector<std::uint64_t>& kv_heads) {
    const gguf::Value* pattern = file.find(key("attention.sliding_window_pattern"));
    const std::uint64_t window = integer_key(file, key("attention.sliding_window"), s);
    if (!pattern || pattern->type() != gguf::ValueType::Array || pattern->array_size() < kv_heads.size() ||
        window == 0 || !file.find(key("attention.key_length_swa")))
        return;
    const std::uint64_t k = integer_key(file, key("attention.key_length_swa"), s);
    const std::uint64_t v = file.find(key("attention.value_length_swa")) ? integer_key(file, key("attention.value_length_swa"), s) : k;
    const bool bools = pattern->element_type() == gguf::ValueType::Bool;  // as llama.cpp's converter writes it
    for (std::size_t l = 0; l < kv_heads.size(); ++l) {
        const bool slides = bools ? pattern->raw_elements()[l] != std::byte{0} : pattern->uint_at(l).value_or(0) != 0;
        if (!slides) continue;
        s.sliding_kv_elements += kv_heads[l] * (k + v);
        kv_heads[l] = 0;
        ++s.sliding_layers;
    }
    s.sliding_window = window;
}


void read_tokenizer(const gguf::File& file, const std::string& arch, ModelSummary& s) {
    const auto text = [&](const char* key) -> std::string {
        const gguf::Value* v = file.find(key);
        return v != nullptr && v->as_string() != nullptr ? *v->as_string() : std::string();
    };
    s.tokenizer_model = text("tokenizer.ggml.model");
    s.tokenizer_pre = text("tokenizer.ggml.pre");
    if (const gguf::Value* tokens = file.find("tokenizer.ggml.tokens");
        tokens && tokens->type() == gguf::ValueType::Array)
        s.vocab_size = tokens->array_size();
    else if (const std::uint64_t n = integer_key(file, arch + ".vocab_size", s); n > 0)
        s.vocab_size = n;
}

void read_shape(const gguf::File& file, const std::string& arch, ModelSummary& s) {
    const auto key = [&](std::string_view k) { return fmt::format("{}.{}", arch, k); };
    s.n_layers = integer_key(file, key("block_count"), s);
    s.n_embd = integer_key(file, key("embedding_length"), s);
    s.n_head = integer_key(file, key("attention.head_count"), s);
    s.n_experts_used = integer_key(file, key("expert_used_count"), s);
    s.n_ff_expert = integer_key(file, key("expert_feed_forward_length"), s);
    if (s.n_ff_expert == 0 && integer_key(file, key("expert_count"), s) > 0)  // Mixtral (llama + experts)
        s.n_ff_expert = integer_key(file, key("feed_forward_length"), s);
    s.n_ff_shared = integer_key(file, key("expert_shared_feed_forward_length"), s);
    // llama.cpp's defaults: head size n_embd / n_head, value size = key size.
    s.key_length = integer_key(file, key("attention.key_length"), s);
    if (s.key_length == 0 && s.n_head > 0) s.key_length = s.n_embd / s.n_head;
    s.value_length = integer_key(file, key("attention.value_length"), s);
    if (s.value_length == 0) s.value_length = s.key_length;

    // head_count_kv: one number, or one per layer (models mixing attention layer kinds);
    // absent means as many KV heads as query heads.
    std::vector<std::uint64_t> kv_heads(s.n_layers, s.n_head);
    if (const gguf::Value* v = file.find(key("attention.head_count_kv"))) {
        if (const auto n = v->as_u64()) {
            std::fill(kv_heads.begin(), kv_heads.end(), *n);
        } else if (v->type() == gguf::ValueType::Array && v->array_size() == s.n_layers) {
            for (std::size_t l = 0; l < kv_heads.size(); ++l) kv_heads[l] = v->uint_at(l).value_or(0);
        } else {
            s.notes.push_back(
                fmt::format("{} is neither an integer nor one integer per layer; KV cache not counted",
                            key("attention.head_count_kv")));
            kv_heads.assign(s.n_layers, 0);
        }
    }
    // Multi-token-prediction blocks after the last layer are not run; linear-attention
    // layers (every layer but each interval-th) keep a fixed state instead of a KV cache.
    const std::uint64_t nextn = std::min(integer_key(file, key("nextn_predict_layers"), s), s.n_layers);
    kv_heads.resize(s.n_layers - nextn);
    if (const std::uint64_t interval = integer_key(file, key("full_attention_interval"), s); interval > 0) {
        const std::uint64_t k_heads = integer_key(file, key("ssm.group_count"), s),
                            k_dim = integer_key(file, key("ssm.state_size"), s),
                            v_heads = integer_key(file, key("ssm.time_step_rank"), s),
                            inner = integer_key(file, key("ssm.inner_size"), s),
                            kernel = integer_key(file, key("ssm.conv_kernel"), s);
        const std::uint64_t v_dim = v_heads ? inner / v_heads : 0;
        const std::uint64_t per_layer = ((2 * k_heads * k_dim + inner) * (kernel ? kernel - 1 : 0) +
                                         v_heads * k_dim * v_dim) * 4;
        for (std::size_t l = 0; l < kv_heads.size(); ++l)
            if ((l + 1) % interval != 0) {
                kv_heads[l] = 0;
                ++s.recurrent_layers;
                s.recurrent_state_bytes += 2 * per_layer;  // the state and its checkpoint
            }
    }
    // Multi-head latent attention (deepseek2): one row [k_pe | c] per position and layer,
    // key and value at once, whatever head_count_kv and the key/value lengths say.
    if (const std::uint64_t kv_lora = integer_key(file, key("attention.kv_lora_rank"), s); kv_lora > 0) {
        s.key_length = kv_lora + integer_key(file, key("rope.dimension_count"), s);
        s.value_length = 0;
        std::replace_if(kv_heads.begin(), kv_heads.end(), [](std::uint64_t h) { return h > 0; }, 1);
    }
    read_sliding_layers(file, key, s, kv_heads);
    for (std::uint64_t h : kv_heads) {
        s.n_kv_heads_max = std::max(s.n_kv_heads_max, h);
        s.kv_elements_per_token += h * (s.key_length + s.value_length);
    }
    if (s.kv_elements_per_token == 0 && s.tensor_count > 0)
        s.notes.push_back(fmt::format("{} / attention.head_count / key_length missing: KV cache size unknown",
                                      key("block_count")));
}

void read_tensors(const gguf::File& file, ModelSummary& s) {
    const std::uint64_t expert_count_key = integer_key(file, s.architecture + ".expert_count", s);
    // Blocks from here on are MTP blocks (nextn_predict_layers), outside the forward pass.
    const std::uint64_t blocks = integer_key(file, s.architecture + ".block_count", s);
    s.nextn_layers = std::min(integer_key(file, s.architecture + ".nextn_predict_layers", s), blocks);
    const std::uint64_t first_nextn = blocks - s.nextn_layers;
    std::map<gguf::TensorType, TypeBytes> by_type;
    std::map<std::uint32_t, std::uint64_t> expert_bytes_by_layer;
    for (const gguf::TensorInfo& t : file.tensors()) {
        ++s.tensor_count;
        s.tensor_bytes += t.bytes;
        TypeBytes& tb = by_type.try_emplace(t.type, TypeBytes{t.type}).first->second;
        ++tb.tensors;
        tb.bytes += t.bytes;

        if (s.nextn_layers) {
            const std::optional<std::uint32_t> block = block_index(t.name);
            if (block && *block >= first_nextn) {
                s.nextn_bytes += t.bytes;
                continue;
            }
        }
        const std::optional<std::uint32_t> layer = routed_expert_layer(t.name);
        bool routed = layer && t.dims.size() == 3 && t.dims[2] > 0;
        if (routed && expert_count_key != 0 && t.dims[2] != expert_count_key) {
            s.notes.push_back(
                fmt::format("{} has {} experts in dim 2 but expert_count is {}; counted as dense", t.name,
                            t.dims[2], expert_count_key));
            routed = false;
        }
        if (!routed) {
            s.dense_bytes += t.bytes;
            continue;
        }
        if (s.experts.experts_per_layer != 0 && s.experts.experts_per_layer != t.dims[2])
            s.notes.push_back(fmt::format("{} has {} experts, other layers {}", t.name, t.dims[2],
                                          s.experts.experts_per_layer));
        s.experts.experts_per_layer = std::max(s.experts.experts_per_layer, t.dims[2]);
        s.routed_expert_bytes += t.bytes;
        expert_bytes_by_layer[*layer] += t.bytes / t.dims[2];  // experts are contiguous along dim 2
        s.experts.slice_bytes_max = std::max(s.experts.slice_bytes_max, t.bytes / t.dims[2]);
    }
    for (const auto& [type, tb] : by_type) s.bytes_by_type.push_back(tb);
    std::stable_sort(s.bytes_by_type.begin(), s.bytes_by_type.end(),
                     [](const TypeBytes& a, const TypeBytes& b) { return a.bytes > b.bytes; });

    s.experts.moe_layers = static_cast<std::uint32_t>(expert_bytes_by_layer.size());
    s.experts.total_experts = s.experts.moe_layers * s.experts.experts_per_layer;
    for (const auto& [layer, bytes] : expert_bytes_by_layer) {
        s.experts.expert_bytes_max = std::max(s.experts.expert_bytes_max, bytes);
        s.experts.expert_bytes_min =
            s.experts.expert_bytes_min == 0 ? bytes : std::min(s.experts.expert_bytes_min, bytes);
    }
}

template <class... Args>
void append_line(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
    fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
    out += '\n';
}

std::string percent(double p) {
    return fmt::format("{:.1f}%", p);
}

}  // namespace

ModelSummary summarize(const gguf::File& file) {
    ModelSummary s;
    s.file = file.name();
    s.file_size = file.file_size();
    s.version = file.version();
    const auto text = [&](const char* key) -> std::string {
        const gguf::Value* v = file.find(key);
        return v != nullptr && v->as_string() != nullptr ? *v->as_string() : std::string();
    };
    s.architecture = text("general.architecture");
    s.name = text("general.name");
    if (!s.architecture.empty())
        for (std::string_view k : kHyperKeys)
            if (const gguf::Value* v = file.find(fmt::format("{}.{}", s.architecture, k)))
                s.hyper_parameters.push_back({std::string(k), *v});
    read_tokenizer(file, s.architecture, s);
    read_tensors(file, s);
    if (!s.architecture.empty()) read_shape(file, s.architecture, s);
    return s;
}

std::uint64_t estimate_work_reserve(const ModelSummary& s) {
    constexpr std::uint64_t kPrefillBatch = 512;
    constexpr std::uint64_t kDriverReserve = 16ull << 20;
    const std::uint64_t q_dim = s.n_head * s.key_length;
    const std::uint64_t kv_dim = s.n_kv_heads_max * (s.key_length + s.value_length);
    // Per token of the batch, f32: residual, normed input, attention output, FFN output
    // (4 x n_embd), q, k and v, router logits, gate/up intermediates of the top-k experts
    // and of the shared expert, and its gate.
    const std::uint64_t per_token = 4 * s.n_embd + q_dim + kv_dim + s.experts.experts_per_layer +
                                    2 * s.n_experts_used * s.n_ff_expert +
                                    (s.n_ff_shared > 0 ? 2 * s.n_ff_shared + 1 : 0);
    const std::uint64_t logits = s.vocab_size.value_or(0);
    return kDriverReserve + (kPrefillBatch * per_token + logits) * sizeof(float);
}

// The numbers come from the summary; the arithmetic (fill order, minimum of one slot per
// layer, slot split) is offload's planner, the one the runtime allocates by.
BudgetPlan plan_budget(const ModelSummary& s, const BudgetRequest& r) {
    BudgetPlan p;
    p.budget = r.vram_budget;
    p.ctx = r.ctx;
    p.dense_bytes = s.dense_bytes;
    // F16 K, V; the sliding layers' rings (SequenceState: window + batch - 1 positions); F32 states.
    p.kv_cache_bytes = s.kv_elements_per_token * r.ctx * 2 +
                       s.sliding_kv_elements * std::min<std::uint64_t>(r.ctx, s.sliding_window + r.batch - 1) * 2 +
                       s.recurrent_state_bytes;
    p.work_reserve = r.work_reserve.value_or(estimate_work_reserve(s));
    p.slot_bytes = s.experts.expert_bytes_max;

    offload::PlanInputs in;
    in.budget_bytes = p.budget;
    in.dense_bytes = p.dense_bytes;
    in.kv_cache_bytes = p.kv_cache_bytes;
    in.work_bytes = p.work_reserve;
    in.expert_bytes = p.slot_bytes;
    in.n_layers = s.experts.moe_layers;
    in.n_experts = s.experts.experts_per_layer;
    in.n_experts_used = std::uint32_t(s.n_experts_used);
    in.ctx = r.ctx;
    in.slice_bytes = s.experts.slice_bytes_max;
    in.max_pool_bytes = r.max_pool_bytes;
    const offload::BudgetPlan plan = offload::plan_budget(in);
    p.fits = plan.fits;
    p.missing = plan.missing_bytes;
    p.advice = plan.advice;
    if (!p.fits) return p;
    p.expert_space = p.budget - plan.fixed_bytes;
    p.slots_total = plan.total_slots;
    p.capped_by_binding = plan.capped_by_binding;
    p.slots_per_layer = plan.slots_per_layer.empty()
                            ? 0
                            : *std::min_element(plan.slots_per_layer.begin(), plan.slots_per_layer.end());
    if (s.experts.total_experts > 0)
        p.percent_of_experts =
            100.0 * static_cast<double>(p.slots_total) / static_cast<double>(s.experts.total_experts);
    return p;
}

std::uint32_t slots_per_binding(const ModelSummary& s, std::uint64_t max_pool_bytes) {
    return offload::max_slots_per_layer({.n_experts = std::uint32_t(s.experts.experts_per_layer),
                                         .slice_bytes = s.experts.slice_bytes_max,
                                         .max_pool_bytes = max_pool_bytes});
}

std::string format_summary(const ModelSummary& s, const std::optional<BudgetPlan>& plan) {
    std::string out;
    append_line(out, "file          {} ({}, GGUF v{})", s.file, format_bytes(s.file_size), s.version);
    append_line(out, "architecture  {}",
                s.architecture.empty() ? "(not set)" : gguf::printable(s.architecture));
    if (!s.name.empty()) append_line(out, "name          {}", gguf::printable(s.name));
    if (!s.hyper_parameters.empty()) {
        append_line(out, "hyper-parameters ({}.*)", gguf::printable(s.architecture));
        for (const HyperParameter& h : s.hyper_parameters)
            append_line(out, "  {:<36} {}", h.key, h.value.to_display());
    }
    if (!s.tokenizer_model.empty() || s.vocab_size)
        append_line(out, "tokenizer     {} / {}, {} tokens",
                    s.tokenizer_model.empty() ? "?" : gguf::printable(s.tokenizer_model),
                    s.tokenizer_pre.empty() ? "(no pre-tokenizer)" : gguf::printable(s.tokenizer_pre),
                    s.vocab_size ? fmt::format("{}", *s.vocab_size) : "?");
    append_line(out, "tensors       {}, {}", s.tensor_count, format_bytes(s.tensor_bytes));
    for (const TypeBytes& t : s.bytes_by_type)
        append_line(out, "  {:<8} {:>6} tensors  {:>10}", gguf::type_name(t.type), t.tensors,
                    format_bytes(t.bytes));
    if (s.tensor_count > 0) {
        append_line(out, "dense weights         {}", format_bytes(s.dense_bytes));
        if (s.experts.moe_layers > 0) {
            append_line(out, "routed experts        {} ({} layers x {} experts = {})",
                        format_bytes(s.routed_expert_bytes), s.experts.moe_layers,
                        s.experts.experts_per_layer, s.experts.total_experts);
            if (s.experts.expert_bytes_min == s.experts.expert_bytes_max)
                append_line(out, "one expert            {} (gate + up + down)",
                            format_bytes(s.experts.expert_bytes_max));
            else
                append_line(out, "one expert            {} to {} by layer (gate + up + down)",
                            format_bytes(s.experts.expert_bytes_min),
                            format_bytes(s.experts.expert_bytes_max));
        } else {
            append_line(out, "routed experts        none (no blk.N.ffn_*_exps.weight tensors)");
        }
        if (s.nextn_layers > 0)
            append_line(out, "MTP blocks            {} ({} of nextn_predict_layers: not loaded, not in the budget)",
                        format_bytes(s.nextn_bytes), s.nextn_layers);
    }
    for (const std::string& note : s.notes) append_line(out, "note: {}", gguf::printable(note, 200));
    if (!plan) return out;

    const BudgetPlan& p = *plan;
    append_line(out, "");
    append_line(out, "VRAM budget {} at --ctx {}:", format_bytes(p.budget), p.ctx);
    append_line(out, "  dense weights       {:>10}", format_bytes(p.dense_bytes));
    if (s.recurrent_layers > 0)
        append_line(out, "  KV cache + states   {:>10}  (F16 KV of the attention layers, F32 state + checkpoint of {} linear-attention layers)",
                    format_bytes(p.kv_cache_bytes), s.recurrent_layers);
    else if (s.sliding_layers > 0)
        append_line(out, "  KV cache (F16)      {:>10}  ({} sliding layers keep a ring of their {}-position window)",
                    format_bytes(p.kv_cache_bytes), s.sliding_layers, s.sliding_window);
    else
        append_line(out, "  KV cache (F16)      {:>10}", format_bytes(p.kv_cache_bytes));
    append_line(out, "  work buffers        {:>10}  (estimate)", format_bytes(p.work_reserve));
    if (!p.fits) {
        append_line(out, "  does not fit: {}", p.advice);
        return out;
    }
    if (s.tensor_count == 0) {
        append_line(out, "  left over           {:>10}", format_bytes(p.expert_space));
        append_line(
            out, "  no tensors in this file (vocabulary only): KV cache and buffers are what its keys imply");
        return out;
    }
    if (s.experts.total_experts == 0) {
        append_line(out, "  left over           {:>10}", format_bytes(p.expert_space));
        append_line(out, "  no routed experts: the whole model is resident");
        return out;
    }
    append_line(out, "  left for experts    {:>10}", format_bytes(p.expert_space));
    if (p.slots_total == s.experts.total_experts) {
        append_line(out, "  all {} experts fit: the whole model is resident", s.experts.total_experts);
    } else {
        append_line(out, "  {} expert slots of {}: {} per layer, {} of all {} experts", p.slots_total,
                    format_bytes(p.slot_bytes), p.slots_per_layer, percent(p.percent_of_experts),
                    s.experts.total_experts);
    }
    return out;
}

std::string summary_json(const ModelSummary& s, const std::optional<BudgetPlan>& plan) {
    using json = nlohmann::ordered_json;  // keys in the order written
    // Strings from the file may be invalid UTF-8: replace rather than throw on dump().
    json j;
    j["file"] = s.file;
    j["file_size"] = s.file_size;
    j["gguf_version"] = s.version;
    j["architecture"] = s.architecture;
    j["name"] = s.name;
    json hyper = json::object();
    for (const HyperParameter& h : s.hyper_parameters) {
        if (const auto u = h.value.as_u64())
            hyper[h.key] = *u;
        else if (const auto i = h.value.as_i64())
            hyper[h.key] = *i;
        else if (const auto f = h.value.as_f64())
            hyper[h.key] = *f;
        else
            hyper[h.key] = h.value.to_display();
    }
    j["hyper_parameters"] = hyper;
    j["tokenizer"] = {{"model", s.tokenizer_model}, {"pre", s.tokenizer_pre}};
    j["tokenizer"]["vocab_size"] = s.vocab_size ? json(*s.vocab_size) : json(nullptr);
    j["tensor_count"] = s.tensor_count;
    j["tensor_bytes"] = s.tensor_bytes;
    json types = json::array();
    for (const TypeBytes& t : s.bytes_by_type)
        types.push_back({{"type", gguf::type_name(t.type)}, {"tensors", t.tensors}, {"bytes", t.bytes}});
    j["bytes_by_type"] = types;
    j["dense_bytes"] = s.dense_bytes;
    j["routed_expert_bytes"] = s.routed_expert_bytes;
    j["nextn_bytes"] = s.nextn_bytes;
    j["experts"] = {{"moe_layers", s.experts.moe_layers},
                    {"experts_per_layer", s.experts.experts_per_layer},
                    {"total", s.experts.total_experts},
                    {"expert_bytes_min", s.experts.expert_bytes_min},
                    {"expert_bytes_max", s.experts.expert_bytes_max}};
    j["notes"] = s.notes;
    if (plan) {
        const BudgetPlan& p = *plan;
        j["budget"] = {{"vram_budget", p.budget},
                       {"ctx", p.ctx},
                       {"dense_bytes", p.dense_bytes},
                       {"kv_cache_bytes", p.kv_cache_bytes},
                       {"work_reserve", p.work_reserve},
                       {"fits", p.fits},
                       {"missing", p.missing},
                       {"advice", p.advice},
                       {"expert_space", p.expert_space},
                       {"slot_bytes", p.slot_bytes},
                       {"slots_total", p.slots_total},
                       {"slots_per_layer", p.slots_per_layer},
                       {"percent_of_experts", p.percent_of_experts}};
    }
    return j.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace ferry::model
