#version 450
// Embedding lookup: out[t] = dequantized row ids[t] of a [n_rows, n_cols] table stored in
// any quant type, decoded with quant_blocks.glsl's fq_* helpers (the table is read as
// 32-bit words, so no 8/16-bit storage is needed). The type is a build define
// (QTYPE_F32, QTYPE_F16, QTYPE_BF16, QTYPE_Q8_0, QTYPE_Q4_K, ...). Ids outside the table
// give a row of zeros (the host checks ids it knows). One invocation per output element;
// grid x covers n_cols, y the tokens. Output F32.
#extension GL_GOOGLE_include_directive : require
#include "block_ops.h"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;

layout(std430, set = 0, binding = 0) readonly buffer Table { uint table_words[]; };  // [n_rows, row_bytes]
layout(std430, set = 0, binding = 1) readonly buffer Ids { int ids[]; };             // [tokens]
layout(std430, set = 0, binding = 2) writeonly buffer Out { float out_[]; };         // [tokens, n_cols]

layout(push_constant) uniform Push { FERRY_PUSH_EMBED } pc;

#define FERRY_QUANT_WORDS table_words
#include "quant_blocks.glsl"

// Element c of the row starting at byte `row`.
float element(uint row, uint c) {
#if defined(QTYPE_F32)
    return fq_f32(row + 4u * c);
#elif defined(QTYPE_F16)
    return fq_f16(row + 2u * c);
#elif defined(QTYPE_BF16)
    return uintBitsToFloat(fq_u16(row + 2u * c) << 16u);
#else
#if defined(QTYPE_Q4_0)
#define FQ(b, i) fq_q4_0(b, i)
#define QK 32u
#define QB FERRY_Q4_0_BLOCK_BYTES
#elif defined(QTYPE_Q4_1)
#define FQ(b, i) fq_q4_1(b, i)
#define QK 32u
#define QB FERRY_Q4_1_BLOCK_BYTES
#elif defined(QTYPE_Q5_0)
#define FQ(b, i) fq_q5_0(b, i)
#define QK 32u
#define QB FERRY_Q5_0_BLOCK_BYTES
#elif defined(QTYPE_Q5_1)
#define FQ(b, i) fq_q5_1(b, i)
#define QK 32u
#define QB FERRY_Q5_1_BLOCK_BYTES
#elif defined(QTYPE_Q8_0)
#define FQ(b, i) fq_q8_0(b, i)
#define QK 32u
#define QB FERRY_Q8_0_BLOCK_BYTES
#elif defined(QTYPE_Q2_K)
#define FQ(b, i) fq_q2_k(b, i)
#define QK 256u
#define QB FERRY_Q2_K_BLOCK_BYTES
#elif defined(QTYPE_Q3_K)
#define FQ(b, i) fq_q3_k(b, i)
#define QK 256u
#define QB FERRY_Q3_K_BLOCK_BYTES
#elif defined(QTYPE_Q4_K)
#define FQ(b, i) fq_q4_k(b, i)
#define QK 256u
#define QB FERRY_Q4_K_BLOCK_BYTES
#elif defined(QTYPE_Q5_K)
#define FQ(b, i) fq_q5_k(b, i)
#define QK 256u
#define QB FERRY_Q5_K_BLOCK_BYTES
#elif defined(QTYPE_Q6_K)
#define FQ(b, i) fq_q6_k(b, i)
#define QK 256u
#define QB FERRY_Q6_K_BLOCK_BYTES
#elif defined(QTYPE_IQ4_NL)
#define FQ(b, i) fq_iq4_nl(b, i)
#define QK 32u
#define QB FERRY_IQ4_NL_BLOCK_BYTES
#elif defined(QTYPE_IQ4_XS)
#define FQ(b, i) fq_iq4_xs(b, i)
#define QK 256u
#define QB FERRY_IQ4_XS_BLOCK_BYTES
#elif defined(QTYPE_MXFP4)
#define FQ(b, i) fq_mxfp4(b, i)
#define QK 32u
#define QB FERRY_MXFP4_BLOCK_BYTES
#else
#error "define QTYPE_<type>"
#endif
    return FQ(row + (c / QK) * uint(QB), c % QK);
#endif
}

void main() {
    const uint c = gl_GlobalInvocationID.x, t = gl_WorkGroupID.y;
    if (c >= pc.n_cols || t >= pc.tokens) return;
    const int id = ids[t];
    if (id < 0 || uint(id) >= pc.total_rows) {
        if (pc.first_row == 0) out_[t * pc.n_cols + c] = 0.0;
        return;
    }
    const uint row = uint(id);
    if (row < pc.first_row || row - pc.first_row >= pc.n_rows) return;  // another dispatch's rows
    out_[t * pc.n_cols + c] = element((row - pc.first_row) * pc.row_bytes, c);
}
