// Weight access for the matvec / matmul shaders, specialised by one QTYPE_<type> define.
// Include after quant_blocks.glsl (FERRY_QUANT_WORDS names the uint[] of weights) and,
// for mv_unit_dot, after declaring `float x[]` and its vec4 alias `x4[]`.
//
//   W_BE, W_BB         elements and bytes of one block (1 element for F32 / F16 / BF16)
//   w_elem(b, i)       element i of the block starting at byte b (the readable definition)
//   MV_UNIT            elements one invocation handles per step of the decode matvec
//   mv_unit_dot(rb, u, xb)
//                      sum over unit u of the row starting at byte rb of W * x[xb + c]
//
// Every type has an unrolled unit that reads whole words (x as vec4 for the block types:
// their x offsets are multiples of 4 floats); F32 goes through w_elem, 4 elements per unit.
#ifndef FERRY_MATVEC_WEIGHTS_GLSL
#define FERRY_MATVEC_WEIGHTS_GLSL

#include "quant_layout.h"
#include "matvec_layout.h"

// ---- block geometry and per-element decode
#if defined(QTYPE_F32)
#define W_PLAIN 1
#define W_BE 1u
#define W_BB 4u
float w_elem(uint b, uint i) { return uintBitsToFloat(FERRY_QUANT_WORDS[b >> 2u]); }
#elif defined(QTYPE_F16)
#define W_PLAIN 1
#define W_BE 1u
#define W_BB 2u
float w_elem(uint b, uint i) { return fq_f16(b); }
#elif defined(QTYPE_BF16)
#define W_PLAIN 1
#define W_BE 1u
#define W_BB 2u
float w_elem(uint b, uint i) { return uintBitsToFloat(fq_u16(b) << 16u); }
#elif defined(QTYPE_Q4_0)
#define W_BE 32u
#define W_BB 18u
#define w_elem fq_q4_0
#elif defined(QTYPE_Q4_1)
#define W_BE 32u
#define W_BB 20u
#define w_elem fq_q4_1
#elif defined(QTYPE_Q5_0)
#define W_BE 32u
#define W_BB 22u
#define w_elem fq_q5_0
#elif defined(QTYPE_Q5_1)
#define W_BE 32u
#define W_BB 24u
#define w_elem fq_q5_1
#elif defined(QTYPE_Q8_0)
#define W_BE 32u
#define W_BB 34u
#define w_elem fq_q8_0
#elif defined(QTYPE_Q2_K)
#define W_BE 256u
#define W_BB 84u
#define w_elem fq_q2_k
#elif defined(QTYPE_Q3_K)
#define W_BE 256u
#define W_BB 110u
#define w_elem fq_q3_k
#elif defined(QTYPE_Q4_K)
#define W_BE 256u
#define W_BB 144u
#define w_elem fq_q4_k
#elif defined(QTYPE_Q5_K)
#define W_BE 256u
#define W_BB 176u
#define w_elem fq_q5_k
#elif defined(QTYPE_Q6_K)
#define W_BE 256u
#define W_BB 210u
#define w_elem fq_q6_k
#elif defined(QTYPE_IQ4_NL)
#define W_BE 32u
#define W_BB 18u
#define w_elem fq_iq4_nl
#elif defined(QTYPE_IQ4_XS)
#define W_BE 256u
#define W_BB 136u
#define w_elem fq_iq4_xs
#elif defined(QTYPE_MXFP4)
#define W_BE 32u
#define W_BB 17u
#define w_elem fq_mxfp4
#else
#error "define one QTYPE_<type>"
#endif

// Element c of the row starting at byte rb.
float w_at(uint rb, uint c) {
    return w_elem(rb + (c / W_BE) * W_BB, c % W_BE);
}

// ---- word loads at any byte offset. The second word is read only when the four bytes
// straddle two words, so a load never reaches past the last word holding a weight byte.
uint w_word(uint byte) {
    const uint i = byte >> 2u;
    const uint s = (byte & 3u) * 8u;
    if (s == 0u) return FERRY_QUANT_WORDS[i];
    return (FERRY_QUANT_WORDS[i] >> s) | (FERRY_QUANT_WORDS[i + 1u] << (32u - s));
}

