// Typed configuration read from YAML or JSON (JSON is read as YAML) with defaults.
//
// A config struct lists its fields once, in a template member:
//
//   struct SamplingOptions {
//     double temperature = 1.0;
//     int max_new_tokens = 64;
//     template <typename V> void VisitFields(V& v) {
//       v("temperature", temperature, "Softmax temperature; 0 is greedy");
//       v("max_new_tokens", max_new_tokens, "Tokens generated per sample at most");
//     }
//   };
//
// and gets, from that list: loading with unknown-key and type errors that name the file,
// line and key path (LoadConfig), writing of the resolved config (ConfigToYaml), and a
// documented listing of every key (DescribeConfig). Nested structs, vectors of scalars and
// enums bound to their names (core/base/config_enum.h) work.
//
// Validate() hook: a struct may declare `absl::Status Validate() const;` checking its own
// settings (a nested struct checks its own). Its messages start with the key they are about,
// relative to the struct ("batch_groups is 0; valid range [1, 1000000]", as CheckRange writes
// them). LoadConfigFile / LoadConfigString call every struct's hook after parsing, innermost
// first (ValidateConfig), and prefix each message with the struct's key path and, when the key
// is in the file, the file:line of that key: "run.yaml:3: scheduler.batch_groups is 0; ...".
#ifndef SEAMLESS_CORE_BASE_CONFIG_H_
#define SEAMLESS_CORE_BASE_CONFIG_H_

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/base/config_enum.h"
#include "yaml-cpp/yaml.h"

namespace seamless {

// What to do with keys a struct does not declare.
enum class UnknownKeys { kError, kIgnore };

namespace internal {

template <typename T>
struct IsVector : std::false_type {};
template <typename T, typename A>
struct IsVector<std::vector<T, A>> : std::true_type {};

template <typename T, typename = void>
struct HasVisitFields : std::false_type {};
struct NullVisitor {
  template <typename F>
  void operator()(const char*, F&, const char*) {}
};
template <typename T>
struct HasVisitFields<
    T, std::void_t<decltype(std::declval<T&>().VisitFields(std::declval<NullVisitor&>()))>>
    : std::true_type {};

template <typename T, typename = void>
struct HasValidate : std::false_type {};
template <typename T>
struct HasValidate<T, std::void_t<decltype(std::declval<const T&>().Validate())>> : std::true_type {
};

// Scalar conversions; each returns an error naming `where` (file:line key) on a type mismatch.
// The shortest decimal text that reads back as exactly `value` (0.1, not 0.10000000000000001).
std::string FormatShortest(double value);
std::string FormatShortest(float value);

absl::Status ReadScalar(const YAML::Node& node, const std::string& where, bool* out);
absl::Status ReadScalar(const YAML::Node& node, const std::string& where, int32_t* out);
absl::Status ReadScalar(const YAML::Node& node, const std::string& where, int64_t* out);
absl::Status ReadScalar(const YAML::Node& node, const std::string& where, uint64_t* out);
absl::Status ReadScalar(const YAML::Node& node, const std::string& where, float* out);
absl::Status ReadScalar(const YAML::Node& node, const std::string& where, double* out);
absl::Status ReadScalar(const YAML::Node& node, const std::string& where, std::string* out);

std::string Where(const std::string& file, const YAML::Node& node, const std::string& key_path);

// A scalar that is none of an enum's names: "file:line: path is 'x'; valid values: a | b".
absl::Status EnumValueError(const std::string& file, const YAML::Node& node,
                            const std::string& path, const std::string& valid_names);

class ConfigReader {
 public:
  ConfigReader(std::string file, YAML::Node node, std::string prefix, UnknownKeys unknown)
      : file_(std::move(file)),
        node_(std::move(node)),
        prefix_(std::move(prefix)),
        unknown_(unknown) {}

  template <typename T>
  void operator()(const char* key, T& field, const char* /*help*/) {
    if (!status_.ok()) return;
    seen_.push_back(key);
    YAML::Node child = node_[key];
    if (!child.IsDefined() || child.IsNull()) return;  // keep the default
    status_ = Read(child, Path(key), &field);
  }

