// ferry make-model: writes a random-weight GGUF (tests, demo, full-size speed runs).
#include "app/command_registry.h"
#include "base/error.h"
#include "base/progress.h"
#include "base/units.h"
#include "model/synthetic_model.h"

#include <fmt/core.h>

#include <filesystem>
#include <memory>
#include <optional>

namespace ferry::app {
namespace {

struct MakeModelOptions {
    std::string output;
    std::string preset = "tiny";
    std::string quant;
    std::optional<std::uint32_t> layers, embd, heads, kv_heads, head_dim, experts, experts_used, ff_expert,
        vocab, nextn;
    std::uint64_t seed = 1;
    float router_skew = -1.f;
    bool force = false;
    bool split_experts = false;
};

void run(const MakeModelOptions& o) {
    model::SyntheticModelSpec s = model::synthetic_preset(o.preset);
    if (!o.quant.empty()) s.quant = model::quant_mix_from_name(o.quant);
    auto apply = [](const std::optional<std::uint32_t>& v, std::uint32_t& field) {
        if (v) field = *v;
    };
    apply(o.layers, s.n_layers);
    apply(o.nextn, s.nextn_layers);
    apply(o.embd, s.n_embd);
    apply(o.heads, s.n_heads);
    apply(o.kv_heads, s.n_kv_heads);
    apply(o.head_dim, s.head_dim);
    apply(o.experts, s.n_experts);
    apply(o.experts_used, s.n_experts_used);
    apply(o.ff_expert, s.n_ff_expert);
    apply(o.vocab, s.n_vocab);
    s.seed = o.seed;
    if (o.router_skew >= 0) s.router_skew = o.router_skew;
    s.split_experts = o.split_experts;

    const std::filesystem::path path(o.output);
    if (std::filesystem::exists(path) && !o.force)
        fail("{} exists already; pass --force to overwrite it", o.output);
    const std::uint64_t bytes = model::synthetic_model_bytes(s);
    std::error_code ec;
    const auto space = std::filesystem::space(path.has_parent_path() ? path.parent_path() : ".", ec);
    if (!ec && space.available < bytes + (64u << 20))
        fail("{} needs {} of disk space but only {} is free there", o.output, format_bytes(bytes),
             format_bytes(space.available));
    fmt::print(stderr, "make-model: {} layers, {} wide, {} experts top-{} (expert ff {}), vocab {}, ~{}\n",
               s.n_layers, s.n_embd, s.n_experts, s.n_experts_used, s.n_ff_expert, s.n_vocab,
               format_bytes(bytes));
    ProgressBar bar("generating", bytes);
    model::write_synthetic_model(s, path, [&](std::uint64_t done, std::uint64_t) { bar.set(done); });
    bar.finish();
    fmt::print(stderr,
               "make-model: wrote {} (random weights: output is gibberish, for testing and speed runs)\n",
               o.output);
}

void add_make_model_command(CLI::App& parent) {
    auto o = std::make_shared<MakeModelOptions>();
    CLI::App* cmd = parent.add_subcommand("make-model",
                                          "Write a random-weight MoE GGUF of any family ferry runs (by --preset; "
                                          "deterministic from --seed) for tests and speed runs");
    cmd->add_option("-o,--output", o->output, "GGUF file to write")->required();
    cmd->add_option("--preset", o->preset, "Shape: " + model::synthetic_preset_names())
        ->capture_default_str();
    cmd->add_option("--quant", o->quant,
                    "Quant mix: " + model::quant_mix_names() + " (default: the preset's)");
    cmd->add_option("--layers", o->layers, "Override: number of layers");
    cmd->add_option("--nextn", o->nextn,
                    "Override: MTP blocks after the last layer (qwen35moe, qwen3next; ferry skips them)");
    cmd->add_option("--embd", o->embd, "Override: embedding width");
    cmd->add_option("--heads", o->heads, "Override: attention heads");
    cmd->add_option("--kv-heads", o->kv_heads, "Override: key/value heads");
    cmd->add_option("--head-dim", o->head_dim, "Override: head size");
    cmd->add_option("--experts", o->experts, "Override: experts per layer");
    cmd->add_option("--experts-used", o->experts_used, "Override: experts chosen per token (top-k)");
    cmd->add_option("--ff-expert", o->ff_expert, "Override: expert feed-forward width");
    cmd->add_option("--vocab", o->vocab, "Override: vocabulary size (>= 259)");
    cmd->add_option("--seed", o->seed, "Random seed")->capture_default_str();
    cmd->add_option("--router-skew", o->router_skew, "How hot the hot experts are (0 = uniform; default 2)");
    cmd->add_flag("--split-experts", o->split_experts,
                  "Write each expert as its own tensors (blk.N.ffn_gate.E.weight, the older Mixtral layout) "
                  "instead of merged ffn_*_exps");
    cmd->add_flag("--force", o->force, "Overwrite an existing file");
    cmd->callback([o] { run(*o); });
}

const CommandRegistration registration{"make-model", 80, add_make_model_command};

}  // namespace
}  // namespace ferry::app
