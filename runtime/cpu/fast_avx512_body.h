// The AVX-512 kernels (F/BW/VL), included by fast_avx512.cpp (FERRY_AVX512_VNNI 0) and
// fast_avx512_vnni.cpp (FERRY_AVX512_VNNI 1), which differ only in their compile flags and
// in two helpers: with VNNI, u8 x s8 sums use vpdpbusd and s16 x s16 multiply-adds into the
// accumulator use vpdpwssd. 512-bit vectors hold two 32-element blocks or 64 elements of a
// super-block; nibble and high-bit planes are rearranged so each vector matches a
// contiguous run of activations where the layout allows. Q4_K and Q5_K run 256-bit code
// (fast_k4_body.h, here with 32 registers and, in the VNNI file, vpdpbusd + vpdpwssd): their
// 512-bit versions were slower on Skylake-SP-class Xeons, needing lane-crossing setup per
// block; for batches of 2+ tokens the VNNI file runs two rows side by side in 512-bit
// vectors instead (k4::rows2_k4). The quantized kernels take up to kMaxTokens tokens and
// unpack each weight block once for all of them. Not a standalone header.
// GCC 12 warns about the deliberately undefined upper lanes inside its own AVX-512
// intrinsics (_mm512_undefined_*; GCC bug 105593, fixed in 13).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "cpu/fast_block_helpers.h"
#include "cpu/fast_kernels.h"

namespace ferry::cpu::fast {
namespace {

using namespace ferry::quant;

inline float h2f(half_bits h) {
    return _cvtsh_ss(h);
}
inline __m512i load512(const void* p) {
    return _mm512_loadu_si512(p);
}
inline __m256i load256(const void* p) {
    return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}
inline __m128i load128(const void* p) {
    return _mm_loadu_si128(static_cast<const __m128i*>(p));
}
inline __m512i join(__m256i lo, __m256i hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
// Lanes 0..7 = a, 8..15 = b.
inline __m512 two_scales(float a, float b) {
    return _mm512_mask_mov_ps(_mm512_set1_ps(a), 0xff00, _mm512_set1_ps(b));
}

#if FERRY_AVX512_VNNI
// u8 x s8 products summed in fours into 16 int32 lanes.
inline __m512i dot_u8s8(__m512i u, __m512i s) {
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, s);
}
// acc + s16 pairs x s16 scales.
inline __m512i madd_acc(__m512i acc, __m512i p, __m512i s) {
    return _mm512_dpwssd_epi32(acc, p, s);
}
// acc + the u8 x s8 products of (u0, s0) and (u1, s1), summed in fours.
inline __m512i dot2_u8s8(__m512i acc, __m512i u0, __m512i s0, __m512i u1, __m512i s1) {
    return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(acc, u0, s0), u1, s1);
}
#else
// (u8 x s8 pairs of both fit int16: |u| <= 28 here, so the two are added before widening.)
inline __m512i dot2_u8s8(__m512i acc, __m512i u0, __m512i s0, __m512i u1, __m512i s1) {
    const __m512i p = _mm512_add_epi16(_mm512_maddubs_epi16(u0, s0), _mm512_maddubs_epi16(u1, s1));
    return _mm512_add_epi32(acc, _mm512_madd_epi16(p, _mm512_set1_epi16(1)));
}
inline __m512i dot_u8s8(__m512i u, __m512i s) {
    return _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1));
}
inline __m512i madd_acc(__m512i acc, __m512i p, __m512i s) {
    return _mm512_add_epi32(acc, _mm512_madd_epi16(p, s));
}
#endif

inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Two 32-element nibble blocks (16 bytes each) as 64 bytes 0..15 in element order:
// [block0 low nibbles, block0 high, block1 low, block1 high].
inline __m512i nibbles64(const std::uint8_t* qs0, const std::uint8_t* qs1) {
    const __m256i t = _mm256_set_m128i(load128(qs1), load128(qs0));
    const __m256i m4 = _mm256_set1_epi8(0xf);
    const __m256i lo = _mm256_and_si256(t, m4), hi = _mm256_and_si256(_mm256_srli_epi16(t, 4), m4);
    return _mm512_permutex2var_epi64(_mm512_castsi256_si512(lo), _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0),
                                     _mm512_castsi256_si512(hi));
}
// One block (the odd tail) in 256 bits.
inline __m256i nibbles32(const std::uint8_t* qs) {
    const __m128i q = load128(qs);
    const __m128i m4 = _mm_set1_epi8(0xf);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m4), _mm_and_si128(q, m4));
}
inline __m256i dot_i8_256(__m256i a, __m256i b) {
    const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

// The 32-element formats against Q8_0 activations, two blocks per vector, for up to
// kMaxTokens tokens at once. values2(w, i) gives blocks i, i + 1 as 64 signed bytes,
// values(w, i) block i alone (the odd tail, 256 bits); scale(block) the block's scale.
// Each pair of blocks is formed once; per token the activations take the weights' signs.
template <class Block, class Values2, class Values, class Scale>
void rows_blocks32(std::int64_t n, const void* wv, const void* act, std::size_t act_stride, int n_tokens,
                   float* out, std::size_t out_stride, Values2 values2, Values values, Scale scale) {
    const auto* w = static_cast<const Block*>(wv);
    const std::int64_t nb = n / kQK;
    with_tokens(n_tokens, [&](auto nt) {
        constexpr int NT = decltype(nt)::value;
        const auto a = per_token<NT>(act, act_stride, [n](const void* p) { return q8_0_row(p, n); });
        __m512 acc[NT];
        for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
        std::int64_t i = 0;
        for (; i + 2 <= nb; i += 2) {
            prefetch_ahead<2 * sizeof(Block)>(w + i);
            const __m512i q = values2(w, i);
            const __m512i magnitude = _mm512_abs_epi8(q);
            const __mmask64 negative = _mm512_movepi8_mask(q);
            const __m512 dw = two_scales(scale(w[i]), scale(w[i + 1]));
            for (int t = 0; t < NT; ++t) {
                const __m512i y = load512(a[t].qs + kQK * i);
                const __m512i signed_y = _mm512_mask_sub_epi8(y, negative, _mm512_setzero_si512(), y);
                const __m512 d = _mm512_mul_ps(dw, two_scales(a[t].d[i], a[t].d[i + 1]));
                acc[t] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(dot_u8s8(magnitude, signed_y)), acc[t]);
            }
        }
        for (int t = 0; t < NT; ++t) {
            float sum = _mm512_reduce_add_ps(acc[t]);
            if (i < nb) {
                const __m256i p = dot_i8_256(values(w, i), load256(a[t].qs + kQK * i));
                sum += scale(w[i]) * a[t].d[i] * hsum256(_mm256_cvtepi32_ps(p));
            }
            out[static_cast<std::size_t>(t) * out_stride] = sum;
        }
    });
}

void rows_q8_0(std::int64_t n, const void* w, const void* act, std::size_t act_stride, int n_tokens,
               float* out, std::size_t out_stride) {
    rows_blocks32<BlockQ8_0>(
        n, w, act, act_stride, n_tokens, out, out_stride,
        [](const BlockQ8_0* b, std::int64_t i) { return join(load256(b[i].qs), load256(b[i + 1].qs)); },
        [](const BlockQ8_0* b, std::int64_t i) { return load256(b[i].qs); },
        [](const BlockQ8_0& b) { return h2f(b.d); });
}

