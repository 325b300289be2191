// AVX2 + FMA + F16C kernels (compiled with -mavx2 -mfma -mf16c; chosen at run time only on
// CPUs that have them). 8-bit dot products use maddubs (u8 x s8 -> s16 pairs) followed by
// madd with the block's scales (s16 x s16 -> s32), as ggml's x86 kernels do; signed x
// signed products take the sign of one operand onto the other first. Every kernel takes up
// to kMaxTokens tokens and unpacks each weight block once for all of them.
#include "cpu/fast_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include <type_traits>
#include <utility>

#include "cpu/fast_block_helpers.h"

namespace ferry::cpu::fast {
namespace {

using namespace ferry::quant;

inline float h2f(half_bits h) {
    return _cvtsh_ss(h);
}

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// The 16 bytes of a 32-element nibble block as 32 bytes 0..15: low nibbles are elements
// 0..15, high nibbles 16..31.
inline __m256i nibbles32(const std::uint8_t* qs) {
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    const __m128i m4 = _mm_set1_epi8(0xf);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m4), _mm_and_si128(q, m4));
}

inline __m256i load256(const void* p) {
    return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}
inline __m128i load128(const void* p) {
    return _mm_loadu_si128(static_cast<const __m128i*>(p));
}

// The 32-element formats against Q8_0 activations, for up to kMaxTokens tokens at once:
// each block's 32 signed weights (values(block)) and their magnitudes are formed once;
// per token the activations take the weights' signs (u8 x s8 products). Blocks go in
// pairs whose two scaled products are summed before they meet the accumulator, so the
// accumulator's chain of additions is half as long (the same order for every NT).
template <class Block, class Values, class Scale>
void rows_blocks32(std::int64_t n, const void* wv, const void* act, std::size_t act_stride, int n_tokens,
                   float* out, std::size_t out_stride, Values values, Scale scale) {
    const auto* w = static_cast<const Block*>(wv);
    const std::int64_t nb = n / kQK;
    with_tokens(n_tokens, [&](auto nt) {
        constexpr int NT = decltype(nt)::value;
        const __m256i ones = _mm256_set1_epi16(1);
        const auto a = per_token<NT>(act, act_stride, [n](const void* p) { return q8_0_row(p, n); });
        // Block i of token t as 8 floats and their scale: the int32 sums of 4 products.
        auto product = [&](__m256i q, __m256i magnitude, __m256 dw, int t, std::int64_t i) {
            const __m256i p =
                _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(load256(a[t].qs + kQK * i), q));
            return std::pair(_mm256_mul_ps(dw, _mm256_broadcast_ss(a[t].d + i)),
                             _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones)));
        };
        __m256 acc[NT];
        for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
        std::int64_t i = 0;
        for (; i + 2 <= nb; i += 2) {
            prefetch_ahead<2 * sizeof(Block)>(w + i);
            const __m256i q0 = values(w[i]), q1 = values(w[i + 1]);
            const __m256i m0 = _mm256_sign_epi8(q0, q0), m1 = _mm256_sign_epi8(q1, q1);
            const __m256 d0 = _mm256_set1_ps(scale(w[i])), d1 = _mm256_set1_ps(scale(w[i + 1]));
            for (int t = 0; t < NT; ++t) {
                const auto [s0, v0] = product(q0, m0, d0, t, i);
                const auto [s1, v1] = product(q1, m1, d1, t, i + 1);
                acc[t] = _mm256_add_ps(acc[t], _mm256_fmadd_ps(s1, v1, _mm256_mul_ps(s0, v0)));
            }
        }
        if (i < nb) {
            const __m256i q = values(w[i]);
            const __m256i m = _mm256_sign_epi8(q, q);
            const __m256 d = _mm256_set1_ps(scale(w[i]));
            for (int t = 0; t < NT; ++t) {
                const auto [s, v] = product(q, m, d, t, i);
                acc[t] = _mm256_fmadd_ps(s, v, acc[t]);
            }
        }
        for (int t = 0; t < NT; ++t) out[static_cast<std::size_t>(t) * out_stride] = hsum(acc[t]);
    });
}

void rows_q8_0(std::int64_t n, const void* w, const void* act, std::size_t act_stride, int n_tokens,
               float* out, std::size_t out_stride) {
    rows_blocks32<BlockQ8_0>(
        n, w, act, act_stride, n_tokens, out, out_stride, [](const BlockQ8_0& b) { return load256(b.qs); },
        [](const BlockQ8_0& b) { return h2f(b.d); });
}

