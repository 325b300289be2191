#include "model/cpu_experts.h"

#include "base/error.h"
#include "quant/quant.h"

#include <algorithm>
#include <numeric>

namespace ferry::model {

namespace {

// Expert e's rows of a 3-D expert tensor viewed as a matrix: a contiguous byte range.
cpu::QuantMatrix expert_slice(const cpu::QuantMatrix& all, std::uint32_t expert, std::uint32_t rows) {
    cpu::QuantMatrix m = all;
    const std::uint64_t row_bytes = gguf::row_bytes(gguf::type_traits(all.type), std::uint64_t(all.cols));
    m.rows = rows;
    m.data = static_cast<const std::byte*>(all.data) + std::uint64_t(expert) * rows * row_bytes;
    return m;
}

// The whole tensor [cols, rows, n_experts] (ggml order) as one matrix of n_experts * rows rows.
cpu::QuantMatrix expert_tensor(const gguf::File& file, const std::string& name, std::uint64_t cols,
                               std::uint64_t rows, std::uint64_t n_experts) {
    const gguf::TensorInfo* t = file.find_tensor(name);
    if (!t) fail("{}: tensor {} is missing", file.name(), name);
    if (t->dims.size() != 3 || t->dim(0) != cols || t->dim(1) != rows || t->dim(2) != n_experts)
        fail("{}: tensor {} should have shape [{}, {}, {}]", file.name(), name, cols, rows, n_experts);
    if (!quant::can_dequantize(t->type))
        fail("{}: tensor {} has type {}, which ferry cannot run on the CPU yet", file.name(), name,
             gguf::type_name(t->type));
    cpu::QuantMatrix m;
    m.type = t->type;
    m.data = file.tensor_data(*t).data();
    m.cols = std::int64_t(cols);
    m.rows = std::int64_t(rows * n_experts);
    cpu::check_matrix(m);
    return m;
}

}  // namespace

CpuExperts::CpuExperts(const gguf::File& file, const ModelConfig& config, cpu::ThreadPool& pool)
    : n_embd_(config.n_embd),
      n_ff_(config.n_ff_expert),
      n_experts_(config.n_experts),
      n_experts_used_(config.n_experts_used),
      matmul_(pool) {
    // expert_ffn is SwiGLU only; a GeGLU path would need its own fused kernel.
    if (config.traits.activation != Activation::SwiGLU)
        fail(
            "{}: architecture {} uses GeGLU experts, which ferry cannot compute on the CPU yet; "
            "copy missing experts to the GPU instead (miss policy 'copy')",
            file.name(), config.architecture);
    if (n_experts_ == 0 || n_ff_ == 0 || n_embd_ == 0)
        fail("{}: the model has no routed experts to compute on the CPU", file.name());
    layers_.reserve(config.n_layers);
    for (std::uint32_t l = 0; l < config.n_layers; ++l) layers_.push_back(layer_weights(file, l));
}

CpuExperts::Layer CpuExperts::layer_weights(const gguf::File& file, std::uint32_t l) const {
    Layer L;
    L.gate = expert_tensor(file, layer_tensor(l, "ffn_gate_exps.weight"), n_embd_, n_ff_, n_experts_);
    L.up = expert_tensor(file, layer_tensor(l, "ffn_up_exps.weight"), n_embd_, n_ff_, n_experts_);
    L.down = expert_tensor(file, layer_tensor(l, "ffn_down_exps.weight"), n_ff_, n_embd_, n_experts_);
    return L;
}

std::uint64_t CpuExperts::expert_bytes(std::uint32_t layer) const {
    if (layer >= layers_.size())
        fail("cpu experts: layer {} is out of range (0..{})", layer, layers_.size() - 1);
    const Layer& L = layers_[layer];
    auto bytes = [](const cpu::QuantMatrix& m, std::uint32_t rows) {
        return rows * gguf::row_bytes(gguf::type_traits(m.type), std::uint64_t(m.cols));
    };
    return bytes(L.gate, n_ff_) + bytes(L.up, n_ff_) + bytes(L.down, n_embd_);
}

void CpuExperts::check_routes(std::uint32_t layer, std::span<const float> h, std::uint32_t n_tokens,
                              std::span<const ExpertRoute> routes, std::span<float> out) const {
    if (layer >= layers_.size())
        fail("cpu experts: layer {} is out of range (0..{})", layer, layers_.size() - 1);
    const std::size_t n = std::size_t(n_tokens) * n_embd_;
    if (h.size() != n || out.size() != n)
        fail("cpu experts: h has {} floats and out {}, expected {} tokens x {} = {}", h.size(), out.size(),
             n_tokens, n_embd_, n);
    for (const ExpertRoute& r : routes)
        if (r.token >= n_tokens || r.expert >= n_experts_)
            fail("cpu experts: route (token {}, expert {}) is outside {} tokens x {} experts", r.token,
                 r.expert, n_tokens, n_experts_);
}

void CpuExperts::add_experts(std::uint32_t layer, std::span<const float> h, std::uint32_t n_tokens,
                             std::span<const ExpertRoute> routes, std::span<float> out) {
    check_routes(layer, h, n_tokens, routes, out);
    const Layer& L = layers_[layer];
    const std::size_t d = n_embd_;

    // Group the routes by expert (ascending), keeping route order within an expert.
    order_.resize(routes.size());
    std::iota(order_.begin(), order_.end(), 0u);
    std::stable_sort(order_.begin(), order_.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return routes[a].expert < routes[b].expert; });

    for (std::size_t begin = 0; begin < order_.size();) {
        const std::uint32_t e = routes[order_[begin]].expert;
        std::size_t end = begin;
        while (end < order_.size() && routes[order_[end]].expert == e) ++end;
        const std::size_t rows = end - begin;

        // x_: [rows, n_embd] the h rows of this expert's tokens, contiguous for expert_ffn.
        x_.resize(rows * d);
        y_.resize(rows * d);
        for (std::size_t i = 0; i < rows; ++i) {
            const std::uint32_t t = routes[order_[begin + i]].token;
            std::copy_n(h.begin() + std::ptrdiff_t(t * d), d, x_.begin() + std::ptrdiff_t(i * d));
        }
        matmul_.expert_ffn(expert_slice(L.gate, e, n_ff_), expert_slice(L.up, e, n_ff_),
                           expert_slice(L.down, e, n_embd_), x_, std::int64_t(rows), y_);
        // out[t, :] += weight · y_[i, :]
        for (std::size_t i = 0; i < rows; ++i) {
            const ExpertRoute& r = routes[order_[begin + i]];
            float* o = out.data() + std::size_t(r.token) * d;
            const float* y = y_.data() + i * d;
            for (std::size_t c = 0; c < d; ++c) o[c] += r.weight * y[c];
        }
        begin = end;
    }
}

}  // namespace ferry::model
