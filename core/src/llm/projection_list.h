// The decoder's projections as one list, so every pass over them (NaN scan, quantization, byte count, saving a
// quantized folder) covers the same ones under the same tensor names.
#pragma once
#include <string>

namespace bmx {

// fn(tensor name, projection) for every projection of the model: the seven of each layer, then the LM head (named
// by the tensor it was read from: the embedding when tied).
template <class Model, class Fn>
void for_each_projection(Model& model, Fn&& fn) {
  for (size_t i = 0; i < model.layers.size(); ++i) {
    auto& l = model.layers[i];
    const std::string p = "model.layers." + std::to_string(i) + ".";
    fn(p + "self_attn.q_proj.weight", l.q_proj);
    fn(p + "self_attn.k_proj.weight", l.k_proj);
    fn(p + "self_attn.v_proj.weight", l.v_proj);
    fn(p + "self_attn.o_proj.weight", l.o_proj);
    fn(p + "mlp.gate_proj.weight", l.gate_proj);
    fn(p + "mlp.up_proj.weight", l.up_proj);
    fn(p + "mlp.down_proj.weight", l.down_proj);
  }
  fn(model.config.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight", model.lm_head);
}

}  // namespace bmx
