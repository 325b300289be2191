// Q4_K and Q5_K in 256-bit vectors, included by fast_avx2.cpp (FERRY_K4_VNNI 0) and
// fast_avx512_body.h (FERRY_K4_VNNI 1 in the VNNI file). The AVX-512 files compile the same
// code with 32 vector registers, where a batch of tokens keeps the unpacked super-block
// and every token's accumulator in registers. 512-bit versions were slower on the
// Skylake-SP-class Xeon they were measured on (RESULTS.md). Not a standalone header: the
// includer provides <immintrin.h>, fast_block_helpers.h and `using namespace quant`.

namespace k4 {

inline __m256i load256(const void* p) {
    return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Byte shuffle that doubles bytes 8..15: m0 m0 m1 m1 ... m7 m7 (a min per 16 activations,
// the mins being bytes 8..15 of the unpacked scales).
alignas(16) constexpr std::uint8_t kDoubleMins[16] = {8,  8,  9,  9,  10, 10, 11, 11,
                                                      12, 12, 13, 13, 14, 14, 15, 15};

#if FERRY_K4_VNNI
// Word shuffles of the 8 scales (words 0..7 of each lane) for a pair of sub-blocks 2c,
// 2c + 1 whose int32 dot products were packed to int16 (packs_epi32, in-lane: 4 of 2c,
// then 4 of 2c + 1): words 0..3 take scale 2c, 4..7 scale 2c + 1, in both lanes.
alignas(32) constexpr std::uint8_t kPairScales[4][32] = {
#define FERRY_P(c)                                                                                           \
    4 * c, 4 * c + 1, 4 * c, 4 * c + 1, 4 * c, 4 * c + 1, 4 * c, 4 * c + 1, 4 * c + 2, 4 * c + 3, 4 * c + 2, \
        4 * c + 3, 4 * c + 2, 4 * c + 3, 4 * c + 2, 4 * c + 3
    {FERRY_P(0), FERRY_P(0)},
    {FERRY_P(1), FERRY_P(1)},
    {FERRY_P(2), FERRY_P(2)},
    {FERRY_P(3), FERRY_P(3)},
#undef FERRY_P
};
constexpr int kScaleVectors = 4;
#else
// Byte shuffles that repeat int16 word j over a 128-bit lane (both lanes alike).
alignas(32) constexpr std::uint8_t kWordBroadcast[8][32] = {
#define FERRY_W(j) 2 * j, 2 * j + 1
#define FERRY_W16(j) \
    FERRY_W(j), FERRY_W(j), FERRY_W(j), FERRY_W(j), FERRY_W(j), FERRY_W(j), FERRY_W(j), FERRY_W(j)
    {FERRY_W16(0), FERRY_W16(0)}, {FERRY_W16(1), FERRY_W16(1)}, {FERRY_W16(2), FERRY_W16(2)},
    {FERRY_W16(3), FERRY_W16(3)}, {FERRY_W16(4), FERRY_W16(4)}, {FERRY_W16(5), FERRY_W16(5)},
    {FERRY_W16(6), FERRY_W16(6)}, {FERRY_W16(7), FERRY_W16(7)},
#undef FERRY_W16
#undef FERRY_W
};
constexpr int kScaleVectors = 8;
#endif

// The 8 sub-block dot products of one token, each times its scale, summed (8 int32 lanes).
// q[j]: sub-block j's 32 levels (0..31), y: the token's 256 activations.
inline __m256i scaled_dot(const __m256i* q, const __m256i* s, const std::int8_t* y) {
#if FERRY_K4_VNNI
    // u8 x s8 in fours (vpdpbusd); a sum of 4 products (|.| <= 4 * 31 * 127) fits int16, so
    // two sub-blocks pack into one vector and meet their scales in one vpdpwssd.
    __m256i sumi = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
        const __m256i d0 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q[2 * c], load256(y + 64 * c));
        const __m256i d1 =
            _mm256_dpbusd_epi32(_mm256_setzero_si256(), q[2 * c + 1], load256(y + 64 * c + 32));
        sumi = _mm256_dpwssd_epi32(sumi, _mm256_packs_epi32(d0, d1), s[c]);
    }
    return sumi;
#else
    __m256i sumi = _mm256_madd_epi16(_mm256_maddubs_epi16(q[0], load256(y)), s[0]);
    for (int j = 1; j < 8; ++j)
        sumi =
            _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(q[j], load256(y + 32 * j)), s[j]));
    return sumi;
#endif
}

// Bytes 0..7: the 8 scales of a super-block, 8..15: the 8 mins (as scales_mins_k4, kept
// in registers).
inline __m128i scales_mins(const std::uint8_t* packed) {
    std::uint32_t sw[3];
    std::memcpy(sw, packed, sizeof sw);
    const std::uint32_t low6 = 0x3f3f3f3fu, low4 = 0x0f0f0f0fu, low2 = 0x03030303u;
    const std::uint64_t scales = (sw[0] & low6) | std::uint64_t{(sw[2] & low4) | (((sw[0] >> 6) & low2) << 4)}
                                                      << 32;
    const std::uint64_t mins =
        (sw[1] & low6) | std::uint64_t{((sw[2] >> 4) & low4) | (((sw[1] >> 6) & low2) << 4)} << 32;
    return _mm_set_epi64x(static_cast<long long>(mins), static_cast<long long>(scales));
}

