#pragma once
// Activation rows in the form the fast kernels read (fast_kernels.h ActFormat): F32 as
// given, or quantized to 8 bits like ggml's quantize_row_q8_0 / quantize_row_q8_K. That
// rounding is the fast paths' only systematic difference from the F32 reference.
#include <cstddef>
#include <cstdint>

#include "cpu/fast_kernels.h"

namespace ferry::cpu::fast {

// Bytes of one activation row of `cols` values (cols a multiple of the format's block).
std::size_t act_row_bytes(ActFormat format, std::int64_t cols);

// Writes x[0..cols) to dst (act_row_bytes(format, cols) bytes, 4-byte aligned).
//   q8_0: per 32 values d = max|x| / 127 rounded to fp16 as ggml stores it, q = round(x / d);
//         laid out as the cols int8 values, then the cols / 32 scales as fp32 (fast_kernels.h)
//   q8_0_nib: the q8_0 values and scales reordered for Q4_0 / MXFP4, plus sums
//         (fast_block_helpers.h Q8_0NibRow)
//   q8_K: per 256 values d = max|x| / 127 (fp32, sign of the largest), q = round(x / d)
//         clamped to 127, plus the sum of q over each 16
void quantize_activations(ActFormat format, const float* x, std::int64_t cols, void* dst);

}  // namespace ferry::cpu::fast
