// Chat-template rendering against the 92 reference renderings (jinja2 / @huggingface/jinja), and the
// Jinja subset's behaviour on small templates.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "bmx/core/util/error.h"
#include "bmx/tokenizers/bpe_tokenizer.h"
#include "bmx/tokenizers/chat_template.h"
#include "shared.h"

using ojson = nlohmann::ordered_json;

TEST_CASE("chat template: all reference renderings and their ids, qwen3 and biomatrix") {
  auto qwen3 = bmx::Tokenizer::from_dir(bmx::test::shared_file("models/tokenizers/qwen3"));
  auto bio = bmx::Tokenizer::from_dir(bmx::test::shared_file("models/tokenizers/biomatrix"));
  REQUIRE(!qwen3.chat_template().empty());
  CHECK(qwen3.chat_template() == bio.chat_template());
  CHECK(qwen3.eos_token() == "<|im_end|>");
  CHECK(qwen3.eos_id() == 151645);
  CHECK(qwen3.pad_id() == 151643);
  CHECK(!qwen3.bos_id());
  bmx::ChatTemplate tmpl(qwen3.chat_template());
  auto lines = bmx::test::read_lines(bmx::test::shared_file("vectors/tokenizer/chat_template.jsonl"));
  size_t records = 0, failures = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    auto r = ojson::parse(lines[i]);
    ++records;
    bmx::ChatInput in;
    in.messages = r["messages"];
    in.add_generation_prompt = r["add_generation_prompt"].get<bool>();
    if (r.contains("tools")) in.tools = r["tools"];
    if (r.contains("enable_thinking")) in.enable_thinking = r["enable_thinking"].get<bool>();
    in.eos_token = qwen3.eos_token();
    in.pad_token = qwen3.pad_token();
    std::string got = bmx::render_chat(tmpl, in);
    std::string want = r["rendered"].get<std::string>();
    if (got != want) {
      if (++failures <= 5) FAIL_CHECK("chat_template.jsonl:" << i + 1 << "\n--- got ---\n" << got << "\n--- want ---\n" << want);
      continue;
    }
    CHECK(qwen3.encode(got) == r["ids"].get<std::vector<int32_t>>());
    CHECK(bio.encode(got) == r["ids_biomatrix"].get<std::vector<int32_t>>());
  }
  CHECK(records == 92);
  CHECK(failures == 0);
}

namespace {
std::string render(const std::string& t, const ojson& vars = ojson::object()) { return bmx::ChatTemplate(t).render(vars); }
}  // namespace

TEST_CASE("chat template: whitespace control, trim_blocks and lstrip_blocks") {
  CHECK(render("a\n  {% if true %}\n  x\n  {% endif %}\nb") == "a\n  x\nb");
  CHECK(render("a  {%- if true -%}  x  {%- endif -%}  b") == "axb");
  CHECK(render("{{ 'a' }}\n{{ 'b' }}") == "a\nb");  // trim_blocks does not apply to {{ }}
  CHECK(render("a {# note #}\nb") == "a b");
  CHECK(render("x  {% if true %}y{% endif %}") == "x  y");  // tag not at line start keeps the blanks
}