// Q4_0 and MXFP4 against q8_0_nib activations (fast_block_helpers.h), 4 blocks per
// vector, for up to kMaxTokens tokens at once. The 4 blocks' 16-byte nibble arrays fill
// one vector; its low and high nibbles, turned into offset weights u = w + kOffset >= 0 by
// unsigned(nibbles), each meet 64 contiguous activations, so nothing is permuted and no
// sign is moved: per 4-byte lane, sum u * y - kOffset * sum y, the sum being the
// activations' precomputed neg_sums. scales4(w) gives the 4 blocks' scales; the nb % 4
// tail blocks go one at a time with signed(w) (values in activation order).
template <class Block, int kShift, class Unsigned, class Signed, class Scales4, class Scale>
void rows_nib4(std::int64_t n, const void* wv, const void* act, std::size_t act_stride, int n_tokens,
               float* out, std::size_t out_stride, Unsigned unsigned_values, Signed signed_values,
               Scales4 scales4, Scale scale) {
    const auto* w = static_cast<const Block*>(wv);
    const std::int64_t nb = n / kQK;
    const __m512i m4 = _mm512_set1_epi8(0xf);
    const __m512i lanes4 = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    with_tokens(n_tokens, [&](auto nt) {
        constexpr int NT = decltype(nt)::value;
        const auto a = per_token<NT>(act, act_stride, [n](const void* p) { return q8_0_nib_row(p, n); });
        const std::int64_t groups = a[0].groups;
        __m512 acc[NT];
        for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
        for (std::int64_t g = 0; g < groups; ++g) {
            const Block* b = w + 4 * g;
            prefetch_ahead<4 * sizeof(Block)>(b);
            __m512i q = _mm512_castsi128_si512(load128(b[0].qs));
            q = _mm512_inserti32x4(q, load128(b[1].qs), 1);
            q = _mm512_inserti32x4(q, load128(b[2].qs), 2);
            q = _mm512_inserti32x4(q, load128(b[3].qs), 3);
            const __m512i lo = unsigned_values(_mm512_and_si512(q, m4));
            const __m512i hi = unsigned_values(_mm512_and_si512(_mm512_srli_epi16(q, 4), m4));
            const __m512 dw = _mm512_permutexvar_ps(lanes4, _mm512_castps128_ps512(scales4(b)));
            for (int t = 0; t < NT; ++t) {
                const std::int8_t* y = a[t].qs + 128 * g;
                const __m512i offset = _mm512_slli_epi32(load512(a[t].neg_sums + 16 * g), kShift);
                const __m512i sums = dot2_u8s8(offset, lo, load512(y), hi, load512(y + 64));
                const __m512 d = _mm512_mul_ps(dw, _mm512_loadu_ps(a[t].d16 + 16 * g));
                acc[t] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(sums), acc[t]);
            }
        }
        for (int t = 0; t < NT; ++t) {
            float sum = _mm512_reduce_add_ps(acc[t]);
            for (std::int64_t i = 4 * groups; i < nb; ++i) {
                const __m256i p = dot_i8_256(signed_values(w[i]), load256(a[t].qs + nib_pos(i, 0, groups)));
                sum += scale(w[i]) * a[t].d[i] * hsum256(_mm256_cvtepi32_ps(p));
            }
            out[static_cast<std::size_t>(t) * out_stride] = sum;
        }
    });
}

void rows_q4_0(std::int64_t n, const void* w, const void* act, std::size_t act_stride, int n_tokens,
               float* out, std::size_t out_stride) {
    rows_nib4<BlockQ4_0, 3>(  // u = nibble = w + 8
        n, w, act, act_stride, n_tokens, out, out_stride, [](__m512i nibbles) { return nibbles; },
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
    const __m512i book16 = _mm512_broadcast_i32x4(load128(kValuesMXFP4Plus16.data()));  // codebook + 16
    const __m256i book = _mm256_broadcastsi128_si256(load128(kValuesMXFP4.data()));
    rows_nib4<BlockMXFP4, 4>(
        n, w, act, act_stride, n_tokens, out, out_stride,
        [book16](__m512i nibbles) { return _mm512_shuffle_epi8(book16, nibbles); },
        [book](const BlockMXFP4& b) { return _mm256_shuffle_epi8(book, nibbles32(b.qs)); },
        [](const BlockMXFP4* b) { return e8m0_half4(b); },
        [](const BlockMXFP4& b) { return e8m0_half(b.e); });
}

// Q4_K and Q5_K: 256-bit vectors (fast_k4_body.h).
#define FERRY_K4_VNNI FERRY_AVX512_VNNI
#include "cpu/fast_k4_body.h"
#undef FERRY_K4_VNNI

// Q6_K scale lanes: int16 lane L of a 64-element product covers elements 2L, 2L + 1, so
// 8 lanes per 16-element sub-block. Entry k: sub-blocks 4k .. 4k + 3.
alignas(64) constexpr std::int16_t kQuadIdx[4][32] = {
    {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
    {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
    {8,  8,  8,  8,  8,  8,  8,  8,  9,  9,  9,  9,  9,  9,  9,  9,
     10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11},
    {12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13,
     14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15},
};
alignas(64) constexpr std::int16_t kQ6Shift[2][32] = {
    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2},
    {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6},
};

// Q6_K, for up to kMaxTokens tokens at once: in half h the 64 ql bytes hold groups 0 | 1
// in their low nibbles and 2 | 3 in the high ones, which are activations 128h + 0..63 and
// 128h + 64..127, contiguous.
void rows_q6_K(std::int64_t n, const void* wv, const void* act, std::size_t act_stride, int n_tokens,
               float* out, std::size_t out_stride) {
    const auto* w = static_cast<const BlockQ6_K*>(wv);
    const __m512i m4 = _mm512_set1_epi8(0xf), m3 = _mm512_set1_epi8(3);
    const __m512i shift01 = load512(kQ6Shift[0]), shift23 = load512(kQ6Shift[1]);
    with_tokens(n_tokens, [&](auto nt) {
        constexpr int NT = decltype(nt)::value;
        const auto a = q8_K_rows<NT>(act, act_stride);
        __m512 acc[NT];
        for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
        for (std::int64_t i = 0; i < n / kQKK; ++i) {
            prefetch_ahead<sizeof(w[i])>(w + i);
            const __m256i sc16 = _mm256_cvtepi8_epi16(load128(w[i].scales));
            const __m512i sc = _mm512_zextsi256_si512(sc16);
            __m512i q[4], s[4];  // q[k]: activations 64k .. 64k + 63
            for (int h = 0; h < 2; ++h) {
                const __m512i ql = load512(w[i].ql + 64 * h);
                const __m512i qh = join(load256(w[i].qh + 32 * h), load256(w[i].qh + 32 * h));
                q[2 * h] = _mm512_or_si512(
                    _mm512_and_si512(ql, m4),
                    _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, shift01), m3), 4));
                q[2 * h + 1] = _mm512_or_si512(
                    _mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                    _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, shift23), m3), 4));
            }
            for (int k = 0; k < 4; ++k) s[k] = _mm512_permutexvar_epi16(load512(kQuadIdx[k]), sc);
            const float d = h2f(w[i].d);
            for (int t = 0; t < NT; ++t) {
                const BlockQ8_K& y = a[t][i];
                __m512i sumi = _mm512_setzero_si512();
                for (int k = 0; k < 4; ++k)
                    sumi = madd_acc(sumi, _mm512_maddubs_epi16(q[k], load512(y.qs + 64 * k)), s[k]);
                const __m256i offset = _mm256_madd_epi16(load256(y.bsums), sc16);  // sum scale * sum(y)
                sumi = _mm512_sub_epi32(sumi, _mm512_zextsi256_si512(_mm256_slli_epi32(offset, 5)));
                acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(y.d * d), _mm512_cvtepi32_ps(sumi), acc[t]);
            }
        }
        for (int t = 0; t < NT; ++t)
            out[static_cast<std::size_t>(t) * out_stride] = _mm512_reduce_add_ps(acc[t]);
    });
}

