#pragma once
// CPU reference of shaders/elementwise.comp and shaders/rows.comp: plain loops, sizes checked. Kernel tests
// compare the shader against these, never against itself.
#include <span>

namespace ferry::cpu {

// out[i] = a[i] + b[i]
void add(std::span<const float> a, std::span<const float> b, std::span<float> out);
// out[i] = a[i] * b[i]
void mul(std::span<const float> a, std::span<const float> b, std::span<float> out);
// out[i] = a[i] * scale
void scale(std::span<const float> a, float scale, std::span<float> out);
// out[i] = cap · tanh(a[i] / cap): Gemma's final logit soft-cap (cap > 0)
void softcap(std::span<const float> a, float cap, std::span<float> out);

// Row ops on x [rows, width] (shaders/rows.comp):
// x[r, i] += row[i] — a bias, width = row.size()
void add_row(std::span<float> x, std::span<const float> row);
// x[r, i] *= sigmoid(gate[r]) — a per-token scalar gate, rows = gate.size()
void sigmoid_gate(std::span<float> x, std::span<const float> gate);

}  // namespace ferry::cpu
