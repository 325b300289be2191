#include "app/model_session.h"

#include "base/error.h"
#include "base/progress.h"
#include "base/units.h"
#include "model/summary.h"
#include "scheduler/error.h"
#include "scheduler/policy.h"
#include "scheduler/predictor.h"
#include "text/gguf_vocab.h"

#include <fmt/core.h>

#include <chrono>

namespace ferry::app {

void add_model_options(CLI::App* cmd, ModelOptions& o) {
    cmd->add_option("-m,--model", o.model_path, "GGUF model file")->required();
    cmd->add_option("-c,--ctx", o.ctx, "Context length in tokens (KV cache size)")->capture_default_str();
    cmd->add_option("-b,--batch-size", o.batch, "Tokens per prefill batch")->capture_default_str();
    cmd->add_option("--device", o.device, "Vulkan device index (see `ferry devices`)");
    cmd->add_option(
        "--vram-budget", o.vram_budget,
        "Most device memory ferry may use, e.g. 6G, 5.5GiB, 800M (default: the device's budget less a "
        "safety margin)");
    cmd->add_option("--cache-policy", o.cache_policy,
                    "Which cached expert to evict when the VRAM budget cannot hold every expert")
        ->check(CLI::IsMember(scheduler::policy_names()))
        ->capture_default_str();
    cmd->add_option(
           "--prefetch", o.prefetch,
           "When offloading, predict the next layer's experts with its router and copy them in ahead "
           "of use: on, off, or auto (on where the device has a separate transfer queue, so the "
           "copies overlap compute; measured slower where they cannot)")
        ->check(CLI::IsMember({"auto", "on", "off"}))
        ->capture_default_str();
    cmd->add_option(
           "--predictor", o.predictor,
           "What predicts the experts to prefetch: gate (the next layer's router on this layer's "
           "hidden state, on the GPU), repeat, transition, popularity, or a mix like gate+repeat*0.5 "
           "(the specs of `ferry simulate`)")
        ->capture_default_str();
    cmd->add_option("--miss-policy", o.miss_policy,
                    "An expert that is not in VRAM: copy (copy it in; output identical to a resident run), "
                    "cpu (compute it on the CPU while the GPU computes the cached ones), auto (a cost model "
                    "from measured rates places each expert per layer, cached ones too where the CPU is "
                    "faster; cpu and auto agree with copy within rounding)")
        ->check(CLI::IsMember({"copy", "cpu", "auto"}))
        ->capture_default_str();
    cmd->add_flag("--cpu-moe", o.cpu_moe,
                  "Every routed expert on the CPU, none in VRAM (the baseline other tools offer)");
    cmd->add_option("-t,--threads", o.threads, "CPU threads for experts computed on the CPU (0: every core)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    cmd->add_flag("--mlock", o.mlock, "Lock the experts' pages of the model file in RAM (never paged out)");
    cmd->add_flag("--no-mmap", o.no_mmap,
                  "Read the experts into ferry's own memory instead of mapping the file (imported for "
                  "copy-free uploads where the driver allows)");
}

ModelSession::ModelSession(const ModelOptions& o) {
    const auto start = std::chrono::steady_clock::now();
    file_ = std::make_unique<gguf::File>(gguf::File::open(o.model_path));
    tokenizer_ = std::make_unique<text::Tokenizer>(text::vocabulary_from_gguf(*file_));
    instance_ = std::make_unique<vk::Instance>();
    vk::DeviceOptions device_options;
    device_options.index = o.device;
    if (!o.vram_budget.empty()) device_options.vram_budget = parse_byte_size(o.vram_budget);
    device_options.apply_env();
    device_ = std::make_unique<vk::Device>(*instance_, device_options);
    fmt::print(stderr, "ferry: {} on {} (VRAM budget {})\n", o.model_path, device_->info().name,
               format_bytes(device_->accountant().budget()));
    const model::ModelConfig config = model::read_config(*file_);
    model::require_runnable(config, *file_);
    // Dense weights, the KV cache and work buffers must fit; routed experts that do not stay
    // in the mapped file and are copied into per-layer VRAM slots when the router picks them.
    // The slot arithmetic is the planner's, the same `ferry info --vram-budget` prints.
    const model::ModelSummary summary = model::summarize(*file_);
    const std::uint64_t budget = device_->accountant().budget();
    // Host-visible buffers count against the budget where they are device-local (integrated
    // GPUs, lavapipe): ask the device with a probe allocation.
    const bool host_counts = vk::Buffer(*device_, 16, vk::MemoryKind::Staging, "probe").counted_bytes() > 0;
    const std::uint64_t max_pool = model::GpuModel::max_pool_bytes(*device_);  // a layer's pool: one binding
    auto plan_for = [&](std::uint64_t offload_expert_bytes) {
        return model::plan_budget(summary, {.vram_budget = budget,
                                            .ctx = o.ctx,
                                            .batch = o.batch,
                                            .work_reserve = model::work_buffer_bytes(
                                                config, o.batch, host_counts, offload_expert_bytes),
                                            .max_pool_bytes = max_pool});
    };
    model::BudgetPlan plan = plan_for(0);
    if (o.cpu_moe || !plan.fits || plan.slots_total < summary.experts.total_experts)
        plan = plan_for(summary.experts.expert_bytes_max);  // offloading: its tables and upload ring too
    if (!plan.fits && plan.missing == 0) fail("{}: {}", o.model_path, plan.advice);  // not a budget matter
    if (!plan.fits)
        fail("{} needs at least {} of VRAM ({})", o.model_path, format_bytes(budget + plan.missing),
             plan.advice);
    try {  // a bad --predictor is the user's error, whether or not prefetch ends up on
        scheduler::make_predictor(o.predictor, {.n_layers = config.n_moe_layers(),
                                                .n_experts = config.n_experts,
                                                .top_k = config.n_experts_used,
                                                .cross_layer = std::vector<bool>(config.n_moe_layers(), true)});
    } catch (const scheduler::Error& e) {
        fail("--predictor: {}", e.what());
    }
    if (o.mlock && o.no_mmap)
        fail("--mlock and --no-mmap exclude each other (--no-mmap keeps experts in RAM)");
    const bool all_resident = plan.slots_total >= summary.experts.total_experts && !o.cpu_moe;
    const std::uint32_t slots =
        all_resident ? 0 : std::uint32_t(std::min<std::uint64_t>(plan.slots_per_layer, config.n_experts - 1));
    if (o.cpu_moe)
        fmt::print(stderr, "ferry: every routed expert runs on the CPU (--cpu-moe)\n");
    else if (slots)
        fmt::print(
            stderr,
            "ferry: {} of {} experts per layer in VRAM ({:.0f}%){}; the rest are copied in on demand\n",
            slots, config.n_experts, 100.0 * slots / config.n_experts,
            plan.capped_by_binding ? fmt::format(" (as many as one {} buffer binding of this device holds)",
                                                 format_bytes(max_pool))
                                   : std::string());
    const std::uint64_t all_weights = model::weight_bytes(*file_, config);
    const std::uint64_t experts = model::expert_weight_bytes(*file_, config);
    if (slots) {
        offload::ExpertSourceOptions source_options;
        source_options.tier = o.no_mmap ? offload::HostTier::NoMmap
                              : o.mlock ? offload::HostTier::Mlock
                                        : offload::HostTier::Mmap;
        std::unique_ptr<ProgressBar> reading;
        if (source_options.tier != offload::HostTier::Mmap)
            reading =
                std::make_unique<ProgressBar>(o.no_mmap ? "reading experts" : "locking experts", experts);
        experts_ = std::make_unique<offload::ExpertSource>(*file_, model::expert_layout(*file_, config),
                                                           device_.get(), source_options,
                                                           [&](std::uint64_t done, std::uint64_t) {
                                                               if (reading) reading->set(done);
                                                           });
        if (reading) reading->finish();
    }
    ProgressBar bar("loading", slots ? all_weights - experts : all_weights);
    model_ = std::make_unique<model::GpuModel>(
        *device_, *file_,
        model::GpuModelOptions{.n_ctx = o.ctx,
                               .max_batch = o.batch,
                               .expert_slots = slots,
                               .cache_policy = o.cache_policy,
                               .prefetch = o.prefetch == "on" ||
                                           (o.prefetch == "auto" && device_->has_separate_transfer_queue()),
                               .predictor = o.predictor,
                               .miss_policy = offload::parse_miss_policy(o.miss_policy),
                               .cpu_moe = o.cpu_moe,
                               .threads = o.threads,
                               .expert_source = experts_.get(),
                               .route_override = {}},
        [&](std::uint64_t done, std::uint64_t) { bar.set(done); });
    bar.finish();
    load_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

ModelSession::~ModelSession() {
    model_.reset();  // device objects go before the device
    experts_.reset();
    device_.reset();
}

}  // namespace ferry::app
