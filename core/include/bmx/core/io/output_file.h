// Every file bmx writes goes through OutputFile, so no command can destroy an input or leave a half-written file:
//  - an output that is one of the command's inputs (same device and inode, whatever the spelling) is refused
//    before anything is opened;
//  - a regular file is written to a temporary file in the same folder and renamed onto its name by commit(), so a
//    failed, refused or interrupted run (SIGINT/SIGTERM included) leaves the old file, or none, never a torso;
//  - every write and the close are checked: a full disk or /dev/full is an InputError naming the path.
// Special files (/dev/stdout, a FIFO, /dev/full) are written in place, since they cannot be renamed onto.
// "" and "-" mean stdout.
#pragma once
#include <fstream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace bmx {

// InputError "OUTPUT: is the input file INPUT; choose another output" when `output` names one of `inputs`.
// Paths that do not exist yet, "-" and "" never match.
void check_not_an_input(const std::string& output, const std::vector<std::string>& inputs);

class OutputFile {
 public:
  // Opens the output (a temporary beside `path` for a regular file). Throws InputError when the path is one of
  // `inputs` or cannot be created (naming the path and the system's reason).
  explicit OutputFile(const std::string& path, const std::vector<std::string>& inputs = {});
  OutputFile(OutputFile&&) noexcept;
  OutputFile& operator=(OutputFile&&) noexcept;
  ~OutputFile();  // without commit(): the temporary is removed and `path` is left as it was

  std::ostream& stream();
  bool is_stdout() const;
  const std::string& path() const;  // as given ("-" for stdout)
  std::string display_name() const; // "stdout" or the path, for messages

  // Flushes and checks every write and the close, then renames the temporary onto `path`. Throws InputError
  // ("PATH: write failed: No space left on device") and removes the temporary on failure. Idempotent.
  void commit();
  // Drops what was written (the temporary is removed; stdout is left as it is).
  void discard();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Writes `bytes` to `path` through an OutputFile and commits it.
void write_output_file(const std::string& path, const std::string& bytes, const std::vector<std::string>& inputs = {});

}  // namespace bmx
