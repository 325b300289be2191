#pragma once
// The reference engine's own reading of two families, composed of ferry's blocks. The
// figures of ../shared/data/reference come from ik_llama.cpp at 8337e4cd, whose graphs for
// `llama` with experts (Mixtral) and `llama4` depart from the published formulas (Hugging
// Face's modeling_mixtral.py / modeling_llama4.py, upstream llama.cpp's src/models/) that
// ferry's recipes follow:
// - MoE layers keep h as the residual: its build_llama calls llm_build_moe_ffn with
//   add_input = true, which adds the function's own input, there h = RMSNorm(x) ⊙ ffn_norm,
//   and the graph's `ggml_add(cur, ffn_inp)` is commented out; so x <- h + MoE(h) (Llama 4:
//   + shared(h)) instead of x <- x + MoE(h).
// - Llama 4's q/k RMS norm after rope sits in the branch for layers WITHOUT rope, under
//   `if (use_rope)`, so it never runs.
// Running these graphs, ferry reproduces the figures (perplexity within 0.1%, greedy ids
// equal), which checks everything else of the two families (rope, attention, routing,
// experts, offload, tokenizer) against the reference engine.
#include "model/recipe.h"

#include <string_view>

namespace ferry::test {

// The reference engine's graph for the reference file `model` ("mixtral-dev"); null where
// it computes the family's published formulas, as ferry's own recipe does.
const model::Recipe* reference_engine_graph(std::string_view model);

}  // namespace ferry::test
