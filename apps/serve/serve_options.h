// bmx serve: its command-line settings (llama-server's flag names where they mean the same).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "bmx/core/io/mapped_file.h"

namespace bmx::app::serve {

struct ServeOptions {
  std::string model;               // -m: decoder model folder; empty: only the structure tokenizer endpoints
  std::string alias;               // --alias: the model id of /v1/models (default: the folder's name)
  std::string host = "127.0.0.1";  // loopback unless asked otherwise
  int port = 8080;                 // 0: any free port (printed on stderr)
  int parallel = 4;                // --parallel: slots decoded together
  int64_t ctx_size = 0;            // --ctx-size: tokens of all slots together; 0: 4096 per slot (at most the model's)
  int max_queue = 64;              // --queue: requests waiting for a slot before 503
  std::string api_key;             // --api-key: Authorization: Bearer KEY required
  std::size_t max_body = 8u << 20;  // --max-body: request body bytes at most
  int threads = 0;                 // -t: compute threads
  bool bf16_prefill = false;       // --bf16-prefill: activations of products of several rows rounded to BF16
  int http_threads = 0;            // --threads-http: 0: parallel + queue + 8
  std::string weights;             // --weights q8_0|q4_0
  FileAccess access = FileAccess::automatic;  // --mmap / --no-mmap
  std::string gcp_vqvae, molstructok;  // structure tokenizers (apps/structure_models.h)
};

}  // namespace bmx::app::serve