// Q4_K and Q5_K, for up to kMaxTokens tokens at once: each super-block is unpacked once
// (8 vectors of 32 levels, in activation order, and their scales) and dotted with every
// token's block. Chunk c's 32 bytes hold sub-block 2c in the low nibbles and 2c + 1 in the
// high ones; Q5_K's fifth bit of sub-block j is bit j of qh[l]. The mins meet the
// activation sums per 16.
template <bool kFifthBit>
void rows_k4(std::int64_t n, const void* wv, const void* act, std::size_t act_stride, int n_tokens,
             float* out, std::size_t out_stride) {
    using Block = std::conditional_t<kFifthBit, BlockQ5_K, BlockQ4_K>;
    const auto* w = static_cast<const Block*>(wv);
    with_tokens(n_tokens, [&](auto nt) {
        constexpr int NT = decltype(nt)::value;
        const __m256i m4 = _mm256_set1_epi8(0xf), bit4 = _mm256_set1_epi8(0x10);
        const auto a = q8_K_rows<NT>(act, act_stride);
        __m256 acc[NT];
        for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
        for (std::int64_t i = 0; i < n / kQKK; ++i) {
            const Block& b = w[i];
            prefetch_ahead<sizeof(Block)>(&b);
            const __m128i sm = scales_mins(b.scales);
            const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
            const __m256i mins16 = _mm256_cvtepu8_epi16(
                _mm_shuffle_epi8(sm, _mm_load_si128(reinterpret_cast<const __m128i*>(kDoubleMins))));
            __m256i q[8];  // q[j]: sub-block j's 32 levels, activations 32j..32j+31
            for (int c = 0; c < 4; ++c) {
                const __m256i bytes = load256(b.qs + 32 * c);
                q[2 * c] = _mm256_and_si256(bytes, m4);
                q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), m4);
            }
            if constexpr (kFifthBit) {
                // Bit j of each qh byte to bit 4 by 16-bit shifts: bits that cross into
                // the neighbouring byte land away from bit 4 and are masked off.
                const __m256i h = load256(b.qh);
                q[0] = _mm256_or_si256(q[0], _mm256_and_si256(_mm256_slli_epi16(h, 4), bit4));
                q[1] = _mm256_or_si256(q[1], _mm256_and_si256(_mm256_slli_epi16(h, 3), bit4));
                q[2] = _mm256_or_si256(q[2], _mm256_and_si256(_mm256_slli_epi16(h, 2), bit4));
                q[3] = _mm256_or_si256(q[3], _mm256_and_si256(_mm256_slli_epi16(h, 1), bit4));
                q[4] = _mm256_or_si256(q[4], _mm256_and_si256(h, bit4));
                q[5] = _mm256_or_si256(q[5], _mm256_and_si256(_mm256_srli_epi16(h, 1), bit4));
                q[6] = _mm256_or_si256(q[6], _mm256_and_si256(_mm256_srli_epi16(h, 2), bit4));
                q[7] = _mm256_or_si256(q[7], _mm256_and_si256(_mm256_srli_epi16(h, 3), bit4));
            }
            __m256i s[kScaleVectors];
            for (int k = 0; k < kScaleVectors; ++k) {
#if FERRY_K4_VNNI
                const std::uint8_t* pattern = kPairScales[k];
#else
                const std::uint8_t* pattern = kWordBroadcast[k];
#endif
                s[k] =
                    _mm256_shuffle_epi8(sc16, _mm256_load_si256(reinterpret_cast<const __m256i*>(pattern)));
            }
            const __m256 d = _mm256_set1_ps(_cvtsh_ss(b.d)), dmin = _mm256_set1_ps(_cvtsh_ss(b.dmin));
            for (int t = 0; t < NT; ++t) {
                const BlockQ8_K& y = a[t][i];
                const __m256i sumi = scaled_dot(q, s, y.qs);
                const __m256i summ = _mm256_madd_epi16(load256(y.bsums), mins16);
                const __m256 v = _mm256_fmsub_ps(d, _mm256_cvtepi32_ps(sumi),
                                                 _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(summ)));
                acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(y.d), v, acc[t]);
            }
        }
        for (int t = 0; t < NT; ++t) out[static_cast<std::size_t>(t) * out_stride] = hsum(acc[t]);
    });
}

