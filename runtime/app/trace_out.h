#pragma once
// --trace-out FILE: records every router decision of a run in ferry's compact routing-trace
// layout (scheduler/trace.h), which `ferry simulate --trace FILE` replays.
#include "model/gpu_model.h"

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ferry::scheduler {
class TraceWriter;
}

namespace ferry::app {

class TraceRecorder {
public:
    // Opens `path` and attaches to the model's route observer; throws ferry::Error when the
    // file cannot be written.
    TraceRecorder(const std::string& path, model::GpuModel& model, const std::string& model_name);
    ~TraceRecorder();

    std::uint64_t events() const { return events_; }

private:
    std::ofstream out_;
    std::unique_ptr<scheduler::TraceWriter> writer_;
    model::GpuModel& model_;
    std::uint64_t events_ = 0;
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::vector<std::uint32_t>>
        predicted_;  // (position, layer)
};

}  // namespace ferry::app