// The four bytes of w as 0..255 each, low byte first.
vec4 w_bytes(uint w) {
    return vec4((uvec4(w) >> uvec4(0u, 8u, 16u, 24u)) & 0xffu);
}
// The four bytes of w as signed int8, low byte first.
vec4 w_sbytes(uint w) {
    return vec4(ivec4(uvec4(w) << uvec4(24u, 16u, 8u, 0u)) >> 24);
}
float hsum(vec4 v) {
    return (v.x + v.y) + (v.z + v.w);
}
// Bits 0..3 of t as the low bits of four bytes (Q5_0 / Q5_1 fifth bits beside 4-bit parts).
uint w_spread4(uint t) {
    return (t & 1u) | ((t & 2u) << 7u) | ((t & 4u) << 14u) | ((t & 8u) << 21u);
}

#if defined(QTYPE_Q4_0) || defined(QTYPE_IQ4_NL) || defined(QTYPE_MXFP4) || defined(QTYPE_Q4_1) || \
    defined(QTYPE_Q5_0) || defined(QTYPE_Q5_1)
// The header of a 32-weight block of 4-bit parts at byte b: its scale d, min m (Q4_1, Q5_1;
// else 0), the byte of its 16 code bytes, and its fifth bits (Q5_0, Q5_1; else 0).
struct Block32 {
    float d, m;
    uint qs, qh;
};
Block32 w_block32(uint b) {
#if defined(QTYPE_Q4_0)
    return Block32(fq_f16(b + FERRY_Q4_0_OFF_D), 0.0, b + FERRY_Q4_0_OFF_QS, 0u);
#elif defined(QTYPE_Q4_1)
    return Block32(fq_f16(b + FERRY_Q4_1_OFF_D), fq_f16(b + FERRY_Q4_1_OFF_M), b + FERRY_Q4_1_OFF_QS, 0u);
#elif defined(QTYPE_Q5_0)
    return Block32(fq_f16(b + FERRY_Q5_0_OFF_D), 0.0, b + FERRY_Q5_0_OFF_QS, w_word(b + FERRY_Q5_0_OFF_QH));
#elif defined(QTYPE_Q5_1)
    return Block32(fq_f16(b + FERRY_Q5_1_OFF_D), fq_f16(b + FERRY_Q5_1_OFF_M), b + FERRY_Q5_1_OFF_QS,
                   w_word(b + FERRY_Q5_1_OFF_QH));
#elif defined(QTYPE_IQ4_NL)
    return Block32(fq_f16(b + FERRY_IQ4_NL_OFF_D), 0.0, b + FERRY_IQ4_NL_OFF_QS, 0u);
#else
    return Block32(fq_e8m0_half(fq_u8(b + FERRY_MXFP4_OFF_E)), 0.0, b + FERRY_MXFP4_OFF_QS, 0u);
#endif
}
#endif

