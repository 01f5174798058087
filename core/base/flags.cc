#include "core/base/flags.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace seamless {

FlagSet::FlagSet(std::string usage, std::string summary)
    : usage_(std::move(usage)), summary_(std::move(summary)) {}

void FlagSet::AddString(const std::string& name, std::string* target, const std::string& help) {
  flags_.push_back({name, help, target->empty() ? "" : "\"" + *target + "\"", false,
                    [target](const std::string& v) {
                      *target = v;
                      return absl::OkStatus();
                    }});
}

void FlagSet::AddInt(const std::string& name, int64_t* target, const std::string& help) {
  flags_.push_back({name, help, absl::StrCat(*target), false, [target, name](const std::string& v) {
                      if (!absl::SimpleAtoi(v, target)) {
                        return absl::InvalidArgumentError(
                            absl::StrCat("--", name, ": expected an integer, got '", v, "'"));
                      }
                      return absl::OkStatus();
                    }});
}

void FlagSet::AddDouble(const std::string& name, double* target, const std::string& help) {
  flags_.push_back({name, help, absl::StrCat(*target), false, [target, name](const std::string& v) {
                      if (!absl::SimpleAtod(v, target)) {
                        return absl::InvalidArgumentError(
                            absl::StrCat("--", name, ": expected a number, got '", v, "'"));
                      }
                      return absl::OkStatus();
                    }});
}

void FlagSet::AddBool(const std::string& name, bool* target, const std::string& help) {
  flags_.push_back(
      {name, help, *target ? "true" : "false", true, [target, name](const std::string& v) {
         if (v == "true" || v == "1") {
           *target = true;
         } else if (v == "false" || v == "0") {
           *target = false;
         } else {
           return absl::InvalidArgumentError(
               absl::StrCat("--", name, ": expected true or false, got '", v, "'"));
         }
         return absl::OkStatus();
       }});
}

const FlagSet::Flag* FlagSet::Find(const std::string& name) const {
  for (const auto& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool FlagSet::WasSet(const std::string& name) const {
  return std::find(set_.begin(), set_.end(), name) != set_.end();
}

absl::Status FlagSet::Parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      return absl::OkStatus();
    }
    if (arg == "--") {
      positional_.insert(positional_.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const Flag* flag = Find(name);
    if (flag == nullptr && !has_value && name.rfind("no-", 0) == 0) {
      const Flag* negated = Find(name.substr(3));
      if (negated != nullptr && negated->is_bool) {
        flag = negated;
        name = negated->name;
        value = "false";
        has_value = true;
      }
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    if (!has_value) {
      if (flag->is_bool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      }
    }
    absl::Status s = flag->set(value);
    if (!s.ok()) return s;
    set_.push_back(name);
  }
  return absl::OkStatus();
}

std::string FlagSet::Help() const {
  std::string out = absl::StrCat("usage: ", usage_, "\n\n", summary_, "\n");
  if (!flags_.empty()) absl::StrAppend(&out, "\nflags:\n");
  for (const auto& f : flags_) {
    std::string left = absl::StrCat("  --", f.name, f.is_bool ? "" : "=VALUE");
    absl::StrAppend(&out, absl::StrFormat("%-28s %s", left, f.help));
    if (!f.default_text.empty()) absl::StrAppend(&out, " (default: ", f.default_text, ")");
    absl::StrAppend(&out, "\n");
  }
  absl::StrAppend(&out, absl::StrFormat("%-28s %s\n", "  --help", "show this help"));
  if (!epilog_.empty()) absl::StrAppend(&out, "\n", epilog_);
  return out;
}

namespace {
constexpr char kHelpShown[] = "seamless:help-shown";
}  // namespace

absl::Status HelpShown() { return absl::CancelledError(kHelpShown); }
bool IsHelpShown(const absl::Status& status) {
  return status.code() == absl::StatusCode::kCancelled && status.message() == kHelpShown;
}

absl::Status ParseFlagsOrHelp(FlagSet& flags, const std::vector<std::string>& args) {
  absl::Status status = flags.Parse(args);
  if (!status.ok()) return status;
  if (flags.help_requested()) {
    std::fputs(flags.Help().c_str(), stdout);
    return HelpShown();
  }
  return absl::OkStatus();
}

}  // namespace seamless
