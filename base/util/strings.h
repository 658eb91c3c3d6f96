#pragma once
// The string helpers of the whole project (one copy each): joining, trimming, membership, prefixes.
#include <string>
#include <string_view>
#include <vector>

namespace repro {

// The items' texts with `sep` between them: join({"a", "b"}, ", ") == "a, b".
std::string join(const std::vector<std::string>& items, std::string_view sep);

// Any container of numbers or other streamable values, written as std::to_string / operator<< would.
template <typename Range, typename Format>
std::string join(const Range& items, std::string_view sep, Format format) {
  std::string out;
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += sep;
    out += format(item);
    first = false;
  }
  return out;
}

// `s` without leading and trailing ASCII whitespace (space, \t, \n, \r, \f, \v).
std::string trim(std::string_view s);

// Whether `items` holds `item`.
bool contains(const std::vector<std::string>& items, std::string_view item);

bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);

// `s` cut at every `sep` (empty pieces kept): split("a,,b", ',') == {"a", "", "b"}.
std::vector<std::string> split(std::string_view s, char sep);

// The shell's single-quoted form of any string, one word to sh and bash: it's -> 'it'\''s'.
std::string shell_quote(std::string_view s);

}  // namespace repro