TEST_CASE("chat template: expressions, filters, tests, loops and scoping") {
  ojson v = ojson::parse(R"({"xs": [1, 2, 3], "d": {"b": 1, "a": "ü\n"}, "s": "  Hi there  "})");
  CHECK(render("{% for x in xs[::-1] %}{{ x }}{% if not loop.last %},{% endif %}{% endfor %}", v) == "3,2,1");
  CHECK(render("{{ d | tojson }}", v) == "{\"b\": 1, \"a\": \"ü\\n\"}");
  CHECK(render("{{ xs | length - 1 }}", v) == "2");
  CHECK(render("{{ s.strip().split(' ')[-1] }}|{{ s | trim | upper }}", v) == "there|HI THERE");
  CHECK(render("{{ 'a</b>c'.split('</b>')[0] }}{{ 'xyz'.startswith('xy') }}", v) == "aTrue");
  CHECK(render("{% if u is defined %}d{% else %}u{% endif %}{{ u is undefined }}{{ none is none }}", v) == "uTrueTrue");
  CHECK(render("{% set n = namespace(k=0) %}{% for x in xs %}{% set n.k = n.k + x %}{% endfor %}{{ n.k }}", v) == "6");
  CHECK(render("{% set y = 1 %}{% for x in xs %}{% set y = x %}{% endfor %}{{ y }}", v) == "1");  // loop scope
  CHECK(render("{% for x in xs if x > 1 %}{{ loop.index }}{{ x }}{% endfor %}", v) == "1223");
  CHECK(render("{% for k, val in d.items() %}{{ k }}{% endfor %}", v) == "ba");
  CHECK(render("{{ 'yes' if 'a' in d else 'no' }}{{ 7 // 2 }}{{ -7 % 3 }}{{ 'x' ~ 1 }}", v) == "yes32x1");
  CHECK(render("{% for x in xs %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}", v) == "1");
  CHECK(render("{{ [1, 'a', none, true, 1.5] }}") == "[1, 'a', None, True, 1.5]");
  CHECK(render("{{ {'k': [1, 2.0]} | tojson(indent=2) }}") == "{\n  \"k\": [\n    1,\n    2.0\n  ]\n}");
}

TEST_CASE("chat template: filters, methods and globals looked up by name") {
  CHECK(render("{{ 'aaa' | replace('a', 'b', 2) }}|{{ 'a-b c'.title() }}|{{ 'hELLO' | capitalize }}|"
               "{{ [1, 2, 1, 'a', 'a'] | unique }}|{{ '' | default('z', true) }}") == "bba|A-B C|Hello|[1, 2, 'a']|z");
  CHECK(render("{{ {'a': 1}.get('b', 2) }}|{{ {'b': 1, 'a': 2}.keys() | list }}|{{ ' a  b '.split() }}|"
               "{{ 'a,b,c'.split(',', 1) }}|{{ range(5, 0, -2) }}|{{ dict(k=[1]) | tojson }}") ==
        "2|['b', 'a']|['a', 'b']|['a', 'b,c']|[5, 3, 1]|{\"k\": [1]}");
  // A name in no table fails when it is reached, not when the template is parsed.
  CHECK(render("{% if false %}{{ x | nosuchfilter }}{{ x is nosuchtest }}{% endif %}ok") == "ok");
  CHECK_THROWS_WITH_AS(render("{{ 'abc'.frob() }}"), doctest::Contains("unknown method frob()"), bmx::InputError);
  CHECK_THROWS_WITH_AS(render("{{ 1 is frob }}"), doctest::Contains("unknown test 'frob'"), bmx::InputError);
}

TEST_CASE("chat template: errors are one-line InputErrors with the line") {
  CHECK_THROWS_AS(bmx::ChatTemplate("{% if x %}no end"), bmx::InputError);
  CHECK_THROWS_WITH_AS(bmx::ChatTemplate("a\n{% frobnicate %}"), doctest::Contains("line 2"), bmx::InputError);
  CHECK_THROWS_WITH_AS(render("{{ raise_exception('bad role') }}"), doctest::Contains("bad role"), bmx::InputError);
  // String escapes: \x, \u, \U decode to UTF-8; malformed ones are template errors, not crashes of another kind.
  CHECK(render("{{ '\\x41\\u00e9\\U0001F600' }}") == "A\xc3\xa9\xf0\x9f\x98\x80");
  CHECK_THROWS_WITH_AS(render("{{ '\\xZZ' }}"), doctest::Contains("not hex"), bmx::InputError);
  CHECK_THROWS_WITH_AS(render("{{ '\\U00110000' }}"), doctest::Contains("U+10FFFF"), bmx::InputError);
  CHECK_THROWS_AS(render("{{ x | nosuchfilter }}"), bmx::InputError);
}
