#include "app/trace_out.h"

#include "base/error.h"
#include "scheduler/trace.h"

#include <numeric>
#include <vector>

namespace ferry::app {

TraceRecorder::TraceRecorder(const std::string& path, model::GpuModel& model, const std::string& model_name)
    : out_(path), model_(model) {
    if (!out_) fail("cannot write the routing trace to {}", path);
    const model::ModelConfig& c = model.config();
    scheduler::TraceInfo info;
    info.model = model_name;
    info.n_experts = c.n_experts;
    info.top_k = c.n_experts_used;
    info.layers.resize(c.n_moe_layers());  // the expert engine's layers (Llama 4: every other)
    std::iota(info.layers.begin(), info.layers.end(), 0u);
    info.cross_layer = info.layers;  // every layer of every token is recorded
    writer_ = std::make_unique<scheduler::TraceWriter>(out_, info);
    model.set_route_observer(
        [this](std::uint32_t layer, std::uint32_t position, const cpu::RouterChoice& choice) {
            std::vector<scheduler::Choice> chosen(choice.experts.size());
            for (std::size_t k = 0; k < chosen.size(); ++k)
                chosen[k] = {std::uint32_t(choice.experts[k]), choice.weights[k]};
            const auto it = predicted_.find({position, layer});
            if (it == predicted_.end()) {
                writer_->write({position, layer, chosen});
            } else {
                writer_->write({position, layer, chosen}, it->second);
                predicted_.erase(it);
            }
            ++events_;
        });
    model.set_prediction_observer(
        [this](std::uint32_t layer, std::uint32_t position, std::span<const std::uint32_t> experts) {
            predicted_[{position, layer}].assign(experts.begin(), experts.end());
        });
}

TraceRecorder::~TraceRecorder() {
    model_.set_route_observer({});
    model_.set_prediction_observer({});
    out_.flush();
}

}  // namespace ferry::app
