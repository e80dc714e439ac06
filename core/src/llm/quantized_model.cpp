#include "bmx/core/llm/quantized_model.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <map>
#include <vector>

#include "bmx/core/io/safetensors.h"
#include "bmx/core/llm/qwen3.h"
#include "bmx/core/util/error.h"
#include "projection_list.h"
#include "quantized_model_impl.h"

namespace bmx {
namespace {

namespace fs = std::filesystem;

const char* const kWeightsKey = "bmx.weights";
const char* const kVersionKey = "bmx.weights_version";

std::string quants_name(const std::string& projection, kernels::BlockFormat f) {
  return projection + "." + kernels::format_name(f);
}
std::string scales_name(const std::string& projection) { return projection + ".scales"; }

// A half float is NaN or inf exactly when its exponent bits are all set.
bool finite_f16(const uint16_t* h, int64_t n) {
  uint16_t worst = 0;
  for (int64_t i = 0; i < n; ++i) worst = std::max<uint16_t>(worst, uint16_t(h[i] & 0x7c00));
  return worst != 0x7c00;
}

// The source folder's files other than its weights (config, tokenizer, structure-tokenizer subfolders).
bool is_weights_file(const fs::path& p) {
  const std::string name = p.filename().string();
  return p.extension() == ".safetensors" || name == "model.safetensors.index.json";
}

void prepare_output_folder(const std::string& source_dir, const std::string& out_dir) {
  check_quantized_model_folder(source_dir, out_dir);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) fail_input(out_dir, "cannot create the folder: " + ec.message());
}

void copy_model_files(const std::string& source_dir, const std::string& out_dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(source_dir, ec)) {
    const fs::path& p = entry.path();
    if (is_weights_file(p)) continue;
    const fs::path to = fs::path(out_dir) / p.filename();
    // Symbolic links are copied as what they point to: the new folder stands alone.
    fs::copy(p, to, fs::copy_options::recursive, ec);
    if (ec) fail_input(p.string(), "cannot copy into " + out_dir + ": " + ec.message());
  }
  if (ec) fail_input(source_dir, "cannot list the folder: " + ec.message());
}

// The tensors of the new model.safetensors, each produced when the writer reaches it.
struct TensorSource {
  std::vector<SafetensorsSpec> specs;
  std::map<std::string, std::function<at::Tensor()>> make;

  void add(const std::string& name, const at::Tensor& t, const std::string& dtype) {
    specs.push_back({name, dtype, t.sizes().vec()});
    make[name] = [t] { return t; };
  }
};

std::string dtype_of(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kBFloat16: return "BF16";
    case at::kHalf: return "F16";
    case at::kFloat: return "F32";
    default: throw std::logic_error("unexpected weight dtype");
  }
}

void add_projection(TensorSource& src, const std::string& name, const nn::Projection& p) {
  const kernels::BlockMatrixView& b = p.blocks;
  const int64_t qbytes = kernels::quant_bytes_per_row(b.format, b.cols), nscales = kernels::scales_per_row(b.cols);
  const std::string qname = quants_name(name, b.format), sname = scales_name(name);
  src.specs.push_back({qname, "U8", {b.rows, qbytes}});
  src.specs.push_back({sname, "F16", {b.rows, nscales}});
  if (b.order == kernels::BlockOrder::rows) {  // views of the quantized model's memory; it outlives the write
    src.make[qname] = [=] { return at::from_blob(const_cast<uint8_t*>(b.quants), {b.rows, qbytes}, at::kByte); };
    src.make[sname] = [=] { return at::from_blob(const_cast<uint16_t*>(b.scales), {b.rows, nscales}, at::kHalf); };
    return;
  }
  // Files hold rows: a matrix in the kernels' tiles is written from one copy in rows, made when the writer gets to
  // the first of its two tensors and let go with the second (one matrix at a time in memory).
  auto pending = std::make_shared<std::shared_ptr<kernels::BlockMatrix>>();
  auto in_rows = [b, pending] {
    std::shared_ptr<kernels::BlockMatrix> m = std::move(*pending);
    if (!m) *pending = m = std::make_shared<kernels::BlockMatrix>(kernels::reordered(b, kernels::BlockOrder::rows));
    return m;
  };
  src.make[qname] = [=] {
    auto m = in_rows();
    return at::from_blob(m->quants.data(), {b.rows, qbytes}, [m](void*) {}, at::TensorOptions().dtype(at::kByte));
  };
  src.make[sname] = [=] {
    auto m = in_rows();
    return at::from_blob(m->scales.data(), {b.rows, nscales}, [m](void*) {}, at::TensorOptions().dtype(at::kHalf));
  };
}

}  // namespace