// IQ4_XS: the 8 sub-block scales (iq4_xs_scale) as int16, computed in registers (through
// memory, 8 scalar stores and a vector load, the load waits for the stores to retire).
inline __m128i iq4_xs_scales(const BlockIQ4_XS& b) {
    std::uint32_t low;
    std::memcpy(&low, b.scales_l, sizeof low);
    const __m128i m4 = _mm_set1_epi8(0xf), l = _mm_cvtsi32_si128(static_cast<int>(low));
    // Byte j: low nibble j (bytes of scales_l low nibble first).
    const __m128i nibbles = _mm_unpacklo_epi8(_mm_and_si128(l, m4), _mm_and_si128(_mm_srli_epi16(l, 4), m4));
    const __m128i high = _mm_and_si128(_mm_srlv_epi16(_mm_set1_epi16(static_cast<short>(b.scales_h)),
                                                      _mm_setr_epi16(0, 2, 4, 6, 8, 10, 12, 14)),
                                       _mm_set1_epi16(3));
    return _mm_sub_epi16(_mm_or_si128(_mm_cvtepu8_epi16(nibbles), _mm_slli_epi16(high, 4)),
                         _mm_set1_epi16(32));
}

// IQ4_XS, for up to kMaxTokens tokens at once: a 64-byte load holds sub-blocks 4h .. 4h + 3
// (16 bytes each); nibble planes are interleaved back into element order, two sub-blocks
// per vector, looked up in the codebook once per super-block.
void rows_iq4_xs(std::int64_t n, const void* wv, const void* act, std::size_t act_stride, int n_tokens,
                 float* out, std::size_t out_stride) {
    const auto* w = static_cast<const BlockIQ4_XS*>(wv);
    const __m512i book = _mm512_broadcast_i32x4(load128(kValuesIQ4NL.data()));
    const __m512i m4 = _mm512_set1_epi8(0xf);
    const __m512i first = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);
    const __m512i second = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
    // Lane indices: lanes 0..15 take scale 2k, 16..31 scale 2k + 1 (sub-blocks in order).
    const __m512i upper = _mm512_mask_set1_epi16(_mm512_setzero_si512(), 0xffff0000u, 1);
    with_tokens(n_tokens, [&](auto nt) {
        constexpr int NT = decltype(nt)::value;
        const auto a = q8_K_rows<NT>(act, act_stride);
        __m512 acc[NT];
        for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
        for (std::int64_t i = 0; i < n / kQKK; ++i) {
            prefetch_ahead<sizeof(w[i])>(w + i);
            const __m512i sc = _mm512_castsi128_si512(iq4_xs_scales(w[i]));
            __m512i magnitude[4], scale[4];  // [k]: sub-blocks 2k, 2k + 1 = activations 64k .. 64k + 63
            __mmask64 negative[4];
            for (int h = 0; h < 2; ++h) {
                const __m512i q = load512(w[i].qs + 64 * h);
                const __m512i lo = _mm512_and_si512(q, m4),
                              hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
                const __m512i v[2] = {_mm512_shuffle_epi8(book, _mm512_permutex2var_epi64(lo, first, hi)),
                                      _mm512_shuffle_epi8(book, _mm512_permutex2var_epi64(lo, second, hi))};
                for (int k = 2 * h; k < 2 * h + 2; ++k) {
                    magnitude[k] = _mm512_abs_epi8(v[k - 2 * h]);
                    negative[k] = _mm512_movepi8_mask(v[k - 2 * h]);
                    scale[k] = _mm512_permutexvar_epi16(
                        _mm512_add_epi16(upper, _mm512_set1_epi16(static_cast<short>(2 * k))), sc);
                }
            }
            const float d = h2f(w[i].d);
            for (int t = 0; t < NT; ++t) {
                const BlockQ8_K& yb = a[t][i];
                __m512i sumi = _mm512_setzero_si512();
                for (int k = 0; k < 4; ++k) {
                    const __m512i y = load512(yb.qs + 64 * k);
                    const __m512i signed_y = _mm512_mask_sub_epi8(y, negative[k], _mm512_setzero_si512(), y);
                    sumi = madd_acc(sumi, _mm512_maddubs_epi16(magnitude[k], signed_y), scale[k]);
                }
                acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(yb.d * d), _mm512_cvtepi32_ps(sumi), acc[t]);
            }
        }
        for (int t = 0; t < NT; ++t)
            out[static_cast<std::size_t>(t) * out_stride] = _mm512_reduce_add_ps(acc[t]);
    });
}

