// A chat template is untrusted input (tokenizer_config.json of a downloaded model folder): the hostile
// templates of issue 17 (stack overflow, abort, hang) each end in one InputError naming the limit, and
// results just inside the limits are still computed (Python's values where 64-bit integers suffice).
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "bmx/core/util/error.h"
#include "bmx/tokenizers/chat_template.h"

using ojson = nlohmann::ordered_json;

namespace {

std::string render(const std::string& t, const ojson& vars = ojson::object()) { return bmx::ChatTemplate(t).render(vars); }

std::string repeat(const std::string& s, size_t n) {
  std::string r;
  for (size_t i = 0; i < n; ++i) r += s;
  return r;
}

// The error a template gives, parsed and rendered; "" when it renders.
std::string error_of(const std::string& t, const ojson& vars = ojson::object()) {
  try {
    render(t, vars);
  } catch (const bmx::InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("chat template limits: deep nesting is refused, not a stack overflow") {
  // The three from the issue: 10,000 '(', 30,000 {% if %}, 200,000 'not'.
  CHECK(error_of("{{ " + repeat("(", 10000) + "1" + repeat(")", 10000) + " }}").find("expressions nested more than 200 deep") != std::string::npos);
  CHECK(error_of(repeat("{% if true %}", 30000) + "x" + repeat("{% endif %}", 30000)).find("tags nested more than 200 deep") != std::string::npos);
  CHECK(error_of("{{ " + repeat("not ", 200000) + "true }}").find("nested more than 200 deep") != std::string::npos);
  // Chains that grow the tree without recursing in the parser: evaluating and freeing it would.
  CHECK(error_of("{{ 1" + repeat(" + 1", 300000) + " }}").find("nested more than 200 deep") != std::string::npos);
  CHECK(error_of("{{ x" + repeat(".a", 300000) + " }}").find("nested more than 200 deep") != std::string::npos);
  CHECK(error_of("{{ x" + repeat("|first", 300000) + " }}").find("nested more than 200 deep") != std::string::npos);
  CHECK(error_of("{{ " + repeat("- ", 100000) + "1 }}").find("nested more than 200 deep") != std::string::npos);
  CHECK(error_of("{{ " + repeat("[", 100000) + repeat("]", 100000) + " }}").find("nested more than 200 deep") != std::string::npos);
  // Values nested by a loop, one level per iteration (printing them recurses).
  CHECK(error_of("{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}")
            .find("lists and dicts nested more than 200 deep") != std::string::npos);
  // Just inside: 150 levels of each still render.
  CHECK(render("{{ " + repeat("(", 150) + "7" + repeat(")", 150) + " }}") == "7");
  CHECK(render(repeat("{% if true %}", 150) + "x" + repeat("{% endif %}", 150)) == "x");
  CHECK(render("{{ " + repeat("not ", 150) + "true }}") == "True");
  CHECK(render("{{ 1" + repeat(" + 1", 150) + " }}") == "151");
}

TEST_CASE("chat template limits: sizes, loops and integers") {
  // range(10**9) aborted (bad_alloc while unwinding); now refused before any allocation.
  CHECK(error_of("{{ range(1000000000) | length }}").find("a list of 1000000000 items is over the limit of 1000000 items") != std::string::npos);
  CHECK(error_of("{{ range(-9223372036854775807, 9223372036854775807) | length }}").find("over the limit of 1000000 items") != std::string::npos);
  // Hangs before: 'abc' * 10**10, 2 ** 10**11 (and 1 ** 10**11, which never overflows).
  CHECK(error_of("{{ 'abc' * 10000000000 }}").find("over the limit of 16777216 bytes") != std::string::npos);
  CHECK(error_of("{{ 2 ** 100000000000 }}").find("integer overflow in '**' (the limit is 64 bits)") != std::string::npos);
  CHECK(render("{{ 1 ** 100000000000 }}|{{ (-1) ** 100000000001 }}|{{ 0 ** 100000000000 }}") == "1|-1|0");
  CHECK(render("[{{ '' * 10000000000 }}]") == "[]");
  // A quadratic unique would take ~10^10 comparisons here and end at the 10 s rendering limit with an error; no
  // wall-clock assertion (the suite also runs under ASan on busy machines).
  CHECK(render("{{ range(200000) | unique | length }}|{{ [1, 1.0, 2, 'a', 'a'] | unique }}") == "200000|[1, 2, 'a']");
  // Python's exact values up to 64 bits; beyond, an error instead of a wrapped number.
  CHECK(render("{{ 2 ** 62 }}|{{ (-2) ** 63 }}|{{ 3 ** 39 }}") == "4611686018427387904|-9223372036854775808|4052555153018976267");
  CHECK(error_of("{{ 2 ** 63 }}").find("integer overflow") != std::string::npos);
  CHECK(error_of("{{ 9223372036854775807 + 1 }}").find("integer overflow in '+'") != std::string::npos);
  CHECK(error_of("{{ -9223372036854775807 - 2 }}").find("integer overflow in '-'") != std::string::npos);
  CHECK(error_of("{{ 4294967296 * 4294967296 }}").find("integer overflow in '*'") != std::string::npos);
  CHECK(error_of("{{ (-9223372036854775807 - 1) // -1 }}").find("integer overflow in '//'") != std::string::npos);
  CHECK(render("{{ (-9223372036854775807 - 1) % -1 }}") == "0");
  CHECK(error_of("{{ 99999999999999999999 }}").find("beyond 64 bits") != std::string::npos);
  CHECK(error_of("{{ range(1e300) }}").find("not a 64-bit integer") != std::string::npos);
  CHECK(render("{{ 1e999 }}") == "inf");  // Python's float('1e999')
  // Strings grown in a loop, a list joined, a replace that multiplies: each stops at the string limit.
  CHECK(error_of("{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}")
            .find("over the limit of 16777216 bytes") != std::string::npos);
  CHECK(error_of("{{ range(1000000) | join('" + repeat("y", 100) + "') }}").find("over the limit of 16777216 bytes") != std::string::npos);
  CHECK(error_of("{{ ('a' * 1000000).replace('a', '" + repeat("z", 100) + "') }}").find("over the limit of 16777216 bytes") != std::string::npos);
  CHECK(error_of("{{ x | tojson(indent=1000000000) }}").find("indent 1000000000 is over the limit of 64") != std::string::npos);
  // The output itself.
  CHECK(error_of("{% for i in range(1000) %}{{ 'b' * 100000 }}{% endfor %}").find("over the limit of 16777216 bytes") != std::string::npos);
  // Loop iterations in one rendering: 10**4 * 10**4 = 10**8 > 10**6.
  const std::string loops = error_of("{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}");
#if defined(__SANITIZE_ADDRESS__)
  // ASan makes an iteration ~10x dearer (10 us), so the 10 s CPU limit may stop these 10^6 iterations first: either
  // way the rendering is refused within the limits, which is what this checks there.
  CHECK((loops.find("more than 1000000 loop iterations (the limit)") != std::string::npos ||
         loops.find("s of CPU time (the limit)") != std::string::npos));
#else
  CHECK(loops.find("more than 1000000 loop iterations (the limit)") != std::string::npos);
#endif
  // Just inside the limits.
  CHECK(render("{{ ('ab' * 1000000) | length }}|{{ range(1000000) | length }}") == "2000000|1000000");
}

TEST_CASE("chat template limits: errors name the template's file") {
  try {
    bmx::ChatTemplate t("{{ range(1000000000) }}", "models/x/tokenizer_config.json");
    t.render(ojson::object());
    FAIL("no error");
  } catch (const bmx::InputError& e) {
    CHECK(std::string(e.what()) ==
          "models/x/tokenizer_config.json: chat template: line 1: a list of 1000000000 items is over the limit of 1000000 items");
  }
  CHECK_THROWS_WITH_AS(bmx::ChatTemplate(repeat("{% if true %}", 300), "cfg.json"),
                       doctest::Contains("cfg.json: chat template: line 1: tags nested more than 200 deep"), bmx::InputError);
}