#ifndef W_PLAIN
// ---- elements c0 .. c0 + 15 of the row at byte rb (c0 a multiple of 16, inside the row:
// rows are whole blocks of 32 or 256): the prefill tile's staging. Each block type decodes
// the block's scales once for the 16 and reads whole words; each element comes out with the
// same arithmetic as w_elem, so the values are w_at's exactly.
#if defined(QTYPE_Q4_K)
void w_decode16(uint rb, uint c0, out float v[16]) {
    const uint b = rb + (c0 >> 8u) * W_BB, i0 = c0 & 255u, j = i0 >> 5u;
    const float dl = fq_f16(b + FERRY_Q4_K_OFF_D) * float(fq_scale_k4(b + FERRY_Q4_K_OFF_SCALES, j));
    const float ml = fq_f16(b + FERRY_Q4_K_OFF_DMIN) * float(fq_min_k4(b + FERRY_Q4_K_OFF_SCALES, j));
    // Word-aligned: rows and blocks start at multiples of 4 bytes, qs at 16, runs of 16.
    const uint qw = (b + FERRY_Q4_K_OFF_QS + 32u * (i0 >> 6u) + (i0 & 31u)) >> 2u;
    const uint shift = 4u * (j & 1u);
    for (uint w = 0u; w < 4u; ++w) {
        const vec4 q = w_bytes((FERRY_QUANT_WORDS[qw + w] >> shift) & 0x0f0f0f0fu);
        for (uint k = 0u; k < 4u; ++k) v[4u * w + k] = dl * q[k] - ml;
    }
}
#elif defined(QTYPE_Q5_K)
void w_decode16(uint rb, uint c0, out float v[16]) {
    const uint b = rb + (c0 >> 8u) * W_BB, i0 = c0 & 255u, j = i0 >> 5u;
    const float dl = fq_f16(b + FERRY_Q5_K_OFF_D) * float(fq_scale_k4(b + FERRY_Q5_K_OFF_SCALES, j));
    const float ml = fq_f16(b + FERRY_Q5_K_OFF_DMIN) * float(fq_min_k4(b + FERRY_Q5_K_OFF_SCALES, j));
    const uint qs = b + FERRY_Q5_K_OFF_QS + 32u * (i0 >> 6u) + (i0 & 31u);
    const uint qh = b + FERRY_Q5_K_OFF_QH + (i0 & 31u);
    const uint shift = 4u * (j & 1u);
    for (uint w = 0u; w < 4u; ++w) {
        const uint lo = (w_word(qs + 4u * w) >> shift) & 0x0f0f0f0fu;
        const uint hi = (w_word(qh + 4u * w) >> j) & 0x01010101u;
        const vec4 q = w_bytes(lo | (hi << 4u));
        for (uint k = 0u; k < 4u; ++k) v[4u * w + k] = dl * q[k] - ml;
    }
}
#elif defined(QTYPE_Q4_0) || defined(QTYPE_IQ4_NL) || defined(QTYPE_MXFP4) || defined(QTYPE_Q4_1) || \
    defined(QTYPE_Q5_0) || defined(QTYPE_Q5_1)
