#include "base/util/npy.h"

#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <type_traits>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "base/util/limits.h"
#include "base/util/zip_archive.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "npy data is handled as little-endian bytes; a big-endian host needs byte swaps");

namespace repro {

namespace {

const char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
// numpy aligns the data start to 64 bytes and leaves room for a 21-digit first axis.
constexpr size_t kArrayAlign = 64;
constexpr size_t kGrowthAxisMaxDigits = 21;

struct Dtype {
  char kind;    // 'b', 'i', 'u', 'f', 'c'
  size_t size;  // bytes per element
};

Dtype parse_descr(const std::string& descr, const std::string& what) {
  auto bad = [&](const std::string& why) -> DataError {
    return DataError(what + ": unsupported dtype '" + descr + "' (" + why +
                     "); supported: bool, int8-64, uint8-64, float16/32/64, complex64/128");
  };
  if (descr.size() >= 2 && descr[1] == 'O')
    throw DataError(what + ": object dtype ('" + descr + "') is not supported; save a numeric array (no pickles)");
  if (descr.size() < 3) throw bad("expected a byte order, a kind and a size like '<f4'");
  char order = descr[0];
  char kind = descr[1];
  size_t size = 0;
  for (size_t i = 2; i < descr.size(); ++i) {
    if (descr[i] < '0' || descr[i] > '9' || size > 1000) throw bad("malformed size");
    size = size * 10 + static_cast<size_t>(descr[i] - '0');
  }
  bool ok = (kind == 'b' && size == 1) ||
            ((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
            (kind == 'f' && (size == 2 || size == 4 || size == 8)) || (kind == 'c' && (size == 8 || size == 16));
  if (!ok) throw bad("kind '" + std::string(1, kind) + "' with " + std::to_string(size) + " bytes");
  if (order == '>' && size > 1)
    throw DataError(what + ": big-endian dtype '" + descr +
                    "' is not supported; convert with a.astype(a.dtype.newbyteorder('<'))");
  if (order != '<' && order != '|' && order != '=' && order != '>')
    throw bad("unknown byte order '" + std::string(1, order) + "'");
  return {kind, size};
}

int64_t checked_numel(const std::vector<int64_t>& shape, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw DataError(what + ": negative dimension in shape " + shape_repr(shape));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      throw DataError(what + ": shape " + shape_repr(shape) + " overflows int64");
    n *= d;
  }
  return n;
}

// ---- a tiny reader for the Python literal in the header: dict, tuple, list, str, int, bool ----

// A header for messages: a crafted one may be megabytes long.
std::string clip(const std::string& header) { return header.size() <= 200 ? header : header.substr(0, 200) + "..."; }

struct Literal {
  enum Kind { kNone, kBool, kInt, kStr, kTuple, kList, kDict } kind = kNone;
  bool b = false;
  int64_t i = 0;
  std::string s;
  std::vector<Literal> items;
  std::vector<std::pair<std::string, Literal>> dict;
};

class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& what) : text_(text), what_(what) {}

  Literal parse_all() {
    Literal v = value();
    skip_ws();
    if (pos_ != text_.size()) fail("unexpected text after the dict");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw IoError(what_ + ": malformed .npy header (" + why + " at offset " + std::to_string(pos_) +
                  "): " + clip(text_));
  }
  void skip_ws() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool eat(char c) {
    skip_ws();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool eat_word(const char* w) {
    size_t n = std::strlen(w);
    if (text_.compare(pos_, n, w) == 0) {
      pos_ += n;
      return true;
    }
    return false;
  }

  Literal value() {
    NestingGuard guard(depth_, what_ + ": .npy header");
    skip_ws();
    if (pos_ >= text_.size()) fail("unexpected end");
    const char c = text_[pos_];
    if (c == '{') return dict();
    if (c == '(' || c == '[') return sequence(c);
    if (c == '\'' || c == '"') return quoted(c);
    if (c == '-' || (c >= '0' && c <= '9')) return integer();
    Literal v;
    if (eat_word("True")) {
      v.kind = Literal::kBool;
      v.b = true;
    } else if (eat_word("False")) {
      v.kind = Literal::kBool;
    } else if (eat_word("None")) {
      v.kind = Literal::kNone;
    } else {
      fail(std::string("unexpected character '") + c + "'");
    }
    return v;
  }

  // {'key': value, ...} with an optional trailing comma.
  Literal dict() {
    ++pos_;
    Literal v;
    v.kind = Literal::kDict;
    while (!eat('}')) {
      Literal key = value();
      if (key.kind != Literal::kStr) fail("dict key is not a string");
      if (!eat(':')) fail("expected ':'");
      v.dict.emplace_back(key.s, value());
      if (!eat(',')) {
        if (!eat('}')) fail("expected ',' or '}'");
        break;
      }
    }
    return v;
  }

  // A tuple "(...)" or a list "[...]", opened by `open`.
  Literal sequence(char open) {
    const char close = open == '(' ? ')' : ']';
    ++pos_;
    Literal v;
    v.kind = open == '(' ? Literal::kTuple : Literal::kList;
    while (!eat(close)) {
      v.items.push_back(value());
      if (!eat(',')) {
        if (!eat(close)) fail(std::string("expected ',' or '") + close + "'");
        break;
      }
    }
    return v;
  }

  Literal quoted(char quote) {
    ++pos_;
    Literal v;
    v.kind = Literal::kStr;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\') fail("escapes in strings are not supported");
      v.s += text_[pos_++];
    }
    if (pos_ >= text_.size()) fail("unterminated string");
    ++pos_;
    return v;
  }

