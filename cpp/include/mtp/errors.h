// Exceptions thrown by the kernel. Adapters (pybind11, LAMMPS) translate them at their boundary.
#pragma once
#include <stdexcept>
#include <string>

namespace mtp {

// A malformed potential file. what() reads "<file>:<line>: <message>" ("<file>: <message>"
// for problems with the file as a whole, line 0).
class FileError : public std::runtime_error {
 public:
  FileError(const std::string& file, int line, const std::string& message)
      : std::runtime_error(file + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " + message),
        file_(file), line_(line) {}
  const std::string& file() const { return file_; }
  int line() const { return line_; }

 private:
  std::string file_;
  int line_;
};

// Bad arguments from the caller: shapes, species indices, positions, parameters.
class InputError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Bad input met while evaluating one atom of a batch (SiteEvaluator::compute_batch): lane() is
// the atom's position in the batch, so the caller can name it.
class SiteError : public InputError {
 public:
  SiteError(int lane, const std::string& message) : InputError(message), lane_(lane) {}
  int lane() const { return lane_; }

 private:
  int lane_;
};

}  // namespace mtp
