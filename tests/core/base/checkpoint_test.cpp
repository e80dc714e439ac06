#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "bmx/core/util/error.h"
#include "bmx/core/io/torch_checkpoint.h"
#include "shared.h"

using namespace bmx;

namespace {

std::vector<int64_t> parse_dims(const std::string& s, char sep) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  for (std::string tok; std::getline(ss, tok, sep);)
    if (!tok.empty()) out.push_back(std::stoll(tok));
  return out;
}

}  // namespace

TEST_CASE("MolStrucTok checkpoint (saved from CUDA) reads to CPU tensors matching its tensor index") {
  auto path = test::shared_file("models/molstructok/molstructok_vqvae.bin");
  auto tsv = test::read_lines(test::shared_file("models/molstructok/molstructok_vqvae.tensors.tsv"));
  TorchCheckpoint ck(path.string());
  auto tensors = ck.tensors();
  REQUIRE(tensors.size() == tsv.size() - 1);
  REQUIRE(tensors.size() == 115);
  for (size_t k = 1; k < tsv.size(); ++k) {
    std::stringstream ss(tsv[k]);
    std::string key, entry, dtype, shape, offset, stride, loc;
    std::getline(ss, key, '\t'); std::getline(ss, entry, '\t'); std::getline(ss, dtype, '\t');
    std::getline(ss, shape, '\t'); std::getline(ss, offset, '\t');
    auto& [name, t] = tensors[k - 1];
    CHECK(name == key);
    CHECK(t.device().is_cpu());
    CHECK(t.sizes().vec() == (shape == "scalar" ? std::vector<int64_t>{} : parse_dims(shape, 'x')));
    CHECK(std::string(dtype) == (t.scalar_type() == at::kFloat ? "float32" : "int64"));
  }
  auto sd = load_state_dict(path.string());
  // BatchNorm running variances are positive and the codebook has no NaN: the bytes landed where they belong.
  CHECK(sd.at("encoder.1.running_var").min().item<float>() > 0.0f);
  CHECK(sd.at("quantizer.embedding.weight").sizes().vec() == std::vector<int64_t>{512, 64});
  CHECK_FALSE(sd.at("quantizer.embedding.weight").isnan().any().item<bool>());
  CHECK(sd.at("encoder.1.num_batches_tracked").item<int64_t>() > 0);
}

TEST_CASE("GCP-VQVAE checkpoint: nested dicts, optimizer state skipped") {
  auto path = test::shared_file("vectors/gcp/tiny_model/checkpoints/best_valid.pth");
  TorchCheckpoint ck(path.string());
  REQUIRE(ck.root().is(PyValue::Kind::Dict));
  const PyValue* model = ck.root().get("model_state_dict");
  if (!model) model = ck.root().get("model");
  REQUIRE(model != nullptr);
  auto model_tensors = ck.tensors(*model);
  CHECK(model_tensors.size() == 182);  // the tiny model's state dict
  auto all = ck.tensors();
  CHECK(all.size() == 422);  // + 240 tensors of optimizer state
  auto skipped = ck.tensors(ck.root(), {"optimizer_state_dict", "optimizer", "scheduler_state_dict"});
  CHECK(skipped.size() == model_tensors.size());
  for (const auto& [k, t] : skipped) CHECK(k.rfind("optimizer_state_dict.", 0) != 0);
  for (auto& [k, t] : model_tensors) CHECK_FALSE(at::isnan(t.to(at::kDouble)).any().item<bool>());
}