  // Called after visiting: rejects keys the struct does not declare.
  absl::Status Finish();
  absl::Status status() const { return status_; }

 private:
  std::string Path(const char* key) const { return prefix_.empty() ? key : prefix_ + "." + key; }

  template <typename T>
  absl::Status Read(const YAML::Node& node, const std::string& path, T* out) {
    if constexpr (HasVisitFields<T>::value) {
      if (!node.IsMap()) {
        return absl::InvalidArgumentError(
            absl::StrCat(Where(file_, node, path), ": expected a mapping"));
      }
      ConfigReader nested(file_, node, path, unknown_);
      out->VisitFields(nested);
      if (!nested.status().ok()) return nested.status();
      return nested.Finish();
    } else if constexpr (IsVector<T>::value) {
      if (!node.IsSequence()) {
        return absl::InvalidArgumentError(
            absl::StrCat(Where(file_, node, path), ": expected a list"));
      }
      out->clear();
      for (size_t i = 0; i < node.size(); ++i) {
        typename T::value_type item{};
        absl::Status s = Read(node[i], absl::StrCat(path, "[", i, "]"), &item);
        if (!s.ok()) return s;
        out->push_back(std::move(item));
      }
      return absl::OkStatus();
    } else if constexpr (HasConfigEnumNames<T>::value) {
      std::optional<T> value;
      if (node.IsScalar()) value = EnumFromString<T>(node.Scalar());
      if (!value) return EnumValueError(file_, node, path, EnumValidNames<T>());
      *out = *value;
      return absl::OkStatus();
    } else {
      return ReadScalar(node, Where(file_, node, path), out);
    }
  }

  std::string file_;
  YAML::Node node_;
  std::string prefix_;
  UnknownKeys unknown_;
  std::vector<std::string> seen_;
  absl::Status status_;
};

class ConfigWriter {
 public:
  explicit ConfigWriter(YAML::Emitter* out) : out_(out) {}
  template <typename T>
  void operator()(const char* key, T& field, const char* /*help*/) {
    *out_ << YAML::Key << key << YAML::Value;
    Write(field);
  }

 private:
  template <typename T>
  void Write(T& value) {
    if constexpr (HasVisitFields<T>::value) {
      *out_ << YAML::BeginMap;
      value.VisitFields(*this);
      *out_ << YAML::EndMap;
    } else if constexpr (IsVector<T>::value) {
      *out_ << YAML::Flow << YAML::BeginSeq;
      for (auto& item : value) Write(item);
      *out_ << YAML::EndSeq;
    } else if constexpr (HasConfigEnumNames<T>::value) {
      *out_ << EnumToString(value);
    } else if constexpr (std::is_floating_point_v<T>) {
      if (std::isfinite(value)) {
        *out_ << FormatShortest(value);
      } else {
        *out_ << value;
      }
    } else {
      *out_ << value;
    }
  }
  YAML::Emitter* out_;
};

class ConfigDescriber {
 public:
  explicit ConfigDescriber(std::string prefix, std::string* out)
      : prefix_(std::move(prefix)), out_(out) {}
  template <typename T>
  void operator()(const char* key, T& field, const char* help) {
    const std::string path = prefix_.empty() ? key : prefix_ + "." + key;
    if constexpr (HasVisitFields<T>::value) {
      absl::StrAppend(out_, "  ", path, ":  ", help, "\n");
      ConfigDescriber nested(path, out_);
      field.VisitFields(nested);
    } else {
      YAML::Emitter value;
      value << YAML::Flow;
      ConfigWriter writer(&value);
      value << YAML::BeginMap;
      writer("v", field, "");
      value << YAML::EndMap;
      std::string shown = value.c_str();  // "{v: ...}"
      if (shown.size() > 5) shown = shown.substr(4, shown.size() - 5);
      absl::StrAppend(out_, "  ", path, " = ", shown, "\n      ", help, "\n");
    }
  }

