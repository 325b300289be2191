#pragma once
// Plain, checked CPU matrix-vector and matrix-matrix products over weights stored in any
// quant type ferry runs. The oracle the matvec shaders and the fast CPU kernels are tested
// against: each weight row is dequantized (quant/quant.h) and dotted with F32
// accumulation, in element order.
#include <cstdint>
#include <span>

#include "gguf/types.h"

namespace ferry::cpu {

// A weight matrix [rows, cols] as GGUF stores it: row-major, row r starting at
// data + r * row_stride bytes, each row `cols` elements of `type` (ggml order: ne0 = cols).
struct QuantMatrix {
    gguf::TensorType type = gguf::TensorType::F32;
    const void* data = nullptr;
    std::int64_t rows = 0;
    std::int64_t cols = 0;
    std::uint64_t row_stride = 0;  // bytes; 0 means packed: gguf::row_bytes(type, cols)
};

// Throws ferry::Error unless the type has a CPU dequantizer, cols is a whole number of
// blocks, rows/cols are positive, data is set and row_stride holds a row.
void check_matrix(const QuantMatrix& w);

// y[r] = sum_c W[r, c] * x[c].          x: [cols], y: [rows]
void reference_matvec(const QuantMatrix& w, std::span<const float> x, std::span<float> y);

// y[c] = sum_r W[r, c] * x[r]: the transpose's product, sums in row order.   x: [rows], y: [cols]
void reference_matvec_transposed(const QuantMatrix& w, std::span<const float> x, std::span<float> y);

// Y[t, r] = sum_c W[r, c] * X[t, c] for n_tokens tokens.   X: [n_tokens, cols],
// Y: [n_tokens, rows]; each weight row is dequantized once for all tokens.
void reference_matmul(const QuantMatrix& w, std::span<const float> x, std::int64_t n_tokens,
                      std::span<float> y);

}  // namespace ferry::cpu
