#include "cpu/fast_activations.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/fast_block_helpers.h"
#include "quant/blocks.h"
#include "quant/half.h"

namespace ferry::cpu::fast {
namespace {

using namespace ferry::quant;

void to_q8_0(const float* x, std::int64_t cols, std::int8_t* qs, float* scales) {
    for (std::int64_t i = 0; i < cols / kQK; ++i, x += kQK, qs += kQK) {
        float amax = 0.0f;
        for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        scales[i] = fp16_to_fp32(fp32_to_fp16(d));
        for (int j = 0; j < kQK; ++j) qs[j] = static_cast<std::int8_t>(std::lrintf(x[j] * id));
    }
}

void to_q8_K(const float* x, std::int64_t cols, BlockQ8_K* y) {
    for (std::int64_t i = 0; i < cols / kQKK; ++i, x += kQKK) {
        float max = 0.0f, amax = 0.0f;
        for (int j = 0; j < kQKK; ++j) {
            const float ax = std::fabs(x[j]);
            if (ax > amax) {
                amax = ax;
                max = x[j];
            }
        }
        if (amax == 0.0f) {
            std::memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < kQKK; ++j)
            y[i].qs[j] = static_cast<std::int8_t>(std::min(127L, std::lrintf(iscale * x[j])));
        for (int g = 0; g < kQKK / 16; ++g) {
            int sum = 0;
            for (int j = 0; j < 16; ++j) sum += y[i].qs[16 * g + j];
            y[i].bsums[g] = static_cast<std::int16_t>(sum);
        }
        y[i].d = 1.0f / iscale;
    }
}

// q8_0 values reordered for nibble-packed weights (fast_block_helpers.h Q8_0NibRow).
void to_q8_0_nib(const float* x, std::int64_t cols, void* dst) {
    const std::int64_t nb = cols / kQK, groups = nb / 4;
    auto* qs = static_cast<std::int8_t*>(dst);
    auto* d = reinterpret_cast<float*>(qs + cols);
    float* d16 = d + nb;
    auto* neg_sums = reinterpret_cast<std::int32_t*>(d16 + 16 * groups);
    std::int8_t block[kQK];
    for (std::int64_t i = 0; i < nb; ++i) {
        to_q8_0(x + kQK * i, kQK, block, d + i);
        for (int e = 0; e < kQK; ++e) qs[nib_pos(i, e, groups)] = block[e];
    }
    for (std::int64_t g = 0; g < groups; ++g)
        for (int k = 0; k < 16; ++k) {
            d16[16 * g + k] = d[4 * g + k / 4];
            int sum = 0;
            for (int j = 0; j < 4; ++j) sum += qs[128 * g + 4 * k + j] + qs[128 * g + 64 + 4 * k + j];
            neg_sums[16 * g + k] = -sum;
        }
}

}  // namespace

std::size_t act_row_bytes(ActFormat format, std::int64_t cols) {
    const auto n = static_cast<std::size_t>(cols);
    switch (format) {
        case ActFormat::f32:
            return n * sizeof(float);
        case ActFormat::q8_0:
            return n + n / kQK * sizeof(float);
        case ActFormat::q8_K:
            return n / kQKK * sizeof(BlockQ8_K);
        case ActFormat::q8_0_nib:
            return n + n / kQK * sizeof(float) + n / (4 * kQK) * 16 * (sizeof(float) + sizeof(std::int32_t));
    }
    return 0;
}

void quantize_activations(ActFormat format, const float* x, std::int64_t cols, void* dst) {
    switch (format) {
        case ActFormat::f32:
            std::memcpy(dst, x, static_cast<std::size_t>(cols) * sizeof(float));
            return;
        case ActFormat::q8_0:
            to_q8_0(x, cols, static_cast<std::int8_t*>(dst),
                    reinterpret_cast<float*>(static_cast<std::int8_t*>(dst) + cols));
            return;
        case ActFormat::q8_K:
            to_q8_K(x, cols, static_cast<BlockQ8_K*>(dst));
            return;
        case ActFormat::q8_0_nib:
            to_q8_0_nib(x, cols, dst);
            return;
    }
}

}  // namespace ferry::cpu::fast
