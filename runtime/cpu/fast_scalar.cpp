// Portable kernels: the same integer arithmetic as the SIMD paths (8-bit activations,
// exact integer sums per block), written as plain loops. They run where no SIMD path does
// and are the SIMD paths' closest comparison in the tests.

#include "cpu/fast_block_helpers.h"
#include "cpu/fast_kernels.h"
#include "quant/half.h"

namespace ferry::cpu::fast {
namespace {

using namespace ferry::quant;

float h2f(half_bits h) {
    return fp16_to_fp32(h);
}

float dot_q8_0(std::int64_t n, const void* wv, const void* av) {
    const auto* w = static_cast<const BlockQ8_0*>(wv);
    const Q8_0Row a = q8_0_row(av, n);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n / kQK; ++i) {
        const std::int8_t* y = a.qs + kQK * i;
        int s = 0;
        for (int j = 0; j < kQK; ++j) s += w[i].qs[j] * y[j];
        sum += h2f(w[i].d) * a.d[i] * static_cast<float>(s);
    }
    return sum;
}

float dot_q4_0(std::int64_t n, const void* wv, const void* av) {
    const auto* w = static_cast<const BlockQ4_0*>(wv);
    const Q8_0NibRow a = q8_0_nib_row(av, n);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n / kQK; ++i) {
        const std::int8_t* y = a.qs + nib_pos(i, 0, a.groups);           // elements 0..15 here,
        const std::int8_t* y_hi = a.qs + nib_pos(i, 16, a.groups) - 16;  // 16..31 at y_hi + 16
        int s = 0;
        for (int j = 0; j < kQK / 2; ++j)
            s += ((w[i].qs[j] & 0xf) - 8) * y[j] + ((w[i].qs[j] >> 4) - 8) * y_hi[j + 16];
        sum += h2f(w[i].d) * a.d[i] * static_cast<float>(s);
    }
    return sum;
}

float dot_mxfp4(std::int64_t n, const void* wv, const void* av) {
    const auto* w = static_cast<const BlockMXFP4*>(wv);
    const Q8_0NibRow a = q8_0_nib_row(av, n);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n / kQK; ++i) {
        const std::int8_t* y = a.qs + nib_pos(i, 0, a.groups);
        const std::int8_t* y_hi = a.qs + nib_pos(i, 16, a.groups) - 16;
        int s = 0;
        for (int j = 0; j < kQK / 2; ++j)
            s += kValuesMXFP4[w[i].qs[j] & 0xf] * y[j] + kValuesMXFP4[w[i].qs[j] >> 4] * y_hi[j + 16];
        sum += e8m0_half(w[i].e) * a.d[i] * static_cast<float>(s);
    }
    return sum;
}

// Q4_K and Q5_K share everything but the fifth bit (qh == nullptr for Q4_K).
float dot_k4(const half_bits d, const half_bits dmin, const std::uint8_t* scales, const std::uint8_t* qh,
             const std::uint8_t* qs, const BlockQ8_K& a) {
    std::uint8_t sc[8], m[8];
    scales_mins_k4(scales, sc, m);
    int sumi = 0, summ = 0;
    for (int c = 0; c < 4; ++c) {
        int lo = 0, hi = 0;
        for (int l = 0; l < 32; ++l) {
            int ql = qs[32 * c + l] & 0xf, qhi = qs[32 * c + l] >> 4;
            if (qh) {
                ql |= ((qh[l] >> (2 * c)) & 1) << 4;
                qhi |= ((qh[l] >> (2 * c + 1)) & 1) << 4;
            }
            lo += ql * a.qs[64 * c + l];
            hi += qhi * a.qs[64 * c + 32 + l];
        }
        sumi += sc[2 * c] * lo + sc[2 * c + 1] * hi;
    }
    for (int j = 0; j < 8; ++j) summ += m[j] * (a.bsums[2 * j] + a.bsums[2 * j + 1]);
    return a.d * (h2f(d) * static_cast<float>(sumi) - h2f(dmin) * static_cast<float>(summ));
}