// 32-element blocks of 4-bit codes: element i < 16 in the low nibble of qs[i], i + 16 in
// the high one; the code is the value (Q4_0, less 8; Q4_1 with a min; Q5_0 / Q5_1 with the
// fifth bit i of qh) or a codebook index.
void w_decode16(uint rb, uint c0, out float v[16]) {
    const uint i0 = c0 & 31u, shift = 4u * (i0 >> 4u);
    const Block32 h = w_block32(rb + (c0 >> 5u) * W_BB);
    const float d = h.d, m = h.m;
    const uint qs = h.qs, qh = h.qh;
    for (uint w = 0u; w < 4u; ++w) {
        uint word = (w_word(qs + 4u * w) >> shift) & 0x0f0f0f0fu;
#if defined(QTYPE_Q5_0) || defined(QTYPE_Q5_1)
        word |= w_spread4((qh >> (i0 + 4u * w)) & 15u) << 4u;
#endif
        for (uint k = 0u; k < 4u; ++k) {
            const uint q = (word >> (8u * k)) & 0xffu;
#if defined(QTYPE_Q4_1) || defined(QTYPE_Q5_1)
            v[4u * w + k] = float(q) * d + m;
#elif defined(QTYPE_Q5_0)
            v[4u * w + k] = float(int(q) - 16) * d;
#elif defined(QTYPE_Q4_0)
            v[4u * w + k] = float(int(q) - 8) * d;
#elif defined(QTYPE_IQ4_NL)
            v[4u * w + k] = d * float(fq_kvalue_iq4nl(q));
#else
            v[4u * w + k] = float(fq_kvalue_mxfp4(q)) * d;
#endif
        }
    }
}
#elif defined(QTYPE_Q2_K) || defined(QTYPE_Q3_K)
void w_decode16(uint rb, uint c0, out float v[16]) {
    const uint b = rb + (c0 >> 8u) * W_BB, i0 = c0 & 255u, r = i0 & 127u, shift = 2u * (r >> 5u);
#if defined(QTYPE_Q2_K)
    const uint sc = fq_u8(b + FERRY_Q2_K_OFF_SCALES + (i0 >> 4u));
    const float dl = fq_f16(b + FERRY_Q2_K_OFF_D) * float(sc & 15u);
    const float ml = fq_f16(b + FERRY_Q2_K_OFF_DMIN) * float(sc >> 4u);
    const uint qs = b + FERRY_Q2_K_OFF_QS + 32u * (i0 >> 7u) + (r & 31u);
#else
    const float dl = fq_f16(b + FERRY_Q3_K_OFF_D) * float(fq_scale_q3_k(b + FERRY_Q3_K_OFF_SCALES, i0 >> 4u));
    const uint qs = b + FERRY_Q3_K_OFF_QS + 32u * (i0 >> 7u) + (r & 31u);
    const uint hm = b + FERRY_Q3_K_OFF_HMASK + (i0 & 31u);
#endif
    for (uint w = 0u; w < 4u; ++w) {
        const uint word = (w_word(qs + 4u * w) >> shift) & 0x03030303u;
#if defined(QTYPE_Q3_K)
        const uint high = (w_word(hm + 4u * w) >> (i0 >> 5u)) & 0x01010101u;
#endif
        for (uint k = 0u; k < 4u; ++k) {
            const uint q = (word >> (8u * k)) & 0xffu;
#if defined(QTYPE_Q2_K)
            v[4u * w + k] = dl * float(q) - ml;
#else
            v[4u * w + k] = dl * float(int(q) - (((high >> (8u * k)) & 1u) != 0u ? 0 : 4));
#endif
        }
    }
}
#elif defined(QTYPE_IQ4_XS)
void w_decode16(uint rb, uint c0, out float v[16]) {
    const uint b = rb + (c0 >> 8u) * W_BB, i0 = c0 & 255u, j = i0 >> 5u;
    const float dl = fq_f16(b + FERRY_IQ4_XS_OFF_D) * float(fq_scale_iq4_xs(b, j));
    const uint qs = b + FERRY_IQ4_XS_OFF_QS + 16u * j, shift = 4u * ((i0 & 31u) >> 4u);
    for (uint w = 0u; w < 4u; ++w) {
        const uint word = (w_word(qs + 4u * w) >> shift) & 0x0f0f0f0fu;
        for (uint k = 0u; k < 4u; ++k) v[4u * w + k] = dl * float(fq_kvalue_iq4nl((word >> (8u * k)) & 0xffu));
    }
}
#elif defined(QTYPE_Q6_K)
void w_decode16(uint rb, uint c0, out float v[16]) {
    const uint b = rb + (c0 >> 8u) * W_BB, i0 = c0 & 255u;
    const uint h = i0 >> 7u, r = i0 & 127u, l0 = r & 31u, g = r >> 5u;
    const float dl = fq_f16(b + FERRY_Q6_K_OFF_D) * float(fq_i8(b + FERRY_Q6_K_OFF_SCALES + (i0 >> 4u)));
    const uint ql = b + FERRY_Q6_K_OFF_QL + 64u * h + l0 + 32u * (g & 1u);
    const uint qh = b + FERRY_Q6_K_OFF_QH + 32u * h + l0;
    for (uint w = 0u; w < 4u; ++w) {
        const uint lo = (w_word(ql + 4u * w) >> (4u * (g >> 1u))) & 0x0f0f0f0fu;
        const uint hi = (w_word(qh + 4u * w) >> (2u * g)) & 0x03030303u;
        const vec4 q = w_bytes(lo | (hi << 4u));
        for (uint k = 0u; k < 4u; ++k) v[4u * w + k] = dl * float(int(q[k]) - 32);
    }
}
#elif defined(QTYPE_Q8_0)
void w_decode16(uint rb, uint c0, out float v[16]) {
    const uint b = rb + (c0 >> 5u) * W_BB;
    const float d = fq_f16(b + FERRY_Q8_0_OFF_D);
    const uint qs = b + FERRY_Q8_0_OFF_QS + (c0 & 31u);
    for (uint w = 0u; w < 4u; ++w) {
        const vec4 q = w_sbytes(w_word(qs + 4u * w));
        for (uint k = 0u; k < 4u; ++k) v[4u * w + k] = q[k] * d;
    }
}
#else
void w_decode16(uint rb, uint c0, out float v[16]) {
    for (uint k = 0u; k < 16u; ++k) v[k] = w_at(rb, c0 + k);
}
#endif
#endif  // !W_PLAIN