 private:
  std::string prefix_;
  std::string* out_;
};

absl::StatusOr<YAML::Node> ParseYamlFile(const std::string& path);
absl::StatusOr<YAML::Node> ParseYamlString(const std::string& text, const std::string& name);

// `s` with "key." put before its message ("batch_groups is 0" -> "scheduler.batch_groups is 0").
absl::Status PrefixKey(const absl::Status& s, const char* key);

template <typename T>
absl::Status ValidateStruct(T& config);

// Calls the Validate() hook of every nested struct, then stops at the first error.
class ConfigValidator {
 public:
  template <typename T>
  void operator()(const char* key, T& field, const char* /*help*/) {
    if (!status_.ok()) return;
    if constexpr (HasVisitFields<T>::value) status_ = PrefixKey(ValidateStruct(field), key);
  }
  absl::Status status() const { return status_; }

 private:
  absl::Status status_;
};

template <typename T>
absl::Status ValidateStruct(T& config) {
  ConfigValidator nested;
  config.VisitFields(nested);
  if (!nested.status().ok()) return nested.status();
  if constexpr (HasValidate<T>::value) return config.Validate();
  return absl::OkStatus();
}

// A Validate() error of a config loaded from `node`: prefixed with "file:line: " of the key
// its message starts with, or "file: " when that key is not in the file.
absl::Status LocateConfigError(const absl::Status& s, const YAML::Node& node,
                               const std::string& file);

}  // namespace internal

// Runs the Validate() hook of `config` and of every struct nested in it, innermost first; an
// error names the key path from `config` ("scheduler.sampling.top_p 1.5 must be in (0, 1]").
// The loaders below call it; call it again after changing a loaded config (flags). Structs
// inside lists are not visited (no config has any).
template <typename T>
absl::Status ValidateConfig(const T& config) {
  return internal::ValidateStruct(const_cast<T&>(config));  // visiting does not modify
}

// For Validate() hooks: "<key> is <value>; valid range [lo, hi]" unless lo <= value <= hi (a
// NaN is out of every range).
absl::Status CheckRange(absl::string_view key, double value, double lo, double hi);

// Overwrites fields of `config` with the values found in `node` (parsed from `file`).
template <typename T>
absl::Status ApplyConfigNode(const YAML::Node& node, const std::string& file, T* config,
                             UnknownKeys unknown = UnknownKeys::kError) {
  if (node.IsNull() || !node.IsDefined()) return absl::OkStatus();  // empty file
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": top level must be a mapping of keys to values"));
  }
  internal::ConfigReader reader(file, node, "", unknown);
  config->VisitFields(reader);
  if (!reader.status().ok()) return reader.status();
  return reader.Finish();
}

// Loads a YAML or JSON file over the defaults already in `*config`, then validates the result
// (ValidateConfig; the error names the file:line of the offending key). ApplyConfigNode alone
// does not validate.
template <typename T>
absl::Status LoadConfigFile(const std::string& path, T* config,
                            UnknownKeys unknown = UnknownKeys::kError) {
  auto node = internal::ParseYamlFile(path);
  if (!node.ok()) return node.status();
  absl::Status s = ApplyConfigNode(*node, path, config, unknown);
  if (!s.ok()) return s;
  return internal::LocateConfigError(ValidateConfig(*config), *node, path);
}

// Same, from text (`name` stands for the file in errors).
template <typename T>
absl::Status LoadConfigString(const std::string& text, const std::string& name, T* config,
                              UnknownKeys unknown = UnknownKeys::kError) {
  auto node = internal::ParseYamlString(text, name);
  if (!node.ok()) return node.status();
  absl::Status s = ApplyConfigNode(*node, name, config, unknown);
  if (!s.ok()) return s;
  return internal::LocateConfigError(ValidateConfig(*config), *node, name);
}

// The resolved config as YAML, every field included.
template <typename T>
std::string ConfigToYaml(T config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  internal::ConfigWriter writer(&out);
  config.VisitFields(writer);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

// Every key with its default and help text, for --help.
template <typename T>
std::string DescribeConfig(T config) {
  std::string out;
  internal::ConfigDescriber describer("", &out);
  config.VisitFields(describer);
  return out;
}

}  // namespace seamless

#endif  // SEAMLESS_CORE_BASE_CONFIG_H_
