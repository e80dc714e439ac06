// Chat template (tokenizer_config.json of any model folder): parse the input as a template, render it with a fixed
// conversation. Finds what issue 17 found by hand: deep nesting, huge ranges, string/int blow-ups.
#include "bmx/tokenizers/chat_template.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return bmx::fuzz::run_input([&] {
    const bmx::ChatTemplate tmpl{std::string(bmx::fuzz::as_text(data, size))};
    bmx::ChatInput in;
    in.messages = nlohmann::ordered_json::parse(R"([
      {"role": "system", "content": "You are BioMatrix."},
      {"role": "user", "content": "Fold <|prot_aa_start|><A M><A K><|prot_aa_end|>"},
      {"role": "assistant", "content": "<think>\nok\n</think>\n\n<|prot_3d_start|><S 1><S 2><|prot_3d_end|>"},
      {"role": "user", "content": "And ë, 中, \u0000?"}])");
    in.add_generation_prompt = true;
    in.bos_token = "<|endoftext|>";
    in.eos_token = "<|im_end|>";
    in.pad_token = "<|endoftext|>";
    (void)bmx::render_chat(tmpl, in);
    // The other variables a template may branch on: tools and enable_thinking.
    in.tools = nlohmann::ordered_json::parse(
        R"([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}])");
    in.enable_thinking = false;
    in.add_generation_prompt = false;
    (void)bmx::render_chat(tmpl, in);
  });
}