  Literal integer() {
    Literal v;
    v.kind = Literal::kInt;
    bool neg = text_[pos_] == '-';
    if (neg) ++pos_;
    size_t start = pos_;
    uint64_t x = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      x = x * 10 + static_cast<uint64_t>(text_[pos_++] - '0');
      if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail("integer too large");
    }
    if (pos_ == start) fail("expected digits");
    if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;  // Python 2 long suffix
    v.i = neg ? -static_cast<int64_t>(x) : static_cast<int64_t>(x);
    return v;
  }

  const std::string& text_;
  const std::string& what_;
  size_t pos_ = 0;
  int depth_ = 0;  // a header is a flat dict; nesting is bounded so a crafted one cannot recurse
};

uint32_t read_le(const std::string& bytes, size_t at, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  return v;
}

std::string header_dict(const NpyArray& a) {
  // Same text as numpy's _write_array_header: keys sorted, repr values, trailing ", ".
  std::string h = "{'descr': '" + a.descr + "', 'fortran_order': " + (a.fortran_order ? "True" : "False") +
                  ", 'shape': " + shape_repr(a.shape) + ", }";
  if (!a.shape.empty()) {
    size_t digits = std::to_string(a.shape[0]).size();
    if (digits < kGrowthAxisMaxDigits) h.append(kGrowthAxisMaxDigits - digits, ' ');
  }
  return h;
}

void validate(const NpyArray& a, const std::string& what) {
  parse_descr(a.descr, what);
  if (a.fortran_order) throw DataError(what + ": fortran_order arrays are not written; pass C-order data");
  int64_t n = checked_numel(a.shape, what);
  const uint64_t expected = static_cast<uint64_t>(n) * a.word_size();
  if (a.data.size() != expected)
    throw DataError(what + ": shape " + shape_repr(a.shape) + " " + a.descr + " = " + std::to_string(expected) +
                    " bytes, got " + std::to_string(a.data.size()));
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t mant = h & 0x3ff;
  float magnitude;
  if (exp == 0) {
    magnitude = std::ldexp(static_cast<float>(mant), -24);  // zero or subnormal
  } else if (exp == 31) {
    magnitude = mant ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  } else {
    magnitude = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
  }
  uint32_t bits;
  std::memcpy(&bits, &magnitude, 4);
  bits |= sign;
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

template <typename T>
T load(const std::string& data, int64_t i) {
  T v;
  std::memcpy(&v, data.data() + static_cast<size_t>(i) * sizeof(T), sizeof(T));
  return v;
}

// Visits every element as its exact native type; `fn(index, value)`.
template <typename Fn>
void for_each_element(const NpyArray& a, const std::string& what, Fn&& fn) {
  Dtype dt = parse_descr(a.descr, what);
  const int64_t n = checked_numel(a.shape, what);
  if (a.data.size() != static_cast<uint64_t>(n) * dt.size)
    throw DataError(what + ": shape " + shape_repr(a.shape) + " " + a.descr + " = " +
                    std::to_string(static_cast<uint64_t>(n) * dt.size) + " bytes, got " +
                    std::to_string(a.data.size()));
  const std::string& d = a.data;
  for (int64_t i = 0; i < n; ++i) {
    switch (dt.kind) {
      case 'b':
        fn(i, static_cast<uint8_t>(load<uint8_t>(d, i) != 0));
        break;
      case 'i':
        switch (dt.size) {
          case 1:
            fn(i, load<int8_t>(d, i));
            break;
          case 2:
            fn(i, load<int16_t>(d, i));
            break;
          case 4:
            fn(i, load<int32_t>(d, i));
            break;
          default:
            fn(i, load<int64_t>(d, i));
            break;
        }
        break;
      case 'u':
        switch (dt.size) {
          case 1:
            fn(i, load<uint8_t>(d, i));
            break;
          case 2:
            fn(i, load<uint16_t>(d, i));
            break;
          case 4:
            fn(i, load<uint32_t>(d, i));
            break;
          default:
            fn(i, load<uint64_t>(d, i));
            break;
        }
        break;
      case 'f':
        switch (dt.size) {
          case 2:
            fn(i, half_to_float(load<uint16_t>(d, i)));
            break;
          case 4:
            fn(i, load<float>(d, i));
            break;
          default:
            fn(i, load<double>(d, i));
            break;
        }
        break;
      default:
        throw DataError(what + ": dtype '" + a.descr + "' (complex) cannot be converted to real values");
    }
  }
}

template <typename T>
NpyArray make_array(const std::vector<T>& values, const std::vector<int64_t>& shape, const char* descr) {
  NpyArray a;
  a.descr = descr;
  a.shape = shape;
  const int64_t n = checked_numel(shape, "make_npy_array");
  if (static_cast<uint64_t>(n) != values.size())
    throw DataError("make_npy_array: shape " + shape_repr(shape) + " needs " + std::to_string(n) + " values, got " +
                    std::to_string(values.size()));
  a.data.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  return a;
}

}  // namespace

