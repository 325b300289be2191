#pragma once
// What run, chat, perplexity and bench share: the options that pick a model, a device and
// a budget, and one object that opens the GGUF, creates the Vulkan device, uploads the
// weights (with a progress bar) and builds the tokenizer.
#include "gguf/reader.h"
#include "model/gpu_model.h"
#include "text/tokenizer.h"
#include "vk/device.h"
#include "vk/instance.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace ferry::app {

struct ModelOptions {
    std::string model_path;
    std::uint32_t ctx = 4096;
    std::uint32_t batch = 64;
    std::optional<std::uint32_t> device;
    std::string vram_budget;  // "6G"; empty: the device's budget less a margin
    std::string cache_policy = "lru";
    std::string predictor = "gate";
    std::string prefetch = "auto";  // auto: on where copies can overlap compute (a separate transfer queue)
    std::string miss_policy = "copy";
    bool cpu_moe = false;
    int threads = 0;
    bool mlock = false;
    bool no_mmap = false;
};

// -m/--model, -c/--ctx, -b/--batch-size, --device, --vram-budget, and the offload options.
void add_model_options(CLI::App* cmd, ModelOptions& options);

class ModelSession {
public:
    explicit ModelSession(const ModelOptions& options);
    ~ModelSession();

    const gguf::File& file() const { return *file_; }
    vk::Device& device() { return *device_; }
    model::GpuModel& model() { return *model_; }
    const text::Tokenizer& tokenizer() const { return *tokenizer_; }
    double load_seconds() const { return load_seconds_; }

private:
    std::unique_ptr<gguf::File> file_;
    std::unique_ptr<vk::Instance> instance_;
    std::unique_ptr<vk::Device> device_;
    std::unique_ptr<text::Tokenizer> tokenizer_;
    std::unique_ptr<offload::ExpertSource> experts_;  // offloading only; outlives model_
    std::unique_ptr<model::GpuModel> model_;
    double load_seconds_ = 0;
};

}  // namespace ferry::app
