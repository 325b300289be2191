// ferry info M.gguf: what the file holds and what a VRAM budget would hold of it. Reads
// only the header and tensor table (mmapped), so it is instant on a 17 GB model and needs
// no GPU.
#include "app/command_registry.h"
#include "base/error.h"
#include "base/units.h"
#include "gguf/reader.h"
#include "model/config.h"
#include "model/gpu_model.h"
#include "model/summary.h"

#include <fmt/core.h>

#include <memory>
#include <optional>
#include <string>

namespace ferry::app {
namespace {

struct InfoOptions {
    std::string model;
    std::string model_flag;
    std::string vram_budget;
    std::string work_reserve;
    std::uint32_t ctx = 4096;
    bool json = false;
};

// The model's configuration when ferry can run it; nullopt for the others (their work
// reserve is the summary's shape-based estimate).
std::optional<model::ModelConfig> runnable_config(const gguf::File& file) {
    try {
        model::ModelConfig config = model::read_config(file);
        model::require_runnable(config, file);
        return config;
    } catch (const Error&) {
        return std::nullopt;
    }
}

void run(const InfoOptions& o) {
    if (!o.model.empty() && !o.model_flag.empty() && o.model != o.model_flag)
        fail("info: two different models given ({} and -m {}); pass one", o.model, o.model_flag);
    const std::string path = o.model.empty() ? o.model_flag : o.model;
    if (path.empty()) fail("info: no model given; usage: ferry info M.gguf [--vram-budget 6G] [--ctx 4096]");
    if (o.ctx == 0) fail("info: --ctx must be at least 1");

    const gguf::File file = gguf::File::open(path);
    const model::ModelSummary summary = model::summarize(file);
    std::optional<model::BudgetPlan> plan;
    if (!o.vram_budget.empty()) {
        model::BudgetRequest request;
        request.vram_budget = parse_byte_size(o.vram_budget);
        request.ctx = o.ctx;
        if (!o.work_reserve.empty()) {
            request.work_reserve = parse_byte_size(o.work_reserve);
        } else if (const auto config = runnable_config(file)) {
            // What `ferry run` would allocate (default batch, a discrete GPU's host memory not
            // counted, offload tables and ring included): the same figure run plans with.
            request.work_reserve =
                model::work_buffer_bytes(*config, 64, false, summary.experts.expert_bytes_max);
        }
        plan = model::plan_budget(summary, request);
    }
    fmt::print("{}",
               o.json ? model::summary_json(summary, plan) + "\n" : model::format_summary(summary, plan));
}

void add_info_command(CLI::App& parent) {
    auto o = std::make_shared<InfoOptions>();
    CLI::App* cmd = parent.add_subcommand("info",
                                          "Show a GGUF model's architecture, sizes and experts, and what a "
                                          "VRAM budget would hold (no GPU needed)");
    cmd->add_option("model", o->model, "GGUF file");
    cmd->add_option("-m,--model", o->model_flag, "GGUF file (same as the positional argument)");
    cmd->add_option("--vram-budget", o->vram_budget,
                    "Show what this much VRAM would hold (e.g. 6G, 5.5GiB, 800M)");
    cmd->add_option("--ctx", o->ctx, "Context length for the KV cache in the budget")->capture_default_str();
    cmd->add_option("--work-reserve", o->work_reserve,
                    "VRAM kept for work buffers (default: estimated from the shape)");
    cmd->add_flag("--json", o->json, "Machine-readable output");
    cmd->callback([o] { run(*o); });
}

const CommandRegistration registration{"info", 10, add_info_command};

}  // namespace
}  // namespace ferry::app