float dot_q4_K(std::int64_t n, const void* wv, const void* av) {
    const auto* w = static_cast<const BlockQ4_K*>(wv);
    const auto* a = static_cast<const BlockQ8_K*>(av);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n / kQKK; ++i)
        sum += dot_k4(w[i].d, w[i].dmin, w[i].scales, nullptr, w[i].qs, a[i]);
    return sum;
}

float dot_q5_K(std::int64_t n, const void* wv, const void* av) {
    const auto* w = static_cast<const BlockQ5_K*>(wv);
    const auto* a = static_cast<const BlockQ8_K*>(av);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n / kQKK; ++i)
        sum += dot_k4(w[i].d, w[i].dmin, w[i].scales, w[i].qh, w[i].qs, a[i]);
    return sum;
}

float dot_q6_K(std::int64_t n, const void* wv, const void* av) {
    const auto* w = static_cast<const BlockQ6_K*>(wv);
    const auto* a = static_cast<const BlockQ8_K*>(av);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n / kQKK; ++i) {
        int sub[16] = {};  // sum of q * y over each 16-element sub-block, q in 0..63
        for (int h = 0; h < 2; ++h)
            for (int g = 0; g < 4; ++g) {
                const std::uint8_t* ql = w[i].ql + 64 * h + 32 * (g & 1);
                const std::uint8_t* qh = w[i].qh + 32 * h;
                const std::int8_t* y = a[i].qs + 128 * h + 32 * g;
                const int shift_l = 4 * (g / 2), shift_h = 2 * g;
                for (int half = 0; half < 2; ++half) {
                    int s = 0;
                    for (int l = 16 * half; l < 16 * half + 16; ++l)
                        s += (((ql[l] >> shift_l) & 0xf) | (((qh[l] >> shift_h) & 3) << 4)) * y[l];
                    sub[8 * h + 2 * g + half] = s;
                }
            }
        int sumi = 0;
        for (int s = 0; s < 16; ++s) sumi += w[i].scales[s] * (sub[s] - 32 * a[i].bsums[s]);
        sum += a[i].d * h2f(w[i].d) * static_cast<float>(sumi);
    }
    return sum;
}

float dot_iq4_xs(std::int64_t n, const void* wv, const void* av) {
    const auto* w = static_cast<const BlockIQ4_XS*>(wv);
    const auto* a = static_cast<const BlockQ8_K*>(av);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n / kQKK; ++i) {
        int sumi = 0;
        for (int j = 0; j < 8; ++j) {
            int s = 0;
            for (int l = 0; l < 16; ++l) {
                const std::uint8_t q = w[i].qs[16 * j + l];
                s += kValuesIQ4NL[q & 0xf] * a[i].qs[32 * j + l] +
                     kValuesIQ4NL[q >> 4] * a[i].qs[32 * j + 16 + l];
            }
            sumi += iq4_xs_scale(w[i], j) * s;
        }
        sum += a[i].d * h2f(w[i].d) * static_cast<float>(sumi);
    }
    return sum;
}

float dot_f16(std::int64_t n, const void* wv, const void* av) {
    const auto* w = static_cast<const half_bits*>(wv);
    const auto* x = static_cast<const float*>(av);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n; ++i) sum += h2f(w[i]) * x[i];
    return sum;
}

float dot_bf16(std::int64_t n, const void* wv, const void* av) {
    const auto* w = static_cast<const std::uint16_t*>(wv);
    const auto* x = static_cast<const float*>(av);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n; ++i) sum += bf16_to_fp32(w[i]) * x[i];
    return sum;
}

const KernelSet kScalar{
    "scalar",
    {rows_of<dot_q4_0>, rows_of<dot_q8_0>, rows_of<dot_mxfp4>, rows_of<dot_q4_K>, rows_of<dot_q5_K>,
     rows_of<dot_q6_K>, rows_of<dot_iq4_xs>, rows_of<dot_f16>, rows_of<dot_bf16>},
    {},
};

}  // namespace

const KernelSet* scalar_kernels() {
    return &kScalar;
}

}  // namespace ferry::cpu::fast
