#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "bmx/core/io/output_file.h"
#include "bmx/core/util/error.h"
#include "shared.h"

using namespace bmx;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Files in the folder other than `keep`: a temporary left behind would show here.
int other_files(const fs::path& dir, const fs::path& keep) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename() != keep.filename()) ++n;
  return n;
}

}  // namespace

TEST_CASE("OutputFile: the file appears, whole, only at commit") {
  const fs::path dir = test::scratch_dir("output_file_commit");
  const fs::path p = dir / "out.txt";
  {
    OutputFile out(p.string());
    out.stream() << "first line\n";
    CHECK_FALSE(fs::exists(p));  // still the temporary
    out.commit();
  }
  CHECK(slurp(p) == "first line\n");
  CHECK(other_files(dir, p) == 0);
  // The mode is what a plain create gives, not mkstemp's 0600.
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  CHECK((st.st_mode & 0777) == (0666 & ~mask));
}

TEST_CASE("OutputFile: without commit the old file is kept and nothing is left behind") {
  const fs::path dir = test::scratch_dir("output_file_abandon");
  const fs::path p = dir / "keep.txt";
  write_output_file(p.string(), "old\n");
  {
    OutputFile out(p.string());
    out.stream() << "half-written";
  }  // a failure in the middle: never committed
  CHECK(slurp(p) == "old\n");
  CHECK(other_files(dir, p) == 0);
  {
    OutputFile out(p.string());
    out.stream() << "new\n";
    out.discard();
  }
  CHECK(slurp(p) == "old\n");
  CHECK(other_files(dir, p) == 0);
}

TEST_CASE("OutputFile: an output that is one of the inputs is refused before anything is opened") {
  const fs::path dir = test::scratch_dir("output_file_input");
  const fs::path in = dir / "in.sdf";
  write_output_file(in.string(), "the input\n");
  // The same file under another spelling and through a hard link is still the input.
  const fs::path link = dir / "link.sdf";
  fs::create_hard_link(in, link);
  for (const std::string& spelling : {in.string(), (dir / "." / "in.sdf").string(), link.string()}) {
    CAPTURE(spelling);
    try {
      OutputFile out(spelling, {in.string()});
      FAIL("no error");
    } catch (const InputError& e) {
      CHECK(std::string(e.what()).find("is the input file") != std::string::npos);
    }
  }
  CHECK(slurp(in) == "the input\n");
  // Another file, stdout and an output that does not exist yet pass.
  CHECK_NOTHROW(check_not_an_input((dir / "new.sdf").string(), {in.string()}));
  CHECK_NOTHROW(check_not_an_input("-", {in.string(), "-"}));
}

TEST_CASE("OutputFile: a write error is reported at commit (/dev/full)") {
  REQUIRE(fs::exists("/dev/full"));
  OutputFile out("/dev/full");
  out.stream() << std::string(1 << 16, 'x');
  try {
    out.commit();
    FAIL("no error");
  } catch (const InputError& e) {
    const std::string m = e.what();
    CHECK(m.find("/dev/full: write failed") == 0);
  }
}

TEST_CASE("OutputFile: a folder, or a folder that does not exist, is refused with the path") {
  const fs::path dir = test::scratch_dir("output_file_folder");
  CHECK_THROWS_WITH_AS(OutputFile(dir.string()), doctest::Contains("is a folder"), InputError);
  CHECK_THROWS_WITH_AS(OutputFile((dir / "no" / "such" / "x.txt").string()), doctest::Contains("cannot create"),
                       InputError);
}
