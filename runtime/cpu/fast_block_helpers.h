#pragma once
// Small helpers shared by the kernel files. Everything here has internal linkage (an
// unnamed namespace), so each kernel file, compiled with its own -m flags, gets its own
// copy and no SIMD instruction can leak into another file's code through the linker.
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cpu/fast_kernels.h"
#include "quant/blocks.h"

namespace ferry::cpu::fast {
namespace {

// The per-token loop around a single-row kernel: a weight row (at most a few KB) stays in
// L1 while it is dotted with each token's activations.
template <float (*Dot)(std::int64_t n, const void* w, const void* act)>
void rows_of(std::int64_t n, const void* w, const void* act, std::size_t act_stride, int n_tokens, float* out,
             std::size_t out_stride) {
    const auto* a = static_cast<const std::uint8_t*>(act);
    for (int t = 0; t < n_tokens; ++t)
        out[static_cast<std::size_t>(t) * out_stride] =
            Dot(n, w, a + static_cast<std::size_t>(t) * act_stride);
}

// Calls f(std::integral_constant<int, NT>{}) with NT = n_tokens (1..kMaxTokens), so a
// kernel's per-token accumulators are arrays of compile-time size that live in registers
// (indexed by a run-time count they would live on the stack, and every block's update of
// an accumulator would wait on a store and a reload).
template <class F>
void with_tokens(int n_tokens, F&& f) {
    static_assert(kMaxTokens == 8);
    switch (n_tokens) {
        case 1:
            return f(std::integral_constant<int, 1>{});
        case 2:
            return f(std::integral_constant<int, 2>{});
        case 3:
            return f(std::integral_constant<int, 3>{});
        case 4:
            return f(std::integral_constant<int, 4>{});
        case 5:
            return f(std::integral_constant<int, 5>{});
        case 6:
            return f(std::integral_constant<int, 6>{});
        case 7:
            return f(std::integral_constant<int, 7>{});
        default:
            return f(std::integral_constant<int, 8>{});
    }
}

// A kernel's view of its NT tokens' activation rows: make(act + t * act_stride bytes) for
// each token t (q8_0_row, q8_0_nib_row or a cast to the row's blocks).
template <int NT, class Make>
inline auto per_token(const void* act, std::size_t act_stride, Make make) {
    std::array<decltype(make(act)), NT> rows;
    for (int t = 0; t < NT; ++t)
        rows[t] = make(static_cast<const std::uint8_t*>(act) + static_cast<std::size_t>(t) * act_stride);
    return rows;
}
// The Q8_K activation rows (ActFormat::q8_K) of NT tokens.
template <int NT>
inline std::array<const quant::BlockQ8_K*, NT> q8_K_rows(const void* act, std::size_t act_stride) {
    return per_token<NT>(act, act_stride,
                         [](const void* p) { return static_cast<const quant::BlockQ8_K*>(p); });
}

// Weights stream from DRAM once per product; the hardware prefetchers stop at 4 KiB page
// boundaries and ramp up again after, so the kernels also ask for the bytes kPrefetchBytes
// ahead of the block they read (measured on a Cascade Lake VM: 10-20% faster at 1 token
// for 1-2 KiB; rows of a matrix are contiguous, so this runs on into the next row).
constexpr std::size_t kPrefetchBytes = 2048;

// Prefetches the cache lines of [p + kPrefetchBytes, p + kPrefetchBytes + kBytes); call it
// once per kBytes of weights read.
template <std::size_t kBytes>
inline void prefetch_ahead(const void* p) {
    const auto* c = static_cast<const char*>(p) + kPrefetchBytes;
    for (std::size_t off = 0; off < kBytes; off += 64) __builtin_prefetch(c + off);
}

// A Q8_0 activation row of n values (fast_kernels.h ActFormat::q8_0): n int8 values, then
// n / 32 fp32 scales.
struct Q8_0Row {
    const std::int8_t* qs;
    const float* d;
};
inline Q8_0Row q8_0_row(const void* act, std::int64_t n) {
    const auto* qs = static_cast<const std::int8_t*>(act);
    return {qs, reinterpret_cast<const float*>(qs + n)};
}

// A q8_0_nib activation row of n values (fast_kernels.h): nb = n / 32 blocks, of which the
// first 4 * groups (groups = nb / 4) are reordered per group of 4 blocks; the nb % 4 blocks
// after them keep their order.
//   qs[n]        group g: bytes 128g + 16b + e hold element e of block 4g + b for e < 16,
//                bytes 128g + 64 + 16b + e - 16 elements e >= 16; then the tail blocks
//   d[nb]        each block's scale (fp32, the fp16 value ggml would store)
//   d16[16 * groups]    per group: d of block 4g + b repeated 4 times (lanes 4b .. 4b + 3)
//   neg_sums[16 * groups]  per group, lane k: minus the sum of bytes 128g + 4k .. 4k + 3
//                and 128g + 64 + 4k .. 4k + 3 (what 4-byte lane k of a dot product with
//                offset weights u = w + c must subtract c times)
struct Q8_0NibRow {
    const std::int8_t* qs;
    const float* d;
    const float* d16;
    const std::int32_t* neg_sums;
    std::int64_t groups;
};
inline Q8_0NibRow q8_0_nib_row(const void* act, std::int64_t n) {
    const std::int64_t nb = n / quant::kQK, groups = nb / 4;
    const auto* qs = static_cast<const std::int8_t*>(act);
    const auto* d = reinterpret_cast<const float*>(qs + n);
    const float* d16 = d + nb;
    return {qs, d, d16, reinterpret_cast<const std::int32_t*>(d16 + 16 * groups), groups};
}
// Where element e (0..31) of block i sits in a q8_0_nib row's qs.
inline std::int64_t nib_pos(std::int64_t i, int e, std::int64_t groups) {
    if (i >= 4 * groups) return 128 * groups + 32 * (i - 4 * groups) + e;
    return 128 * (i / 4) + (e < 16 ? 0 : 64) + 16 * (i % 4) + (e & 15);
}

// Q4_K / Q5_K: the eight 6-bit scales and mins of a super-block (quant::unpack_scale_min_k4),
// unpacked a 32-bit word at a time: bytes 0..3 hold scales 0..3 in their low 6 bits, bytes
// 4..7 mins 0..3; scale / min 4..7 take their low 4 bits from the nibbles of bytes 8..11
// and their top 2 bits from the top bits of bytes 0..3 / 4..7.
inline void scales_mins_k4(const std::uint8_t* s, std::uint8_t* sc, std::uint8_t* m) {
    std::uint32_t w[3];
    std::memcpy(w, s, sizeof w);
    const std::uint32_t low6 = 0x3f3f3f3fu, low4 = 0x0f0f0f0fu, low2 = 0x03030303u;
    const std::uint32_t scales[2] = {w[0] & low6, (w[2] & low4) | (((w[0] >> 6) & low2) << 4)};
    const std::uint32_t mins[2] = {w[1] & low6, ((w[2] >> 4) & low4) | (((w[1] >> 6) & low2) << 4)};
    std::memcpy(sc, scales, sizeof scales);
    std::memcpy(m, mins, sizeof mins);
}

// IQ4_XS: sub-block j's 6-bit scale minus its bias of 32.
inline int iq4_xs_scale(const quant::BlockIQ4_XS& b, int j) {
    return (((b.scales_l[j / 2] >> (4 * (j % 2))) & 0xf) | (((b.scales_h >> (2 * j)) & 3) << 4)) - 32;
}

// MXFP4's codebook (-12 .. 12) plus 16: the unsigned weights of the q8_0_nib kernels.
alignas(16) constexpr std::array<std::int8_t, 16> kValuesMXFP4Plus16 = [] {
    std::array<std::int8_t, 16> v{};
    for (int k = 0; k < 16; ++k) v[k] = static_cast<std::int8_t>(quant::kValuesMXFP4[k] + 16);
    return v;
}();

// MXFP4's E8M0 scale halved (quant::e8m0_to_fp32_half).
inline float e8m0_half(std::uint8_t e) {
    return std::bit_cast<float>(e < 2 ? 0x00200000u << e : static_cast<std::uint32_t>(e - 1) << 23);
}

}  // namespace
}  // namespace ferry::cpu::fast
