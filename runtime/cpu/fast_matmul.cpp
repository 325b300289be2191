#include "cpu/fast_matmul.h"

#include <algorithm>
#include <optional>

#include "base/error.h"
#include "cpu/fast_activations.h"
#include "cpu/fast_kernels.h"
#include "cpu/reference_ops.h"
#include "quant/quant.h"

namespace ferry::cpu {
namespace {

using fast::ActFormat;
using fast::FastType;
using gguf::TensorType;

std::optional<FastType> fast_type(TensorType type) {
    switch (type) {
        case TensorType::Q4_0:
            return FastType::q4_0;
        case TensorType::Q8_0:
            return FastType::q8_0;
        case TensorType::MXFP4:
            return FastType::mxfp4;
        case TensorType::Q4_K:
            return FastType::q4_K;
        case TensorType::Q5_K:
            return FastType::q5_K;
        case TensorType::Q6_K:
            return FastType::q6_K;
        case TensorType::IQ4_XS:
            return FastType::iq4_xs;
        case TensorType::F16:
            return FastType::f16;
        case TensorType::BF16:
            return FastType::bf16;
        default:
            return std::nullopt;
    }
}

ActFormat act_format(FastType type) {
    switch (type) {
        case FastType::q8_0:
            return ActFormat::q8_0;
        case FastType::q4_0:
        case FastType::mxfp4:
            return ActFormat::q8_0_nib;
        case FastType::q4_K:
        case FastType::q5_K:
        case FastType::q6_K:
        case FastType::iq4_xs:
            return ActFormat::q8_K;
        default:
            return ActFormat::f32;
    }
}

// The AVX-512 sets with their gaps filled from the AVX2 set (fast_kernels.h).
fast::KernelSet with_avx2_fallback(const fast::KernelSet& wide) {
    fast::KernelSet set = wide;
    for (int t = 0; t < fast::kFastTypeCount; ++t)
        if (set.dot[t] == nullptr) set.dot[t] = fast::avx2_kernels()->dot[t];
    return set;
}

const fast::KernelSet* kernels_for(CpuPath path) {
    if (!path_supported(path))
        fail("CPU kernel path {} is not supported on this CPU (best here: {})", path_name(path),
             path_name(best_path()));
    switch (path) {
        case CpuPath::scalar:
            return fast::scalar_kernels();
        case CpuPath::avx2:
            return fast::avx2_kernels();
        case CpuPath::avx512: {
            static const fast::KernelSet set = with_avx2_fallback(*fast::avx512_kernels());
            return &set;
        }
        case CpuPath::avx512_vnni: {
            static const fast::KernelSet set = with_avx2_fallback(*fast::avx512_vnni_kernels());
            return &set;
        }
    }
    return nullptr;
}

// Tokens per kernel call: a group's activations stay in L1/L2 while a task's rows stream.
constexpr std::int64_t kTokenGroup = fast::kMaxTokens;

float dot_f32(const float* a, const float* b, std::int64_t n) {
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
    return sum;
}

}  // namespace

bool has_fast_kernel(TensorType type) {
    return fast_type(type).has_value();
}

struct ExpertMatmul::Operand {
    const QuantMatrix* w;
    fast::RowDotFn dot;       // nullptr: dequantize rows, F32 dot
    fast::RowPairDotFn dot2;  // two rows at a time for 2+ tokens; nullptr: dot per row
    ActFormat format;
    std::uint64_t stride;
};

struct ExpertMatmul::Activations {
    const std::uint8_t* data;
    std::size_t stride;  // bytes per token
};

ExpertMatmul::ExpertMatmul(ThreadPool& pool) : ExpertMatmul(pool, selected_path()) {}

ExpertMatmul::ExpertMatmul(ThreadPool& pool, CpuPath path)
    : pool_(&pool),
      path_(path),
      kernels_(kernels_for(path)),
      row_scratch_(static_cast<std::size_t>(pool.size())) {}

ExpertMatmul::Operand ExpertMatmul::operand(const QuantMatrix& w) const {
    check_matrix(w);
    const std::uint64_t stride =
        w.row_stride ? w.row_stride
                     : gguf::row_bytes(gguf::type_traits(w.type), static_cast<std::uint64_t>(w.cols));
    if (const auto t = fast_type(w.type))
        return {&w, kernels_->dot[static_cast<int>(*t)], kernels_->dot2[static_cast<int>(*t)], act_format(*t),
                stride};
    return {&w, nullptr, nullptr, ActFormat::f32, stride};
}

ExpertMatmul::Activations ExpertMatmul::prepare(const Operand& op, const float* x, std::int64_t n_tokens,
                                                std::vector<std::uint8_t>& buffer) {
    const std::int64_t cols = op.w->cols;
    if (op.format == ActFormat::f32)
        return {reinterpret_cast<const std::uint8_t*>(x), static_cast<std::size_t>(cols) * sizeof(float)};
    // Rows start on cache lines (a kernel's 32- and 64-byte loads never straddle two) and,
    // for a batch, not a multiple of 4 KiB apart (the tokens' rows would share L1 sets).
    constexpr std::size_t kLine = 64;
    std::size_t stride = (fast::act_row_bytes(op.format, cols) + kLine - 1) / kLine * kLine;
    if (stride % 4096 == 0) stride += kLine;
    buffer.resize(stride * static_cast<std::size_t>(n_tokens) + kLine);
    std::uint8_t* base =
        buffer.data() + (kLine - reinterpret_cast<std::uintptr_t>(buffer.data()) % kLine) % kLine;
    for (std::int64_t t = 0; t < n_tokens; ++t)
        fast::quantize_activations(op.format, x + t * cols, cols,
                                   base + static_cast<std::size_t>(t) * stride);
    return {base, stride};
}

void ExpertMatmul::rows(const Operand& op, const Activations& act, std::int64_t n_tokens, std::int64_t r0,
                        std::int64_t r1, float* y, int thread) {
    const QuantMatrix& w = *op.w;
    const auto* base = static_cast<const std::uint8_t*>(w.data);
    const auto out_stride = static_cast<std::size_t>(w.rows);
    if (op.dot) {
        for (std::int64_t t0 = 0; t0 < n_tokens; t0 += kTokenGroup) {
            const int nt = static_cast<int>(std::min(kTokenGroup, n_tokens - t0));
            const std::uint8_t* a = act.data + static_cast<std::size_t>(t0) * act.stride;
            float* out = y + static_cast<std::size_t>(t0) * out_stride;
            std::int64_t r = r0;
            if (op.dot2 && nt >= 2)
                for (; r + 2 <= r1; r += 2)
                    op.dot2(w.cols, base + static_cast<std::uint64_t>(r) * op.stride, op.stride, a,
                            act.stride, nt, out + r, out_stride);
            for (; r < r1; ++r)
                op.dot(w.cols, base + static_cast<std::uint64_t>(r) * op.stride, a, act.stride, nt, out + r,
                       out_stride);
        }
        return;
    }
    std::vector<float>& row = row_scratch_[static_cast<std::size_t>(thread)];
    row.resize(static_cast<std::size_t>(w.cols));
    for (std::int64_t r = r0; r < r1; ++r) {
        quant::dequantize_row(w.type, base + static_cast<std::uint64_t>(r) * op.stride, row.data(), w.cols);
        for (std::int64_t t = 0; t < n_tokens; ++t) {
            const auto* x =
                reinterpret_cast<const float*>(act.data + static_cast<std::size_t>(t) * act.stride);
            y[static_cast<std::size_t>(t) * out_stride + static_cast<std::size_t>(r)] =
                dot_f32(row.data(), x, w.cols);
        }
    }
}

std::int64_t ExpertMatmul::rows_per_task(std::int64_t rows) const {
    // About four tasks per thread so a thread slowed by other work does not hold up the rest.
    const std::int64_t tasks = 4 * static_cast<std::int64_t>(pool_->size());
    const std::int64_t chunk = (rows + tasks - 1) / tasks;
    return std::max<std::int64_t>(8, (chunk + 3) / 4 * 4);
}

void ExpertMatmul::matmul(const QuantMatrix& w, std::span<const float> x, std::int64_t n_tokens,
                          std::span<float> y) {
    const Operand op = operand(w);
    if (n_tokens <= 0) fail("cpu matmul: token count {} must be positive", n_tokens);
    if (x.size() != static_cast<std::size_t>(n_tokens * w.cols))
        fail("cpu matmul: input has {} floats, expected {} tokens x {} columns", x.size(), n_tokens, w.cols);
    if (y.size() != static_cast<std::size_t>(n_tokens * w.rows))
        fail("cpu matmul: output has {} floats, expected {} tokens x {} rows", y.size(), n_tokens, w.rows);
    const Activations act = prepare(op, x.data(), n_tokens, act_a_);
    const std::int64_t chunk = rows_per_task(w.rows);
    pool_->run((w.rows + chunk - 1) / chunk, [&](std::int64_t task, int thread) {
        const std::int64_t r0 = task * chunk;
        rows(op, act, n_tokens, r0, std::min(w.rows, r0 + chunk), y.data(), thread);
    });
}

void ExpertMatmul::expert_ffn(const QuantMatrix& gate, const QuantMatrix& up, const QuantMatrix& down,
                              std::span<const float> x, std::int64_t n_tokens, std::span<float> out) {
    const Operand g = operand(gate), u = operand(up), d = operand(down);
    const std::int64_t n_embd = gate.cols, n_ff = gate.rows;
    if (up.rows != n_ff || up.cols != n_embd || down.cols != n_ff)
        fail(
            "expert ffn: shapes do not chain: gate [{}, {}], up [{}, {}], down [{}, {}] (want gate = up = "
            "[n_ff, n_embd], down = [n_out, n_ff])",
            gate.rows, gate.cols, up.rows, up.cols, down.rows, down.cols);
    if (n_tokens <= 0) fail("expert ffn: token count {} must be positive", n_tokens);
    if (x.size() != static_cast<std::size_t>(n_tokens * n_embd))
        fail("expert ffn: input has {} floats, expected {} tokens x {}", x.size(), n_tokens, n_embd);
    if (out.size() != static_cast<std::size_t>(n_tokens * down.rows))
        fail("expert ffn: output has {} floats, expected {} tokens x {}", out.size(), n_tokens, down.rows);

    const Activations act_g = prepare(g, x.data(), n_tokens, act_a_);
    const Activations act_u = u.format == g.format ? act_g : prepare(u, x.data(), n_tokens, act_b_);
    const auto n_hidden = static_cast<std::size_t>(n_tokens * n_ff);
    gate_out_.resize(n_hidden);
    up_out_.resize(n_hidden);
    hidden_.resize(n_hidden);
    const std::int64_t chunk = rows_per_task(n_ff);
    pool_->run((n_ff + chunk - 1) / chunk, [&](std::int64_t task, int thread) {
        const std::int64_t r0 = task * chunk, r1 = std::min(n_ff, r0 + chunk);
        rows(g, act_g, n_tokens, r0, r1, gate_out_.data(), thread);
        rows(u, act_u, n_tokens, r0, r1, up_out_.data(), thread);
        for (std::int64_t t = 0; t < n_tokens; ++t)
            for (std::int64_t r = r0; r < r1; ++r) {
                const auto i = static_cast<std::size_t>(t * n_ff + r);
                hidden_[i] = silu(gate_out_[i]) * up_out_[i];
            }
    });

    const Activations act_d = prepare(d, hidden_.data(), n_tokens, act_b_);
    const std::int64_t chunk_d = rows_per_task(down.rows);
    pool_->run((down.rows + chunk_d - 1) / chunk_d, [&](std::int64_t task, int thread) {
        const std::int64_t r0 = task * chunk_d;
        rows(d, act_d, n_tokens, r0, std::min(down.rows, r0 + chunk_d), out.data(), thread);
    });
}

}  // namespace ferry::cpu