std::string shape_repr(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

size_t NpyArray::word_size() const { return parse_descr(descr, "npy array").size; }

int64_t NpyArray::numel() const { return checked_numel(shape, "npy array"); }

NpyArray parse_npy(std::string&& bytes, const std::string& what) {
  if (bytes.size() < kMagicLen + 2 || bytes.compare(0, kMagicLen, kMagic, kMagicLen) != 0)
    throw IoError(what + ": not a .npy file (expected the magic \\x93NUMPY at the start)");
  const int major = static_cast<unsigned char>(bytes[6]);
  const int minor = static_cast<unsigned char>(bytes[7]);
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    throw IoError(what + ": unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                  " (expected 1.0, 2.0 or 3.0)");
  const size_t len_bytes = major == 1 ? 2 : 4;
  const size_t header_start = kMagicLen + 2 + len_bytes;
  if (bytes.size() < header_start)
    throw IoError(what + ": truncated .npy file (" + std::to_string(bytes.size()) +
                  " bytes, header length field incomplete)");
  const size_t header_len = read_le(bytes, kMagicLen + 2, len_bytes);
  if (bytes.size() < header_start + header_len)
    throw IoError(what + ": truncated .npy header (header says " + std::to_string(header_len) + " bytes, file has " +
                  std::to_string(bytes.size() - header_start) + ")");
  const std::string header = bytes.substr(header_start, header_len);

  Literal dict = HeaderParser(header, what).parse_all();
  if (dict.kind != Literal::kDict) throw IoError(what + ": .npy header is not a dict: " + clip(header));
  const Literal* descr = nullptr;
  const Literal* fortran = nullptr;
  const Literal* shape = nullptr;
  for (const auto& [key, value] : dict.dict) {
    if (key == "descr")
      descr = &value;
    else if (key == "fortran_order")
      fortran = &value;
    else if (key == "shape")
      shape = &value;
    else
      throw IoError(what + ": unexpected key '" + key + "' in .npy header: " + clip(header));
  }
  if (!descr || !fortran || !shape)
    throw IoError(what + ": .npy header lacks one of 'descr', 'fortran_order', 'shape': " + header);
  if (descr->kind == Literal::kList)
    throw DataError(what + ": structured dtype is not supported; save a plain numeric array");
  if (descr->kind != Literal::kStr || fortran->kind != Literal::kBool || shape->kind != Literal::kTuple)
    throw IoError(what + ": .npy header has wrong value types: " + clip(header));

  NpyArray a;
  a.descr = descr->s;
  for (const Literal& d : shape->items) {
    if (d.kind != Literal::kInt) throw IoError(what + ": non-integer shape in header: " + clip(header));
    a.shape.push_back(d.i);
  }
  if (fortran->b)
    throw DataError(what +
                    ": array is stored in Fortran order; save a C-contiguous array "
                    "(np.save(f, np.ascontiguousarray(a)))");
  const Dtype dt = parse_descr(a.descr, what);
  const int64_t n = checked_numel(a.shape, what);
  const uint64_t expected = checked_mul(static_cast<uint64_t>(n), dt.size, what + ": shape " + shape_repr(a.shape));
  const size_t data_start = header_start + header_len;
  const size_t got = bytes.size() - data_start;
  if (got != expected)
    throw DataError("file " + what + ": header says shape " + shape_repr(a.shape) + " " + a.descr + " = " +
                    std::to_string(expected) + " bytes, got " + std::to_string(got));
  a.data = std::move(bytes);
  a.data.erase(0, data_start);  // in place: one copy of the data at a time
  return a;
}

NpyArray parse_npy(const std::string& bytes, const std::string& what) { return parse_npy(std::string(bytes), what); }

std::string serialize_npy(const NpyArray& array) {
  validate(array, "serialize_npy");
  const std::string dict = header_dict(array);
  const size_t hlen = dict.size() + 1;  // + '\n'
  const size_t prefix = kMagicLen + 2 + 2;
  const size_t pad = kArrayAlign - (prefix + hlen) % kArrayAlign;  // numpy pads 1..64 spaces
  const size_t total_header = hlen + pad;
  if (total_header > 0xffff)
    throw DataError("serialize_npy: header of " + std::to_string(total_header) + " bytes does not fit format 1.0");
  std::string out(kMagic, kMagicLen);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(total_header & 0xff);
  out += static_cast<char>(total_header >> 8);
  out += dict;
  out.append(pad, ' ');
  out += '\n';
  out += array.data;
  return out;
}

NpyArray read_npy(const std::string& path) { return parse_npy(read_file(path), path); }

void write_npy(const std::string& path, const NpyArray& array) {
  validate(array, path);
  write_file_atomic(path, serialize_npy(array));
}

std::map<std::string, NpyArray> read_npz(const std::string& path) {
  ZipReader zip(path);
  std::map<std::string, NpyArray> out;
  for (const std::string& name : zip.names()) {
    const std::string suffix = ".npy";
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      throw IoError(path + ": entry '" + name + "' is not a .npy array (expected '<key>.npy')");
    out[name.substr(0, name.size() - suffix.size())] = parse_npy(zip.read(name), path + ":" + name);
  }
  return out;
}

void write_npz(const std::string& path, const std::vector<std::pair<std::string, NpyArray>>& arrays) {
  std::set<std::string> keys;
  std::vector<std::pair<std::string, std::string>> entries;
  entries.reserve(arrays.size());
  for (const auto& [key, array] : arrays) {
    if (key.empty()) throw DataError(path + ": empty array key");
    if (!keys.insert(key).second) throw DataError(path + ": duplicate array key '" + key + "'");
    validate(array, path + ":" + key);
    entries.emplace_back(key + ".npy", serialize_npy(array));
  }
  write_zip(path, entries);
}

NpyArray make_npy_array(const std::vector<float>& v, const std::vector<int64_t>& shape) {
  return make_array(v, shape, "<f4");
}
NpyArray make_npy_array(const std::vector<double>& v, const std::vector<int64_t>& shape) {
  return make_array(v, shape, "<f8");
}
NpyArray make_npy_array(const std::vector<uint8_t>& v, const std::vector<int64_t>& shape) {
  return make_array(v, shape, "|u1");
}
NpyArray make_npy_array(const std::vector<int32_t>& v, const std::vector<int64_t>& shape) {
  return make_array(v, shape, "<i4");
}
NpyArray make_npy_array(const std::vector<int64_t>& v, const std::vector<int64_t>& shape) {
  return make_array(v, shape, "<i8");
}

std::vector<float> as_float32(const NpyArray& array, const std::string& what) {
  std::vector<float> out(static_cast<size_t>(checked_numel(array.shape, what)));
  for_each_element(array, what, [&](int64_t i, auto v) { out[static_cast<size_t>(i)] = static_cast<float>(v); });
  return out;
}

std::vector<double> as_float64(const NpyArray& array, const std::string& what) {
  std::vector<double> out(static_cast<size_t>(checked_numel(array.shape, what)));
  for_each_element(array, what, [&](int64_t i, auto v) { out[static_cast<size_t>(i)] = static_cast<double>(v); });
  return out;
}

std::vector<int64_t> as_int64(const NpyArray& array, const std::string& what) {
  std::vector<int64_t> out(static_cast<size_t>(checked_numel(array.shape, what)));
  for_each_element(array, what, [&](int64_t i, auto v) {
    using T = decltype(v);
    if constexpr (std::is_floating_point_v<T>) {
      const double d = static_cast<double>(v);
      // 2^63 is exactly representable; every double below it converts without overflow.
      if (!(d == std::floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        throw DataError(what + ": element " + std::to_string(i) + " is " + std::to_string(d) +
                        ", not an integer (dtype " + array.descr + ")");
      out[static_cast<size_t>(i)] = static_cast<int64_t>(d);
    } else if constexpr (std::is_same_v<T, uint64_t>) {
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        throw DataError(what + ": element " + std::to_string(i) + " = " + std::to_string(v) + " does not fit int64");
      out[static_cast<size_t>(i)] = static_cast<int64_t>(v);
    } else {
      // NOLINTNEXTLINE(bugprone-signed-char-misuse): '|i1' elements are signed; sign extension is meant.
      out[static_cast<size_t>(i)] = static_cast<int64_t>(v);
    }
  });
  return out;
}

}  // namespace repro