float dot_f16(std::int64_t n, const void* wv, const void* av) {
    const auto* w = static_cast<const std::uint16_t*>(wv);
    const auto* x = static_cast<const float*>(av);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    std::int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        prefetch_ahead<64>(w + i);
        acc0 = _mm512_fmadd_ps(_mm512_cvtph_ps(load256(w + i)), _mm512_loadu_ps(x + i), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_cvtph_ps(load256(w + i + 16)), _mm512_loadu_ps(x + i + 16), acc1);
    }
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    for (; i < n; ++i) sum += h2f(w[i]) * x[i];
    return sum;
}

inline __m512 bf16x16(const std::uint16_t* p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(load256(p)), 16));
}

float dot_bf16(std::int64_t n, const void* wv, const void* av) {
    const auto* w = static_cast<const std::uint16_t*>(wv);
    const auto* x = static_cast<const float*>(av);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    std::int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        prefetch_ahead<64>(w + i);
        acc0 = _mm512_fmadd_ps(bf16x16(w + i), _mm512_loadu_ps(x + i), acc0);
        acc1 = _mm512_fmadd_ps(bf16x16(w + i + 16), _mm512_loadu_ps(x + i + 16), acc1);
    }
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    for (; i < n; ++i) sum += std::bit_cast<float>(static_cast<std::uint32_t>(w[i]) << 16) * x[i];
    return sum;
}

const KernelSet kAvx512{
    FERRY_AVX512_VNNI ? "avx512_vnni" : "avx512",
    {rows_q4_0, rows_q8_0, rows_mxfp4, k4::rows_k4<false>, k4::rows_k4<true>, rows_q6_K, rows_iq4_xs,
     rows_of<dot_f16>, rows_of<dot_bf16>},
#if FERRY_AVX512_VNNI
    {nullptr, nullptr, nullptr, k4::rows2_k4<false>, k4::rows2_k4<true>},
#else
    {},
#endif
};

}  // namespace
}  // namespace ferry::cpu::fast