#if FERRY_K4_VNNI
// rows_k4 for two rows and a batch (2..kMaxTokens tokens), in 512-bit vectors: row 0 in the
// low 256 bits, row 1 in the high, each token's 256-bit activations broadcast to both
// halves. Every 256-bit half does what rows_k4 does for its row, operation for operation
// (the in-lane packs and shuffles keep to their 128-bit lanes), so the results are the same
// bits; a token's ~20 instructions per super-block now serve two rows.
inline __m512i join256(__m256i lo, __m256i hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
inline __m512i both_halves(const void* p) {
    return _mm512_broadcast_i64x4(load256(p));
}
// Lanes 0..7 = a, 8..15 = b.
inline __m512 pair_ps(float a, float b) {
    return _mm512_mask_mov_ps(_mm512_set1_ps(a), 0xff00, _mm512_set1_ps(b));
}

template <bool kFifthBit>
void rows2_k4(std::int64_t n, const void* wv, std::size_t w_stride, const void* act, std::size_t act_stride,
              int n_tokens, float* out, std::size_t out_stride) {
    using Block = std::conditional_t<kFifthBit, BlockQ5_K, BlockQ4_K>;
    const auto* w0 = static_cast<const Block*>(wv);
    const auto* w1 = reinterpret_cast<const Block*>(static_cast<const std::uint8_t*>(wv) + w_stride);
    with_tokens(n_tokens, [&](auto nt) {
        constexpr int NT = decltype(nt)::value;
        const __m512i m4 = _mm512_set1_epi8(0xf), bit4 = _mm512_set1_epi8(0x10);
        const __m128i double_mins = _mm_load_si128(reinterpret_cast<const __m128i*>(kDoubleMins));
        const auto a = q8_K_rows<NT>(act, act_stride);
        __m512 acc[NT];
        for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
        for (std::int64_t i = 0; i < n / kQKK; ++i) {
            const Block &b0 = w0[i], &b1 = w1[i];
            prefetch_ahead<sizeof(Block)>(&b0);
            prefetch_ahead<sizeof(Block)>(&b1);
            const __m128i sm0 = scales_mins(b0.scales), sm1 = scales_mins(b1.scales);
            const __m512i sc16 = join256(_mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm0)),
                                         _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm1)));
            const __m512i mins16 = join256(_mm256_cvtepu8_epi16(_mm_shuffle_epi8(sm0, double_mins)),
                                           _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sm1, double_mins)));
            __m512i q[8];  // q[j]: sub-block j's 32 levels of both rows
            for (int c = 0; c < 4; ++c) {
                const __m512i bytes = join256(load256(b0.qs + 32 * c), load256(b1.qs + 32 * c));
                q[2 * c] = _mm512_and_si512(bytes, m4);
                q[2 * c + 1] = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), m4);
            }
            if constexpr (kFifthBit) {
                const __m512i h = join256(load256(b0.qh), load256(b1.qh));
                q[0] = _mm512_or_si512(q[0], _mm512_and_si512(_mm512_slli_epi16(h, 4), bit4));
                q[1] = _mm512_or_si512(q[1], _mm512_and_si512(_mm512_slli_epi16(h, 3), bit4));
                q[2] = _mm512_or_si512(q[2], _mm512_and_si512(_mm512_slli_epi16(h, 2), bit4));
                q[3] = _mm512_or_si512(q[3], _mm512_and_si512(_mm512_slli_epi16(h, 1), bit4));
                q[4] = _mm512_or_si512(q[4], _mm512_and_si512(h, bit4));
                q[5] = _mm512_or_si512(q[5], _mm512_and_si512(_mm512_srli_epi16(h, 1), bit4));
                q[6] = _mm512_or_si512(q[6], _mm512_and_si512(_mm512_srli_epi16(h, 2), bit4));
                q[7] = _mm512_or_si512(q[7], _mm512_and_si512(_mm512_srli_epi16(h, 3), bit4));
            }
            __m512i s[4];
            for (int k = 0; k < 4; ++k)
                s[k] = _mm512_shuffle_epi8(sc16, _mm512_broadcast_i32x4(load128(kPairScales[k])));
            const __m512 d = pair_ps(_cvtsh_ss(b0.d), _cvtsh_ss(b1.d));
            const __m512 dmin = pair_ps(_cvtsh_ss(b0.dmin), _cvtsh_ss(b1.dmin));
            // Unrolled, or GCC keeps acc[] on the stack (a store and reload per update).
#pragma GCC unroll 8
            for (int t = 0; t < NT; ++t) {
                const BlockQ8_K& y = a[t][i];
                // scaled_dot in two chains (integer sums: the order does not matter).
                __m512i part[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
                for (int c = 0; c < 4; ++c) {
                    const __m512i d0 =
                        _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[2 * c], both_halves(y.qs + 64 * c));
                    const __m512i d1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[2 * c + 1],
                                                           both_halves(y.qs + 64 * c + 32));
                    part[c / 2] = _mm512_dpwssd_epi32(part[c / 2], _mm512_packs_epi32(d0, d1), s[c]);
                }
                const __m512i sumi = _mm512_add_epi32(part[0], part[1]);
                const __m512i summ = _mm512_madd_epi16(both_halves(y.bsums), mins16);
                const __m512 v = _mm512_fmsub_ps(d, _mm512_cvtepi32_ps(sumi),
                                                 _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(summ)));
                acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(y.d), v, acc[t]);
            }
        }
        for (int t = 0; t < NT; ++t) {
            float* o = out + static_cast<std::size_t>(t) * out_stride;
            o[0] = hsum(_mm512_castps512_ps256(acc[t]));
            o[1] = hsum(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[t]), 1)));
        }
    });
}
#endif

}  // namespace k4
