#pragma once
// The table of fast CPU dot-product kernels, one table per CpuPath. Internal to
// runtime/cpu: the offload engine calls fast_matmul.h. This header holds data types only
// (no inline code), because the SIMD files that include it are compiled with -mavx2 or
// -mavx512*, and an inline function emitted there could be picked by the linker for code
// that runs on CPUs without those instructions.
#include <cstddef>
#include <cstdint>

namespace ferry::cpu::fast {

// How a kernel wants the activations: F32 as given, or quantized to 8 bits per row as
// ggml does (Q8_0: a scale per 32 values; Q8_K: 256 values + fp32 scale + sums of each 16,
// ggml's block). Q8_0 rows are split, unlike ggml's blocks: all int8 values first, then
// the scales as fp32 (the fp16 values ggml would store), so a kernel loads 64 values in one
// go and never converts an activation scale. The format depends on the weight type only,
// never on the path, so every path sees the same quantized activations.
//
// q8_0_nib (for Q4_0 and MXFP4, whose 32-element blocks pack elements j and j + 16 into one
// byte) holds the same values as q8_0, reordered per group of 4 blocks so that the low and
// the high nibbles of 4 consecutive weight blocks each meet 64 contiguous activations, plus
// the sums a kernel needs to work with offset (unsigned) weights; fast_block_helpers.h
// Q8_0NibRow has the layout.
enum class ActFormat : std::uint8_t { f32, q8_0, q8_K, q8_0_nib };

// The weight types with fast kernels.
enum class FastType : std::uint8_t { q4_0, q8_0, mxfp4, q4_K, q5_K, q6_K, iq4_xs, f16, bf16, count };
constexpr int kFastTypeCount = static_cast<int>(FastType::count);

// Tokens one kernel call handles at most (the caller groups larger batches).
constexpr int kMaxTokens = 8;

// One weight row (n elements, n a multiple of the type's block size; any n for F16/BF16)
// against n_tokens (1..kMaxTokens) activation rows act + t * act_stride bytes:
//     out[t * out_stride] = sum_c W[c] * X_t[c]
using RowDotFn = void (*)(std::int64_t n, const void* w_row, const void* act, std::size_t act_stride,
                          int n_tokens, float* out, std::size_t out_stride);

// Two consecutive weight rows, w_row and w_row + w_stride bytes, against n_tokens
// (2..kMaxTokens) activation rows: out[t * out_stride + r] for r = 0, 1. Each output is
// computed exactly as the one-row kernel of the same set computes it (same operations in
// the same order), so which entry runs never changes a result.
using RowPairDotFn = void (*)(std::int64_t n, const void* w_row, std::size_t w_stride, const void* act,
                              std::size_t act_stride, int n_tokens, float* out, std::size_t out_stride);

struct KernelSet {
    const char* name;
    // Indexed by FastType. An AVX-512 set may leave an entry null where the AVX2 kernel is
    // as fast or faster; the dispatcher then uses the AVX2 one.
    RowDotFn dot[kFastTypeCount];
    // Indexed by FastType, for batches of 2 or more tokens; null where the set has none
    // (the dispatcher then calls dot row by row).
    RowPairDotFn dot2[kFastTypeCount];
};

// Defined by fast_scalar.cpp, fast_avx2.cpp, fast_avx512.cpp, fast_avx512_vnni.cpp; the
// SIMD ones are nullptr where the compiler cannot target them (non-x86 builds).
const KernelSet* scalar_kernels();
const KernelSet* avx2_kernels();
const KernelSet* avx512_kernels();
const KernelSet* avx512_vnni_kernels();

}  // namespace ferry::cpu::fast