TEST_CASE("truncated or damaged checkpoints give one-line errors naming the file") {
  auto src = test::shared_file("models/molstructok/molstructok_vqvae.bin");
  auto bytes = test::read_file(src);
  auto dir = test::scratch_dir("checkpoint");

  auto truncated = (dir / "truncated.bin").string();
  std::ofstream(truncated, std::ios::binary).write(bytes.data(), bytes.size() / 2);
  try {
    TorchCheckpoint ck(truncated);
    FAIL("truncated file was accepted");
  } catch (const InputError& e) {
    std::string msg = e.what();
    CHECK(msg.find("truncated.bin") != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
  }

  // Damage one storage entry's local header so that the tensor bytes cannot be found: error names the tensor.
  auto damaged = (dir / "damaged.bin").string();
  std::string copy = bytes;
  auto pos = copy.find("pytorch_model/data/5");
  REQUIRE(pos != std::string::npos);
  REQUIRE(pos >= 30);
  copy[pos - 30] = 'X';  // local file header signature of that entry
  std::ofstream(damaged, std::ios::binary).write(copy.data(), copy.size());
  TorchCheckpoint ck(damaged);
  try {
    ck.tensors();
    FAIL("damaged storage was accepted");
  } catch (const InputError& e) {
    std::string msg = e.what();
    CHECK(msg.find("damaged.bin") != std::string::npos);
    CHECK(msg.find("encoder.") != std::string::npos);
  }

  // A central-directory record whose name length runs past the directory: refused, never read beyond the map.
  auto long_name = (dir / "long_name.bin").string();
  std::string bad = bytes;
  const auto central = bad.rfind(std::string("PK\x01\x02", 4));
  REQUIRE(central != std::string::npos);
  bad[central + 28] = bad[central + 29] = '\xff';  // name length 65535
  std::ofstream(long_name, std::ios::binary).write(bad.data(), bad.size());
  CHECK_THROWS_WITH_AS(TorchCheckpoint{long_name}, doctest::Contains("corrupt zip central directory"), InputError);

  auto not_zip = (dir / "text.bin").string();
  std::ofstream(not_zip) << "this is not a checkpoint, but it is long enough to look for a zip directory";
  CHECK_THROWS_AS(TorchCheckpoint{not_zip}, InputError);
}

TEST_CASE("unpickler: protocol-2 values torch.save and numpy emit") {
  // pickle.dumps({'a': 1, 'b': [1.5, 'x'], 'c': (True, None), 'n': -300, 'big': 2**40}, protocol=2)
  const unsigned char raw[] = {
      0x80, 0x02, '}', 'q', 0x00, '(', 'X', 0x01, 0, 0, 0, 'a', 'q', 0x01, 'K', 0x01, 'X', 0x01, 0, 0, 0, 'b',
      'q', 0x02, ']', 'q', 0x03, '(', 'G', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 'X', 0x01, 0, 0, 0, 'x', 'q', 0x04,
      'e', 'X', 0x01, 0, 0, 0, 'c', 'q', 0x05, 0x88, 'N', 0x86, 'q', 0x06, 'X', 0x01, 0, 0, 0, 'n', 'q', 0x07,
      'J', 0xd4, 0xfe, 0xff, 0xff, 'X', 0x03, 0, 0, 0, 'b', 'i', 'g', 'q', 0x08, 0x8a, 0x06, 0, 0, 0, 0, 0,
      0x01, 'u', '.'};
  auto v = unpickle(std::string(reinterpret_cast<const char*>(raw), sizeof raw), "test");
  REQUIRE(v->is(PyValue::Kind::Dict));
  CHECK(v->get("a")->i == 1);
  CHECK(v->get("b")->items.at(0)->f == 1.5);
  CHECK(v->get("b")->items.at(1)->s == "x");
  CHECK(v->get("c")->items.at(0)->b == true);
  CHECK(v->get("c")->items.at(1)->is(PyValue::Kind::None));
  CHECK(v->get("n")->i == -300);
  CHECK(v->get("big")->i == (int64_t(1) << 40));
  CHECK_THROWS_AS(unpickle(std::string(reinterpret_cast<const char*>(raw), 20), "cut"), InputError);
}

TEST_CASE("tensor views are checked against their storage before any tensor is built") {
  // Real views of the tiny GCP checkpoint's storages, then the same references with lying offsets, sizes and
  // strides: each is one InputError naming file and tensor, never c10's "Storage size calculation overflowed", an
  // enforce in alloc_cpu or a terabyte allocation.
  auto path = test::shared_file("vectors/gcp/tiny_model/checkpoints/best_valid.pth").string();
  TorchCheckpoint ck(path);
  const PyValue* sd = ck.root().get("model_state_dict");
  REQUIRE(sd != nullptr);
  const PyValue* node = sd->get("vqvae.vector_quantizer._codebook.embed");
  REQUIRE(node != nullptr);
  REQUIRE(node->is(PyValue::Kind::Tensor));
  const TensorRef base = *node->tensor;
  REQUIRE(base.dtype == "Float");
  REQUIRE(base.storage_numel == 512 * 32);
  const at::Tensor whole = ck.tensor(base, "embed").reshape({-1});

  // A legitimate view: offset 5, a 3x2 window with a stride of 7 down and 2 across.
  TensorRef view = base;
  view.offset = 5;
  view.sizes = {3, 2};
  view.strides = {7, 2};
  const at::Tensor v = ck.tensor(view, "view");
  REQUIRE(v.sizes().vec() == std::vector<int64_t>{3, 2});
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2; ++j) CHECK(v[i][j].item<float>() == whole[5 + 7 * i + 2 * j].item<float>());
  // An expand()ed view (stride 0) of modest size is materialised.
  view = base;
  view.offset = 3;
  view.sizes = {4, 3};
  view.strides = {0, 1};
  const at::Tensor e = ck.tensor(view, "expanded");
  CHECK(e[3][2].item<float>() == whole[5].item<float>());

  const auto refused = [&](TensorRef r, const std::string& expected) {
    try {
      ck.tensor(r, "bad.weight");
      FAIL("accepted: " << expected);
    } catch (const InputError& err) {
      const std::string msg = err.what();
      CHECK(msg.find("best_valid.pth") != std::string::npos);
      CHECK(msg.find("'bad.weight'") != std::string::npos);
      CHECK_MESSAGE(msg.find(expected) != std::string::npos, msg);
      CHECK(msg.find('\n') == std::string::npos);
    }
  };
  TensorRef r = base;
  r.offset = base.storage_numel;  // one past the end
  r.sizes = {1};
  r.strides = {1};
  refused(r, "lies outside its storage");
  r.offset = -1;
  refused(r, "lies outside its storage");
  r = base;
  r.sizes = {int64_t{1} << 40};  // a terabyte view of 64 KiB, stride 0
  r.strides = {0};
  r.offset = 0;
  refused(r, "repeats its storage");
  r.sizes = {int64_t{1} << 62, 8};  // the element count overflows
  r.strides = {0, 0};
  refused(r, "overflow");
  r.sizes = {2, int64_t{1} << 62};  // the extent overflows
  r.strides = {int64_t{1} << 62, 4};
  refused(r, "overflow");
  r.sizes = {0, int64_t{1} << 62, int64_t{1} << 62};  // empty, but c10 would multiply the sizes
  r.strides = {1, 1, 1};
  refused(r, "overflow");
  r = base;
  r.strides = {1, 1, -1};
  refused(r, "negative stride");
  r = base;
  r.sizes = {-3};
  r.strides = {1};
  refused(r, "negative size");
  r = base;
  r.storage_numel = -5;
  refused(r, "negative storage size");
  r = base;
  r.storage_numel = base.storage_numel * 2;  // the pickle claims more than the archive holds
  refused(r, "the pickle says");
  r = base;
  r.strides = {1, 1};  // sizes and strides of different length
  refused(r, "differ in length");
}