// Q4_0 and MXFP4 against q8_0_nib activations (fast_block_helpers.h), for up to
// kMaxTokens tokens at once: a group of 4 blocks is two vectors of 2 blocks' nibble
// arrays; their low and high nibbles, turned into offset weights u = w + c >= 0 by
// unsigned(nibbles), each meet 32 contiguous activations, so no sign is moved: per 4-byte
// lane, sum u * y - c * sum y (c = 1 << kShift), the sums being the activations'
// precomputed neg_sums. scales4(w) gives the 4 blocks' scales; the nb % 4 tail blocks go
// one at a time with signed(w) (values in activation order).
template <class Block, int kShift, class Unsigned, class Signed, class Scales4, class Scale>
void rows_nib4(std::int64_t n, const void* wv, const void* act, std::size_t act_stride, int n_tokens,
               float* out, std::size_t out_stride, Unsigned unsigned_values, Signed signed_values,
               Scales4 scales4, Scale scale) {
    const auto* w = static_cast<const Block*>(wv);
    const std::int64_t nb = n / kQK;
    with_tokens(n_tokens, [&](auto nt) {
        constexpr int NT = decltype(nt)::value;
        const __m256i m4 = _mm256_set1_epi8(0xf), ones = _mm256_set1_epi16(1);
        const __m256i lanes01 = _mm256_set_epi32(1, 1, 1, 1, 0, 0, 0, 0);
        const __m256i lanes23 = _mm256_set_epi32(3, 3, 3, 3, 2, 2, 2, 2);
        const auto a = per_token<NT>(act, act_stride, [n](const void* p) { return q8_0_nib_row(p, n); });
        const std::int64_t groups = a[0].groups;
        __m256 acc[NT];
        for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
        for (std::int64_t g = 0; g < groups; ++g) {
            const Block* b = w + 4 * g;
            prefetch_ahead<4 * sizeof(Block)>(b);
            __m256i lo[2], hi[2];  // [h]: blocks 4g + 2h, 4g + 2h + 1
            for (int h = 0; h < 2; ++h) {
                const __m256i q = _mm256_set_m128i(load128(b[2 * h + 1].qs), load128(b[2 * h].qs));
                lo[h] = unsigned_values(_mm256_and_si256(q, m4));
                hi[h] = unsigned_values(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4));
            }
            const __m256 dw4 = _mm256_castps128_ps256(scales4(b));
            const __m256 dw[2] = {_mm256_permutevar8x32_ps(dw4, lanes01),
                                  _mm256_permutevar8x32_ps(dw4, lanes23)};
            for (int t = 0; t < NT; ++t) {
                __m256 part[2];
                for (int h = 0; h < 2; ++h) {
                    const std::int8_t* y = a[t].qs + 128 * g + 32 * h;
                    const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo[h], load256(y)),
                                                       _mm256_maddubs_epi16(hi[h], load256(y + 64)));
                    const __m256i offset = _mm256_slli_epi32(load256(a[t].neg_sums + 16 * g + 8 * h), kShift);
                    const __m256i sums = _mm256_add_epi32(_mm256_madd_epi16(p, ones), offset);
                    part[h] = _mm256_cvtepi32_ps(sums);
                }
                const __m256 d0 = _mm256_mul_ps(dw[0], _mm256_loadu_ps(a[t].d16 + 16 * g));
                const __m256 d1 = _mm256_mul_ps(dw[1], _mm256_loadu_ps(a[t].d16 + 16 * g + 8));
                acc[t] = _mm256_add_ps(acc[t], _mm256_fmadd_ps(d1, part[1], _mm256_mul_ps(d0, part[0])));
            }
        }
        for (int t = 0; t < NT; ++t) {
            float sum = hsum(acc[t]);
            for (std::int64_t i = 4 * groups; i < nb; ++i) {
                const __m256i q = signed_values(w[i]);
                const __m256i p = _mm256_maddubs_epi16(
                    _mm256_sign_epi8(q, q), _mm256_sign_epi8(load256(a[t].qs + nib_pos(i, 0, groups)), q));
                sum += scale(w[i]) * a[t].d[i] * hsum(_mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones)));
            }
            out[static_cast<std::size_t>(t) * out_stride] = sum;
        }
    });
}

void rows_q4_0(std::int64_t n, const void* w, const void* act, std::size_t act_stride, int n_tokens,
               float* out, std::size_t out_stride) {
    rows_nib4<BlockQ4_0, 3>(  // u = nibble = w + 8
        n, w, act, act_stride, n_tokens, out, out_stride, [](__m256i nibbles) { return nibbles; },
        [](const BlockQ4_0& b) { return _mm256_sub_epi8(nibbles32(b.qs), _mm256_set1_epi8(8)); },
        [](const BlockQ4_0* b) {
            const std::uint64_t d = b[0].d | std::uint64_t{b[1].d} << 16 | std::uint64_t{b[2].d} << 32 |
                                    std::uint64_t{b[3].d} << 48;
            return _mm_cvtph_ps(_mm_cvtsi64_si128(static_cast<long long>(d)));
        },
        [](const BlockQ4_0& b) { return h2f(b.d); });
}