void check_quantized_model_folder(const std::string& source_dir, const std::string& out_dir) {
  // "-" is stdout for every file output of bmx; a model folder has no such meaning.
  if (out_dir.empty() || out_dir == "-")
    fail_input(out_dir.empty() ? std::string("\"\"") : out_dir, "is not a folder name; give a new folder for the quantized model");
  std::error_code ec;
  if (!fs::exists(out_dir, ec)) return;
  if (fs::equivalent(source_dir, out_dir, ec)) fail_input(out_dir, "is the model folder itself; give a new folder");
  if (!fs::is_directory(out_dir, ec)) fail_input(out_dir, "exists and is not a folder");
  if (!fs::is_empty(out_dir, ec)) fail_input(out_dir, "folder is not empty; give a new or empty folder");
}

void save_quantized_model(const Qwen3Model& model, const std::string& source_dir, const std::string& out_dir) {
  if (!model.lm_head.quantized())
    throw std::invalid_argument("save_quantized_model: the model's projections are not quantized");
  const kernels::BlockFormat f = model.lm_head.blocks.format;
  prepare_output_folder(source_dir, out_dir);
  copy_model_files(source_dir, out_dir);

  TensorSource src;
  src.add("model.embed_tokens.weight", model.embed_tokens, dtype_of(model.embed_tokens));
  src.add("model.norm.weight", model.norm, dtype_of(model.norm));
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const Qwen3Layer& l = model.layers[i];
    const std::string p = "model.layers." + std::to_string(i) + ".";
    src.add(p + "input_layernorm.weight", l.input_norm, dtype_of(l.input_norm));
    src.add(p + "post_attention_layernorm.weight", l.post_attention_norm, dtype_of(l.post_attention_norm));
    src.add(p + "self_attn.q_norm.weight", l.q_norm, dtype_of(l.q_norm));
    src.add(p + "self_attn.k_norm.weight", l.k_norm, dtype_of(l.k_norm));
  }
  for_each_projection(model, [&](const std::string& name, const nn::Projection& w) {
    if (!w.quantized() || w.blocks.format != f)
      throw std::invalid_argument("save_quantized_model: " + name + " is not in the model's block format");
    add_projection(src, name, w);
  });
  const std::map<std::string, std::string> metadata{{kWeightsKey, kernels::format_name(f)},
                                                    {kVersionKey, std::to_string(kQuantizedModelVersion)}};
  write_safetensors((fs::path(out_dir) / "model.safetensors").string(), src.specs,
                    [&](const std::string& name) { return src.make.at(name)(); }, metadata);
}

namespace detail {

std::optional<kernels::BlockFormat> stored_block_format(const SafetensorsCheckpoint& ckpt) {
  const auto& meta = ckpt.metadata();
  const auto format = meta.find(kWeightsKey);
  if (format == meta.end()) return std::nullopt;
  const std::string file = ckpt.file_of(ckpt.names().empty() ? std::string() : ckpt.names().front());
  const auto version = meta.find(kVersionKey);
  if (version == meta.end() || version->second != std::to_string(kQuantizedModelVersion))
    fail_input(file, std::string("quantized weights of format version ") +
                         (version == meta.end() ? "(none)" : "'" + version->second + "'") + "; this bmx reads version " +
                         std::to_string(kQuantizedModelVersion) + ": quantize the BF16 model again (bmx quantize)");
  try {
    return kernels::parse_block_format(format->second);
  } catch (const std::invalid_argument&) {
    fail_input(file, "unknown quantized weight format '" + format->second + "' (bmx.weights); this bmx reads q8_0 and q4_0");
  }
}

nn::Projection stored_projection(const SafetensorsCheckpoint& ckpt, kernels::BlockFormat f, const std::string& name,
                                 int64_t rows, int64_t cols) {
  const std::string qname = quants_name(name, f), sname = scales_name(name);
  // The config decides the shapes: a file made for another model (or another format) fails here, by name.
  at::Tensor quants = ckpt.get_exact(qname, "U8", {rows, kernels::quant_bytes_per_row(f, cols)});
  at::Tensor scales = ckpt.get_exact(sname, "F16", {rows, kernels::scales_per_row(cols)});
  const auto* s = static_cast<const uint16_t*>(scales.data_ptr());
  if (!finite_f16(s, scales.numel())) fail_input(ckpt.file_of(sname), sname, "holds NaN or inf scales");
  struct Owner {
    at::Tensor quants, scales;  // keep the mapping (or an aligned copy) alive
  };
  auto owner = std::make_shared<Owner>(Owner{quants, scales});
  nn::Projection p;
  p.blocks = {f, rows, cols, static_cast<const uint8_t*>(quants.data_ptr()), s};
  // Files read into private memory (FileAccess::read) are ours to rearrange: into the order the kernels read
  // fastest, in place (a mapping of the page cache stays as the file has it, shared with other processes).
  if (ckpt.access() == FileAccess::read)
    p.blocks = kernels::reorder_in_place(p.blocks, static_cast<uint8_t*>(quants.data_ptr()),
                                         static_cast<uint16_t*>(scales.data_ptr()), kernels::preferred_block_order());
  p.blocks_owner = owner;
  return p;
}

}  // namespace detail
}  // namespace bmx
