#include "cpu/fast_activations.h"

#include <algorithm>
#include <cmath>
#include <cstring>

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
    }
}

}  // namespace ferry::cpu::fast