// e8m0_half of 4 consecutive blocks' exponents, the same bits as the scalar one:
// (e - 1) << 23 for e >= 2, 0x00200000 << e (denormals) for e < 2.
inline __m128 e8m0_half4(const BlockMXFP4* b) {
    const std::uint32_t e4 =
        b[0].e | std::uint32_t{b[1].e} << 8 | std::uint32_t{b[2].e} << 16 | std::uint32_t{b[3].e} << 24;
    const __m128i e = _mm_cvtepu8_epi32(_mm_cvtsi32_si128(static_cast<int>(e4)));
    const __m128i normal = _mm_slli_epi32(_mm_sub_epi32(e, _mm_set1_epi32(1)), 23);
    const __m128i tiny = _mm_sllv_epi32(_mm_set1_epi32(0x00200000), e);
    return _mm_castsi128_ps(_mm_blendv_epi8(normal, tiny, _mm_cmpgt_epi32(_mm_set1_epi32(2), e)));
}

void rows_mxfp4(std::int64_t n, const void* w, const void* act, std::size_t act_stride, int n_tokens,
                float* out, std::size_t out_stride) {
    const __m256i book16 = _mm256_broadcastsi128_si256(load128(kValuesMXFP4Plus16.data()));  // codebook + 16
    const __m256i book = _mm256_broadcastsi128_si256(load128(kValuesMXFP4.data()));
    rows_nib4<BlockMXFP4, 4>(
        n, w, act, act_stride, n_tokens, out, out_stride,
        [book16](__m256i nibbles) { return _mm256_shuffle_epi8(book16, nibbles); },
        [book](const BlockMXFP4& b) { return _mm256_shuffle_epi8(book, nibbles32(b.qs)); },
        [](const BlockMXFP4* b) { return e8m0_half4(b); },
        [](const BlockMXFP4& b) { return e8m0_half(b.e); });
}

// Q4_K and Q5_K: rows_k4 (shared with the AVX-512 files, which compile it with 32
// registers and VNNI).
#define FERRY_K4_VNNI 0
#include "cpu/fast_k4_body.h"
#undef FERRY_K4_VNNI

// Byte shuffles that spread scales k and k + 1 over the low and high 8 bytes.
alignas(16) constexpr std::uint8_t kScalePairs[8][16] = {
    {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1},
    {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
    {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5},
    {6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
    {8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9},
    {10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11},
    {12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13},
    {14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15},
};

// Q6_K, for up to kMaxTokens tokens at once: two halves of 128; in half h, group g (32
// elements, q[4h + g]) takes its low 4 bits from ql[64h + 32(g & 1) + l] (low nibble for
// g < 2) and its high 2 bits from qh[32h + l] bits 2g. The -32 offset is applied per block
// through the activation sums.
void rows_q6_K(std::int64_t n, const void* wv, const void* act, std::size_t act_stride, int n_tokens,
               float* out, std::size_t out_stride) {
    const auto* w = static_cast<const BlockQ6_K*>(wv);
    with_tokens(n_tokens, [&](auto nt) {
        constexpr int NT = decltype(nt)::value;
        const __m256i m4 = _mm256_set1_epi8(0xf), m3 = _mm256_set1_epi8(3), m30 = _mm256_set1_epi8(0x30);
        const auto a = q8_K_rows<NT>(act, act_stride);
        __m256 acc[NT];
        for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
        for (std::int64_t i = 0; i < n / kQKK; ++i) {
            prefetch_ahead<sizeof(w[i])>(w + i);
            const __m128i scales = load128(w[i].scales);
            const __m256i sc16 = _mm256_cvtepi8_epi16(scales);
            __m256i q[8];
            for (int h = 0; h < 2; ++h) {
                const __m256i ql0 = load256(w[i].ql + 64 * h), ql1 = load256(w[i].ql + 64 * h + 32);
                const __m256i qh = load256(w[i].qh + 32 * h);
                q[4 * h] = _mm256_or_si256(_mm256_and_si256(ql0, m4),
                                           _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4));
                q[4 * h + 1] =
                    _mm256_or_si256(_mm256_and_si256(ql1, m4),
                                    _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(0x0c)), 2));
                q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                                               _mm256_and_si256(qh, m30));
                q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                               _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
            }
            __m256i s[8];  // s[k]: scales 2k, 2k + 1 over the 16-bit product lanes of q[k]
            for (int k = 0; k < 8; ++k)
                s[k] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, load128(kScalePairs[k])));
            const float d = h2f(w[i].d);
            for (int t = 0; t < NT; ++t) {
                const BlockQ8_K& y = a[t][i];
                __m256i sumi = _mm256_madd_epi16(_mm256_maddubs_epi16(q[0], load256(y.qs)), s[0]);
                for (int k = 1; k < 8; ++k)
                    sumi = _mm256_add_epi32(
                        sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], load256(y.qs + 32 * k)), s[k]));
                // sum_s scale_s * 32 * sum(y over s)
                const __m256i offset = _mm256_madd_epi16(load256(y.bsums), sc16);
                sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(offset, 5));
                acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(y.d * d), _mm256_cvtepi32_ps(sumi), acc[t]);
            }
        }
        for (int t = 0; t < NT; ++t) out[static_cast<std::size_t>(t) * out_stride] = hsum(acc[t]);
    });
}