#ifdef MV_WITH_X

#if defined(QTYPE_Q4_K)
// Unit = one 64-element group g of a block: sub-blocks 2g (low nibbles of qs[32g..32g+31])
// and 2g + 1 (high nibbles). Rows start at multiples of 4 bytes (144-byte blocks).
#define MV_UNIT uint(FERRY_MV_UNIT_Q4_K)
float mv_unit_dot(uint rb, uint u, uint xb) {
    const uint b = rb + (u >> 2u) * W_BB;
    const uint g = u & 3u;
    const uint wi = b >> 2u;
    const vec2 dm = unpackHalf2x16(FERRY_QUANT_WORDS[wi]);  // d, dmin
    const uint sc = b + FERRY_Q4_K_OFF_SCALES;
    const float d0 = dm.x * float(fq_scale_k4(sc, 2u * g)), m0 = dm.y * float(fq_min_k4(sc, 2u * g));
    const float d1 = dm.x * float(fq_scale_k4(sc, 2u * g + 1u)), m1 = dm.y * float(fq_min_k4(sc, 2u * g + 1u));
    const uint qi = wi + FERRY_Q4_K_OFF_QS / 4u + 8u * g;
    const uint xi = (xb + (u >> 2u) * 256u + 64u * g) >> 2u;
    vec4 lo_qx = vec4(0.0), lo_x = vec4(0.0), hi_qx = vec4(0.0), hi_x = vec4(0.0);
    for (uint k = 0u; k < 8u; ++k) {
        const uint q = FERRY_QUANT_WORDS[qi + k];
        const vec4 xl = x4[xi + k];
        const vec4 xh = x4[xi + 8u + k];
        lo_qx += w_bytes(q & 0x0f0f0f0fu) * xl;
        hi_qx += w_bytes((q >> 4u) & 0x0f0f0f0fu) * xh;
        lo_x += xl;
        hi_x += xh;
    }
    return d0 * hsum(lo_qx) - m0 * hsum(lo_x) + d1 * hsum(hi_qx) - m1 * hsum(hi_x);
}
#elif defined(QTYPE_Q5_K)
// Unit = one 32-element sub-block j of a block: its 4-bit parts in qs[32(j/2) + l] (low
// nibbles for even j, high for odd), its fifth bits bit j of qh[l]. 176-byte blocks; rows
// may start at any even byte, so words go through w_word.
#define MV_UNIT uint(FERRY_MV_UNIT_BLOCK)
float mv_unit_dot(uint rb, uint u, uint xb) {
    const uint b = rb + (u >> 3u) * W_BB, j = u & 7u;
    const float dl = fq_f16(b + FERRY_Q5_K_OFF_D) * float(fq_scale_k4(b + FERRY_Q5_K_OFF_SCALES, j));
    const float ml = fq_f16(b + FERRY_Q5_K_OFF_DMIN) * float(fq_min_k4(b + FERRY_Q5_K_OFF_SCALES, j));
    const uint qs = b + FERRY_Q5_K_OFF_QS + 32u * (j >> 1u), qh = b + FERRY_Q5_K_OFF_QH;
    const uint shift = 4u * (j & 1u);
    const uint xi = (xb + (u >> 3u) * 256u + 32u * j) >> 2u;
    vec4 qx = vec4(0.0), xs = vec4(0.0);
    for (uint k = 0u; k < 8u; ++k) {
        const uint lo = (w_word(qs + 4u * k) >> shift) & 0x0f0f0f0fu;
        const uint hi = (w_word(qh + 4u * k) >> j) & 0x01010101u;
        const vec4 xv = x4[xi + k];
        qx += w_bytes(lo | (hi << 4u)) * xv;
        xs += xv;
    }
    return dl * hsum(qx) - ml * hsum(xs);
}
#elif defined(QTYPE_Q6_K)
// Unit = 8 consecutive l of one half h of a block, all four quarters g: 32 elements
// 128h + 32g + l0..l0+7. Low bits in ql[64h + l] (g = 0, 2) and ql[64h + 32 + l] (g = 1, 3),
// high bits in qh[32h + l]. Blocks are 210 bytes, so half of them start at 2 mod 4.
#define MV_UNIT uint(FERRY_MV_UNIT_BLOCK)
float mv_unit_dot(uint rb, uint u, uint xb) {
    const uint b = rb + (u >> 3u) * W_BB;
    const uint v = u & 7u;
    const uint h = v >> 2u, l0 = (v & 3u) * 8u;
    const float d = fq_f16(b + FERRY_Q6_K_OFF_D);
    const uint sc = b + FERRY_Q6_K_OFF_SCALES + 8u * h + (l0 >> 4u);
    const uint qa = b + FERRY_Q6_K_OFF_QL + 64u * h + l0;
    const uint qh = b + FERRY_Q6_K_OFF_QH + 32u * h + l0;
    const uint xi = (xb + (u >> 3u) * 256u + 128u * h + l0) >> 2u;
    vec4 s0 = vec4(0.0), s1 = vec4(0.0), s2 = vec4(0.0), s3 = vec4(0.0);
    for (uint k = 0u; k < 2u; ++k) {
        const uint a = w_word(qa + 4u * k);
        const uint c = w_word(qa + 32u + 4u * k);
        const uint hb = w_word(qh + 4u * k);
        const uint q0 = (a & 0x0f0f0f0fu) | ((hb & 0x03030303u) << 4u);
        const uint q1 = (c & 0x0f0f0f0fu) | (((hb >> 2u) & 0x03030303u) << 4u);
        const uint q2 = ((a >> 4u) & 0x0f0f0f0fu) | (((hb >> 4u) & 0x03030303u) << 4u);
        const uint q3 = ((c >> 4u) & 0x0f0f0f0fu) | (((hb >> 6u) & 0x03030303u) << 4u);
        s0 += (w_bytes(q0) - 32.0) * x4[xi + k];
        s1 += (w_bytes(q1) - 32.0) * x4[xi + 8u + k];
        s2 += (w_bytes(q2) - 32.0) * x4[xi + 16u + k];
        s3 += (w_bytes(q3) - 32.0) * x4[xi + 24u + k];
    }
    return d * (float(fq_i8(sc)) * hsum(s0) + float(fq_i8(sc + 2u)) * hsum(s1) +
                float(fq_i8(sc + 4u)) * hsum(s2) + float(fq_i8(sc + 6u)) * hsum(s3));
}
#elif defined(QTYPE_Q8_0)
// Unit = one block: d, then 32 int8 at byte b + 2 (34-byte blocks: every other block's
// quants are word-aligned).
#define MV_UNIT uint(FERRY_MV_UNIT_BLOCK)
float mv_unit_dot(uint rb, uint u, uint xb) {
    const uint b = rb + u * W_BB;
    const float d = fq_f16(b + FERRY_Q8_0_OFF_D);
    const uint qs = b + FERRY_Q8_0_OFF_QS;
    const uint xi = (xb + u * 32u) >> 2u;
    vec4 s = vec4(0.0);
    for (uint k = 0u; k < 8u; ++k) s += w_sbytes(w_word(qs + 4u * k)) * x4[xi + k];
    return d * hsum(s);
}
#elif defined(QTYPE_Q2_K) || defined(QTYPE_Q3_K)
// Unit = 32 weights 32v + l of a block (v < 8): 2-bit parts in qs[32(v/4) + l] at bit
// 2(v%4), two 16-weight scale groups 2v and 2v + 1; Q3_K adds bit v of hmask[l] (set: +0,
// clear: -4), Q2_K subtracts each group's min. Blocks of 84 / 110 bytes: any alignment.
#define MV_UNIT uint(FERRY_MV_UNIT_BLOCK)
float mv_unit_dot(uint rb, uint u, uint xb) {
    const uint b = rb + (u >> 3u) * W_BB, v = u & 7u, shift = 2u * (v & 3u);
#if defined(QTYPE_Q2_K)
    const uint qs = b + FERRY_Q2_K_OFF_QS + 32u * (v >> 2u);
#else
    const uint qs = b + FERRY_Q3_K_OFF_QS + 32u * (v >> 2u), hm = b + FERRY_Q3_K_OFF_HMASK;
#endif
    const uint xi = (xb + (u >> 3u) * 256u + 32u * v) >> 2u;
    float sum = 0.0;
    for (uint half_ = 0u; half_ < 2u; ++half_) {  // scale group 2v + half_: weights 16 half_ ..
        vec4 qx = vec4(0.0), xs = vec4(0.0);
        for (uint k = 0u; k < 4u; ++k) {
            const uint at = 16u * half_ + 4u * k;
            vec4 q = w_bytes((w_word(qs + at) >> shift) & 0x03030303u);
#if defined(QTYPE_Q3_K)
            q += 4.0 * w_bytes((w_word(hm + at) >> v) & 0x01010101u) - 4.0;
#endif
            const vec4 xv = x4[xi + 4u * half_ + k];
            qx += q * xv;
            xs += xv;
        }
#if defined(QTYPE_Q2_K)
        const uint sc = fq_u8(b + FERRY_Q2_K_OFF_SCALES + 2u * v + half_);
        sum += (fq_f16(b + FERRY_Q2_K_OFF_D) * float(sc & 15u)) * hsum(qx) -
               (fq_f16(b + FERRY_Q2_K_OFF_DMIN) * float(sc >> 4u)) * hsum(xs);
#else
        sum += (fq_f16(b + FERRY_Q3_K_OFF_D) * float(fq_scale_q3_k(b + FERRY_Q3_K_OFF_SCALES, 2u * v + half_))) *
               hsum(qx);
#endif
    }
    return sum;
}
#elif defined(QTYPE_Q4_0) || defined(QTYPE_IQ4_NL) || defined(QTYPE_MXFP4) || defined(QTYPE_IQ4_XS)
// Unit = one block of 32 4-bit codes (IQ4_XS: one 32-code sub-block of a 256-weight block,
// its 6-bit scale applied once): elements 4k.. in the low nibbles of qs word k,
// 16 + 4k.. in its high nibbles; a code is the value (Q4_0, less 8) or indexes the
// type's codebook (fq_book's word selects: on lavapipe a constant array indexed per lane
// was slower than the per-element path). Blocks of 18 / 17 bytes: any alignment.
#define MV_UNIT uint(FERRY_MV_UNIT_BLOCK)
#if defined(QTYPE_IQ4_NL) || defined(QTYPE_IQ4_XS)
#define MV_BOOK fq_kvalue_iq4nl
#elif defined(QTYPE_MXFP4)
#define MV_BOOK fq_kvalue_mxfp4
#endif
vec4 mv_codes(uint w) {
#if defined(QTYPE_Q4_0)
    return w_bytes(w) - 8.0;
#else
    return vec4(float(MV_BOOK(w & 15u)), float(MV_BOOK((w >> 8u) & 15u)), float(MV_BOOK((w >> 16u) & 15u)),
                float(MV_BOOK(w >> 24u)));
#endif
}
float mv_unit_dot(uint rb, uint u, uint xb) {
#if defined(QTYPE_IQ4_XS)
    const uint b = rb + (u >> 3u) * W_BB, j = u & 7u;
    const float d = fq_f16(b + FERRY_IQ4_XS_OFF_D) * float(fq_scale_iq4_xs(b, j));
    const uint qs = b + FERRY_IQ4_XS_OFF_QS + 16u * j;
    const uint xi = (xb + (u >> 3u) * 256u + 32u * j) >> 2u;
#else
    const Block32 h = w_block32(rb + u * W_BB);
    const float d = h.d;
    const uint qs = h.qs;
    const uint xi = (xb + u * 32u) >> 2u;
#endif
    vec4 s = vec4(0.0);
    for (uint k = 0u; k < 4u; ++k) {
        const uint w = w_word(qs + 4u * k);
        s += mv_codes(w & 0x0f0f0f0fu) * x4[xi + k];
        s += mv_codes((w >> 4u) & 0x0f0f0f0fu) * x4[xi + 4u + k];
    }
    return d * hsum(s);
}
#elif defined(QTYPE_Q4_1) || defined(QTYPE_Q5_0) || defined(QTYPE_Q5_1)
// Unit = one 32-weight block of 4-bit parts as Q4_0's, with a min (Q4_1, Q5_1) and, for
// Q5_0 / Q5_1, fifth bits bit e of the block's qh word for element e. Any alignment.
#define MV_UNIT uint(FERRY_MV_UNIT_BLOCK)
float mv_unit_dot(uint rb, uint u, uint xb) {
    const Block32 h = w_block32(rb + u * W_BB);
    const float d = h.d, m = h.m;
    const uint qs = h.qs, qh = h.qh;
    const uint xi = (xb + u * 32u) >> 2u;
    vec4 s = vec4(0.0), xs = vec4(0.0);
    for (uint k = 0u; k < 4u; ++k) {
        const uint w = w_word(qs + 4u * k);
        uint lo = w & 0x0f0f0f0fu, hi = (w >> 4u) & 0x0f0f0f0fu;
#if defined(QTYPE_Q5_0) || defined(QTYPE_Q5_1)
        lo |= w_spread4((qh >> (4u * k)) & 15u) << 4u;
        hi |= w_spread4((qh >> (16u + 4u * k)) & 15u) << 4u;
#endif
        const vec4 xl = x4[xi + k], xh = x4[xi + 4u + k];
#if defined(QTYPE_Q5_0)
        s += (w_bytes(lo) - 16.0) * xl + (w_bytes(hi) - 16.0) * xh;
#else
        s += w_bytes(lo) * xl + w_bytes(hi) * xh;
        xs += xl + xh;
#endif
    }
#if defined(QTYPE_Q5_0)
    return d * hsum(s);
#else
    return d * hsum(s) + m * hsum(xs);
#endif
}
#elif defined(QTYPE_BF16)
// Unit = 4 bfloat16 (two words, any 2-byte alignment); the tail of a row element by element.
#define MV_UNIT uint(FERRY_MV_UNIT_PLAIN)
float mv_unit_dot(uint rb, uint u, uint xb) {
    const uint c = u * 4u;
    if (c + 4u <= p.cols) {
        const uint a = w_word(rb + 2u * c), b = w_word(rb + 2u * c + 4u);
        return (uintBitsToFloat(a << 16u) * x[xb + c] + uintBitsToFloat(a & 0xffff0000u) * x[xb + c + 1u]) +
               (uintBitsToFloat(b << 16u) * x[xb + c + 2u] + uintBitsToFloat(b & 0xffff0000u) * x[xb + c + 3u]);
    }
    float s = 0.0;
    for (uint i = c; i < p.cols; ++i) s += w_at(rb, i) * x[xb + i];
    return s;
}
#elif defined(QTYPE_F16)
// Unit = 4 halves (two words, any 2-byte alignment); the tail of a row element by element.
#define MV_UNIT uint(FERRY_MV_UNIT_PLAIN)
float mv_unit_dot(uint rb, uint u, uint xb) {
    const uint c = u * 4u;
    if (c + 4u <= p.cols) {
        const vec2 a = unpackHalf2x16(w_word(rb + 2u * c));
        const vec2 b = unpackHalf2x16(w_word(rb + 2u * c + 4u));
        return (a.x * x[xb + c] + a.y * x[xb + c + 1u]) + (b.x * x[xb + c + 2u] + b.y * x[xb + c + 3u]);
    }
    float s = 0.0;
    for (uint i = c; i < p.cols; ++i) s += w_at(rb, i) * x[xb + i];
    return s;
}
#else
// Any type through w_elem: 32 elements (a block or a 32-element part of one), or 4 plain
// elements with the row's tail checked.
#ifdef W_PLAIN
#define MV_UNIT uint(FERRY_MV_UNIT_PLAIN)
#else
#define MV_UNIT uint(FERRY_MV_UNIT_BLOCK)
#endif
float mv_unit_dot(uint rb, uint u, uint xb) {
    const uint c0 = u * MV_UNIT;
    float s = 0.0;
    for (uint i = 0u; i < MV_UNIT; ++i) {
#ifdef W_PLAIN
        if (c0 + i >= p.cols) break;
#endif
        s += w_at(rb, c0 + i) * x[xb + c0 + i];
    }
    return s;
}
#endif
#endif  // MV_WITH_X

#endif  // FERRY_MATVEC_WEIGHTS_GLSL
