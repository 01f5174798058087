// Config fields of enum type. An enum is bound to its spellings once, beside it, by a function
// that argument-dependent lookup finds (so it must be in the enum's namespace):
//
//   enum class LrSchedule { kConstant, kCosine };
//   inline ConfigEnumTable<LrSchedule> ConfigEnumNames(LrSchedule) {
//     static constexpr ConfigEnumName<LrSchedule> kNames[] = {{LrSchedule::kConstant, "constant"},
//                                                             {LrSchedule::kCosine, "cosine"}};
//     return kNames;
//   }
//
// A field of that type is then read from and written as those names by core/base/config.h
// (an unknown name is refused naming the file:line, the key and the valid names), and code
// converts with EnumToString / EnumFromString / ParseConfigEnum. The mode is parsed once, at
// load: code compares enum values, never strings.
//
// Light on purpose (no yaml-cpp): included by the headers that declare config enums.
#ifndef SEAMLESS_CORE_BASE_CONFIG_ENUM_H_
#define SEAMLESS_CORE_BASE_CONFIG_ENUM_H_

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace seamless {

template <typename E>
struct ConfigEnumName {
  E value;
  const char* name;
};
template <typename E>
using ConfigEnumTable = absl::Span<const ConfigEnumName<E>>;

namespace internal {

template <typename T, typename = void>
struct HasConfigEnumNames : std::false_type {};
template <typename T>
struct HasConfigEnumNames<T, std::void_t<decltype(ConfigEnumNames(std::declval<T>()))>>
    : std::true_type {};

}  // namespace internal

// The spelling of `value` ("?" for a value the table lacks).
template <typename E>
const char* EnumToString(E value) {
  for (const auto& entry : ConfigEnumNames(value)) {
    if (entry.value == value) return entry.name;
  }
  return "?";
}

// The value spelled `name`; nullopt when no value is.
template <typename E>
std::optional<E> EnumFromString(std::string_view name) {
  for (const auto& entry : ConfigEnumNames(E{})) {
    if (name == entry.name) return entry.value;
  }
  return std::nullopt;
}

// Every spelling, in table order: "constant | cosine".
template <typename E>
std::string EnumValidNames() {
  std::string out;
  for (const auto& entry : ConfigEnumNames(E{})) {
    if (!out.empty()) out += " | ";
    out += entry.name;
  }
  return out;
}

// EnumFromString with the config error: "<key> is '<name>'; valid values: a | b".
template <typename E>
absl::StatusOr<E> ParseConfigEnum(std::string_view key, std::string_view name) {
  if (std::optional<E> value = EnumFromString<E>(name)) return *value;
  return absl::InvalidArgumentError(std::string(key) + " is '" + std::string(name) +
                                    "'; valid values: " + EnumValidNames<E>());
}

}  // namespace seamless

#endif  // SEAMLESS_CORE_BASE_CONFIG_ENUM_H_