// IQ4_XS, for up to kMaxTokens tokens at once: sub-block j's 16 bytes as a Q4_0 block,
// values through the IQ4_NL codebook, formed once per super-block.
void rows_iq4_xs(std::int64_t n, const void* wv, const void* act, std::size_t act_stride, int n_tokens,
                 float* out, std::size_t out_stride) {
    const auto* w = static_cast<const BlockIQ4_XS*>(wv);
    const __m256i book = _mm256_broadcastsi128_si256(load128(kValuesIQ4NL.data()));
    with_tokens(n_tokens, [&](auto nt) {
        constexpr int NT = decltype(nt)::value;
        const auto a = q8_K_rows<NT>(act, act_stride);
        __m256 acc[NT];
        for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
        for (std::int64_t i = 0; i < n / kQKK; ++i) {
            prefetch_ahead<sizeof(w[i])>(w + i);
            __m256i q[8], magnitude[8], scale[8];
            for (int j = 0; j < 8; ++j) {
                q[j] = _mm256_shuffle_epi8(book, nibbles32(w[i].qs + 16 * j));
                magnitude[j] = _mm256_sign_epi8(q[j], q[j]);
                scale[j] = _mm256_set1_epi16(static_cast<short>(iq4_xs_scale(w[i], j)));
            }
            const float d = h2f(w[i].d);
            for (int t = 0; t < NT; ++t) {
                const BlockQ8_K& y = a[t][i];
                __m256i sumi = _mm256_setzero_si256();
                for (int j = 0; j < 8; ++j) {
                    const __m256i p =
                        _mm256_maddubs_epi16(magnitude[j], _mm256_sign_epi8(load256(y.qs + 32 * j), q[j]));
                    sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scale[j]));
                }
                acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(y.d * d), _mm256_cvtepi32_ps(sumi), acc[t]);
            }
        }
        for (int t = 0; t < NT; ++t) out[static_cast<std::size_t>(t) * out_stride] = hsum(acc[t]);
    });
}

float dot_f16(std::int64_t n, const void* wv, const void* av) {
    const auto* w = static_cast<const std::uint16_t*>(wv);
    const auto* x = static_cast<const float*>(av);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    std::int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        prefetch_ahead<32>(w + i);
        acc0 = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(w + i)), _mm256_loadu_ps(x + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(w + i + 8)), _mm256_loadu_ps(x + i + 8), acc1);
    }
    float sum = hsum(_mm256_add_ps(acc0, acc1));
    for (; i < n; ++i) sum += h2f(w[i]) * x[i];
    return sum;
}

inline __m256 bf16x8(const std::uint16_t* p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(p)), 16));
}

float dot_bf16(std::int64_t n, const void* wv, const void* av) {
    const auto* w = static_cast<const std::uint16_t*>(wv);
    const auto* x = static_cast<const float*>(av);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    std::int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        prefetch_ahead<32>(w + i);
        acc0 = _mm256_fmadd_ps(bf16x8(w + i), _mm256_loadu_ps(x + i), acc0);
        acc1 = _mm256_fmadd_ps(bf16x8(w + i + 8), _mm256_loadu_ps(x + i + 8), acc1);
    }
    float sum = hsum(_mm256_add_ps(acc0, acc1));
    for (; i < n; ++i) sum += std::bit_cast<float>(static_cast<std::uint32_t>(w[i]) << 16) * x[i];
    return sum;
}

const KernelSet kAvx2{
    "avx2",
    {rows_q4_0, rows_q8_0, rows_mxfp4, k4::rows_k4<false>, k4::rows_k4<true>, rows_q6_K, rows_iq4_xs,
     rows_of<dot_f16>, rows_of<dot_bf16>},
    {},
};

}  // namespace

const KernelSet* avx2_kernels() {
    return &kAvx2;
}

}  // namespace ferry::cpu::fast

#else

const ferry::cpu::fast::KernelSet* ferry::cpu::fast::avx2_kernels() {
    return nullptr;
}

#endif
