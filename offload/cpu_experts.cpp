#include "offload/cpu_experts.h"

#include "base/error.h"
#include "cpu/elementwise.h"
#include "cpu/reference_ops.h"
#include "quant/quant.h"

#include <algorithm>
#include <numeric>

namespace ferry::offload {

namespace {

// One expert's matrix of `part` (rows [first_row, first_row + rows) of it) as a CPU matrix.
cpu::QuantMatrix expert_matrix(const gguf::File& file, const ExpertPart& part, std::uint32_t expert,
                               std::uint32_t first_row, std::uint32_t rows) {
    cpu::QuantMatrix m;
    m.type = part.type;
    m.cols = part.cols;
    m.rows = rows;
    const std::uint64_t row_bytes = gguf::row_bytes(gguf::type_traits(part.type), part.cols);
    m.data = file.bytes().data() + part.file_offsets[expert] + first_row * row_bytes;
    return m;
}

}  // namespace

ExpertFfnMatrices expert_ffn_matrices(const gguf::File& file, const ExpertLayer& layer, std::uint32_t e,
                                      std::uint32_t n_embd) {
    const std::uint32_t F = layer.n_ff;
    if (layer.kind == ExpertFfnKind::FusedGateUpDown)
        return {expert_matrix(file, layer.parts[0], e, 0, F), expert_matrix(file, layer.parts[0], e, F, F),
                expert_matrix(file, layer.parts[1], e, 0, n_embd)};
    return {expert_matrix(file, layer.parts[0], e, 0, F), expert_matrix(file, layer.parts[1], e, 0, F),
            expert_matrix(file, layer.parts[2], e, 0, n_embd)};
}

void expert_activation(ExpertActivation kind, std::span<const float> gate, std::span<const float> up,
                       std::span<float> out) {
    switch (kind) {
        case ExpertActivation::SiLU:
            return cpu::swiglu(gate, up, out);
        case ExpertActivation::GeluTanh:
            return cpu::geglu(gate, up, out);
        case ExpertActivation::SwiGluOai:
            return cpu::swiglu_oai(gate, up, out);
    }
}

CpuExperts::CpuExperts(const gguf::File& file, const ExpertLayout& layout, cpu::ThreadPool& pool)
    : n_embd_(layout.n_embd),
      n_experts_(layout.n_experts),
      n_experts_used_(layout.top_k),
      matmul_(pool),
      activation_(layout.activation) {
    if (n_experts_ == 0 || n_embd_ == 0 || layout.layers.empty())
        fail("{}: the model has no routed experts to compute on the CPU", file.name());
    for (const ExpertLayer& layer : layout.layers) {
        for (const ExpertPart& p : layer.parts)
            if (!quant::can_dequantize(p.type))
                fail("{}: tensor {} has type {}, which ferry cannot run on the CPU yet", file.name(), p.name,
                     gguf::type_name(p.type));
        Layer L;
        L.bytes = layer.expert_bytes();
        L.biases = layer.biases;
        L.n_ff = layer.n_ff;
        for (std::uint32_t e = 0; e < n_experts_; ++e) {
            const ExpertFfnMatrices x = expert_ffn_matrices(file, layer, e, n_embd_);
            for (const cpu::QuantMatrix* m : {&x.gate, &x.up, &x.down}) cpu::check_matrix(*m);
            L.experts.push_back(x);
        }
        layers_.push_back(std::move(L));
    }
}

std::uint64_t CpuExperts::expert_bytes(std::uint32_t layer) const {
    if (layer >= layers_.size())
        fail("cpu experts: layer {} is out of range (0..{})", layer, layers_.size() - 1);
    return layers_[layer].bytes;
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
        expert_ffn(L, e, rows);
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

void CpuExperts::expert_ffn(const Layer& L, std::uint32_t e, std::size_t rows) {
    const ExpertFfnMatrices& m = L.experts[e];
    if (activation_ == ExpertActivation::SiLU && !L.biases) {
        matmul_.expert_ffn(m.gate, m.up, m.down, x_, std::int64_t(rows), y_);
        return;
    }
    const std::size_t F = L.n_ff, E = n_embd_;
    gate_.resize(rows * F);
    up_.resize(rows * F);
    act_.resize(rows * F);
    matmul_.matmul(m.gate, x_, std::int64_t(rows), gate_);
    matmul_.matmul(m.up, x_, std::int64_t(rows), up_);
    for (std::size_t i = 0; i < rows; ++i) {
        const std::span<float> g(gate_.data() + i * F, F), u(up_.data() + i * F, F);
        if (L.biases) {
            cpu::add_row(g, {L.biases.gate + e * F, F});
            cpu::add_row(u, {L.biases.up + e * F, F});
        }
        expert_activation(activation_, g, u, {act_.data() + i * F, F});
    }
    matmul_.matmul(m.down, act_, std::int64_t(rows), y_);
    if (L.biases)
        for (std::size_t i = 0; i < rows; ++i) cpu::add_row({y_.data() + i * E, E}, {L.biases.down + e * E, E});
}

}  // namespace ferry::offload
