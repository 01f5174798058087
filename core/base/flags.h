// Command-line flags for one subcommand: `--name=value`, `--name value`, `--flag`,
// `--no-flag`, positional arguments, and a generated --help text.
#ifndef SEAMLESS_CORE_BASE_FLAGS_H_
#define SEAMLESS_CORE_BASE_FLAGS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace seamless {

class FlagSet {
 public:
  // `usage` is the synopsis line ("seamless generate [flags] PROMPT"); `summary` one paragraph.
  FlagSet(std::string usage, std::string summary);

  void AddString(const std::string& name, std::string* target, const std::string& help);
  void AddInt(const std::string& name, int64_t* target, const std::string& help);
  void AddDouble(const std::string& name, double* target, const std::string& help);
  void AddBool(const std::string& name, bool* target, const std::string& help);

  // Parses args (not including the program and subcommand names). `--help` sets
  // help_requested() and stops parsing. Errors name the flag.
  absl::Status Parse(const std::vector<std::string>& args);

  bool help_requested() const { return help_requested_; }
  bool WasSet(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  std::string Help() const;
  // Text appended to --help (for example the config keys).
  void SetEpilog(std::string epilog) { epilog_ = std::move(epilog); }

 private:
  struct Flag {
    std::string name;
    std::string help;
    std::string default_text;
    bool is_bool = false;
    std::function<absl::Status(const std::string&)> set;
  };
  const Flag* Find(const std::string& name) const;

  std::string usage_;
  std::string summary_;
  std::string epilog_;
  std::vector<Flag> flags_;
  std::vector<std::string> set_;
  std::vector<std::string> positional_;
  bool help_requested_ = false;
};

// Parses `args`; on --help prints the help text and returns HelpShown().
absl::Status ParseFlagsOrHelp(FlagSet& flags, const std::vector<std::string>& args);

// Marker status: --help was printed, exit 0.
absl::Status HelpShown();
bool IsHelpShown(const absl::Status& status);

}  // namespace seamless

#endif  // SEAMLESS_CORE_BASE_FLAGS_H_
