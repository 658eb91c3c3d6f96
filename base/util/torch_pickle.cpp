#include "base/util/torch_pickle.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <unordered_map>

#include "base/util/errors.h"
#include "base/util/limits.h"
#include "base/util/strings.h"
#include "base/util/zip_archive.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "tensor storages are handled as little-endian bytes");

namespace repro {

namespace {

// torch storage class name -> dtype name, in both directions.
const std::pair<const char*, const char*> kStorageTypes[] = {
    {"FloatStorage", "float32"},     {"DoubleStorage", "float64"}, {"HalfStorage", "float16"},
    {"BFloat16Storage", "bfloat16"}, {"LongStorage", "int64"},     {"IntStorage", "int32"},
    {"ShortStorage", "int16"},       {"CharStorage", "int8"},      {"ByteStorage", "uint8"},
    {"BoolStorage", "bool"},
};

const char* storage_dtype(const std::string& storage_class) {
  for (const auto& [cls, dtype] : kStorageTypes)
    if (storage_class == cls) return dtype;
  if (storage_class == "UntypedStorage") return "uint8";  // torch >= 2.0, byte storage
  return nullptr;
}

const char* storage_class_for(const std::string& dtype) {
  for (const auto& [cls, dt] : kStorageTypes)
    if (dtype == dt) return cls;
  return nullptr;
}

// A Python tuple's repr: "(2, 3)", "(2,)", "()".
std::string join_shape(const std::vector<int64_t>& v) {
  return "(" + join(v, ", ", [](int64_t d) { return std::to_string(d); }) + (v.size() == 1 ? ",)" : ")");
}

int64_t numel_of(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// ---------------------------------------------------------------------------------------------
// The unpickler: just the value kinds and opcodes torch.save emits for state dicts.

// Values live in the unpickler's arena and point at each other with plain pointers: a crafted
// pickle can nest lists a million deep or make a list contain itself, and an arena is freed flat,
// without the recursive destructor calls (stack overflow) or reference cycles (leaks) that owning
// pointers would give.
struct Value;
using ValuePtr = Value*;

struct Value {
  enum class Kind { kNone, kBool, kInt, kFloat, kStr, kBytes, kTuple, kList, kDict, kGlobal, kStorage, kTensor };
  Kind kind = Kind::kNone;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;                                       // kStr, kBytes; kGlobal: "module.name"; kStorage: dtype
  std::string s2;                                      // kStorage: key
  std::vector<ValuePtr> items;                         // kTuple, kList
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // kDict, insertion order
  std::unordered_map<std::string, size_t> str_keys;    // kDict: str key -> index in entries
  TensorRecord tensor;                                 // kTensor
};

// A state dict of the paper's largest model needs a few thousand values; a crafted pickle could
// ask for one per byte. Values, stack entries and memo entries are each capped at this.
constexpr size_t kMaxPickleValues = size_t{1} << 20;

class Arena {
 public:
  bool full() const { return values_.size() >= kMaxPickleValues; }
  ValuePtr make(Value::Kind kind) {
    values_.push_back(std::make_unique<Value>());
    values_.back()->kind = kind;
    return values_.back().get();
  }
  ValuePtr copy(const Value& v) {
    values_.push_back(std::make_unique<Value>(v));
    return values_.back().get();
  }

 private:
  std::vector<std::unique_ptr<Value>> values_;
};

const char* kind_name(Value::Kind k) {
  switch (k) {
    case Value::Kind::kNone:
      return "None";
    case Value::Kind::kBool:
      return "bool";
    case Value::Kind::kInt:
      return "int";
    case Value::Kind::kFloat:
      return "float";
    case Value::Kind::kStr:
      return "str";
    case Value::Kind::kBytes:
      return "bytes";
    case Value::Kind::kTuple:
      return "tuple";
    case Value::Kind::kList:
      return "list";
    case Value::Kind::kDict:
      return "dict";
    case Value::Kind::kGlobal:
      return "class or function";
    case Value::Kind::kStorage:
      return "storage";
    case Value::Kind::kTensor:
      return "tensor";
  }
  return "?";
}

// The globals a state dict may reference; anything else is refused at the GLOBAL opcode, so a
// file can never make this reader do more than build dicts and tensor records.
bool allowed_global(const std::string& module, const std::string& name) {
  if (module == "collections" && name == "OrderedDict") return true;
  if (module == "torch._utils" &&
      (name == "_rebuild_tensor_v2" || name == "_rebuild_tensor" || name == "_rebuild_parameter"))
    return true;
  if ((module == "torch" || module == "torch.storage") && storage_dtype(name)) return true;
  return false;
}

class Unpickler {
 public:
  // load_storages false: each storage's size only (StateDictFile::storage_bytes), not its bytes.
  Unpickler(const std::string& data, const std::string& where, ZipReader& zip, const std::string& prefix,
            bool load_storages, StateDictFile& out)
      : data_(data), where_(where), zip_(zip), prefix_(prefix), load_storages_(load_storages), out_(out) {}

  ValuePtr run();

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw IoError(where_ + ": " + why + " at byte " + std::to_string(op_pos_) + " of the pickle");
  }
  void need(size_t n) const {
    if (data_.size() - pos_ < n) fail("truncated pickle (needs " + std::to_string(n) + " more bytes)");
  }
  uint64_t read_uint(size_t n) {
    need(n);
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k) v |= static_cast<uint64_t>(static_cast<unsigned char>(data_[pos_ + k])) << (8 * k);
    pos_ += n;
    return v;
  }
  std::string read_bytes(uint64_t n) {
    if (n > data_.size() - pos_) {
      need(static_cast<size_t>(std::min<uint64_t>(n, std::numeric_limits<size_t>::max())));
    }
    std::string s = data_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }
  std::string read_line() {
    size_t end = data_.find('\n', pos_);
    if (end == std::string::npos) fail("truncated pickle (unterminated GLOBAL)");
    std::string s = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }

  void push(ValuePtr v) {
    if (stack_.size() >= kMaxPickleValues) fail_too_many("stack entries");
    stack_.push_back(v);
  }
  ValuePtr pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("malformed pickle: stack underflow");
    ValuePtr v = stack_.back();
    stack_.pop_back();
    return v;
  }
  ValuePtr& top() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("malformed pickle: stack underflow");
    return stack_.back();
  }
  // Everything above the innermost MARK, which is removed.
  std::vector<ValuePtr> pop_to_mark() {
    if (marks_.empty()) fail("malformed pickle: no MARK");
    size_t m = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  void memo_put(uint64_t index) {
    if (stack_.empty()) fail("malformed pickle: memo put on an empty stack");
    if (memo_.size() >= kMaxPickleValues && !memo_.count(index)) fail_too_many("memo entries");
    memo_[index] = stack_.back();
  }
  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("malformed pickle: memo entry " + std::to_string(index) + " missing");
    push(it->second);
  }

  ValuePtr global(const std::string& module, const std::string& name) {
    if (!allowed_global(module, name))
      fail("unsupported pickle global '" + module + "." + name + "' (only state dicts of tensors are supported)");
    auto v = make(Value::Kind::kGlobal);
    v->s = module + "." + name;
    return v;
  }

  void set_item(Value& dict, ValuePtr key, ValuePtr value) {
    if (dict.kind != Value::Kind::kDict) fail(std::string("SETITEM on a ") + kind_name(dict.kind));
    if (key->kind == Value::Kind::kStr) {  // indexed: a crafted dict may have millions of keys
      auto [it, inserted] = dict.str_keys.emplace(key->s, dict.entries.size());
      if (!inserted) {
        dict.entries[it->second].second = value;
        return;
      }
    }
    dict.entries.emplace_back(key, value);
  }

  ValuePtr make(Value::Kind kind) {
    if (arena_.full()) fail_too_many("values");
    return arena_.make(kind);
  }
  [[noreturn]] void fail_too_many(const char* what) const {
    fail("more than " + std::to_string(kMaxPickleValues) + " pickle " + what + " (a state dict needs a few thousand)");
  }

  ValuePtr call(const Value& callable, const Value& args);
  ValuePtr persistent_load(const Value& pid);
  ValuePtr rebuild_tensor(const Value& args, bool v2);

  const std::string& data_;
  const std::string& where_;
  ZipReader& zip_;
  const std::string& prefix_;
  const bool load_storages_;
  StateDictFile& out_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, ValuePtr> memo_;
  Arena arena_;
};

// One case per opcode, as pickletools lists them: a dispatch table is read case by case.
ValuePtr Unpickler::run() {  // NOLINT(readability-function-size)
  for (;;) {
    op_pos_ = pos_;
    need(1);
    const auto op = static_cast<unsigned char>(data_[pos_++]);
    switch (op) {
      case 0x80:  // PROTO
        read_uint(1);
        break;
      case 0x95:  // FRAME: frames are only a read-ahead hint
        read_uint(8);
        break;
      case '.': {  // STOP
        ValuePtr result = pop();
        return result;
      }
      case '(':  // MARK: marks nest as the containers they build do
        if (static_cast<int>(marks_.size()) >= resource_limits().max_nesting)
          fail("nesting deeper than " + std::to_string(resource_limits().max_nesting) +
               " levels (REPRO_MAX_NESTING raises it)");
        marks_.push_back(stack_.size());
        break;
      case '0':  // POP
        pop();
        break;
      case '1':  // POP_MARK
        pop_to_mark();
        break;
      case '2':  // DUP
        push(top());
        break;
      case 'c': {  // GLOBAL
        std::string module = read_line();
        std::string name = read_line();
        push(global(module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        ValuePtr name = pop();
        ValuePtr module = pop();
        if (module->kind != Value::Kind::kStr || name->kind != Value::Kind::kStr)
          fail("malformed pickle: STACK_GLOBAL needs two strings");
        push(global(module->s, name->s));
        break;
      }
      case 'R': {  // REDUCE
        ValuePtr args = pop();
        ValuePtr callable = pop();
        push(call(*callable, *args));
        break;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args); only OrderedDict gets here
        ValuePtr args = pop();
        ValuePtr cls = pop();
        push(call(*cls, *args));
        break;
      }
      case 'b': {  // BUILD
        ValuePtr state = pop();
        Value& obj = *top();
        // OrderedDict.__reduce__ passes the state dict's attributes ({'_metadata': per-module
        // versions}) as state; only Python's load_state_dict reads them, so they are dropped.
        if (obj.kind != Value::Kind::kDict || state->kind != Value::Kind::kDict)
          fail(std::string("unsupported BUILD of a ") + kind_name(obj.kind) + " with a " + kind_name(state->kind));
        break;
      }
      case '}':  // EMPTY_DICT
        push(make(Value::Kind::kDict));
        break;
      case ')':  // EMPTY_TUPLE
        push(make(Value::Kind::kTuple));
        break;
      case ']':  // EMPTY_LIST
        push(make(Value::Kind::kList));
        break;
      case 't': {  // TUPLE
        auto t = make(Value::Kind::kTuple);
        t->items = pop_to_mark();
        push(t);
        break;
      }
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        auto t = make(Value::Kind::kTuple);
        t->items.resize(op - 0x84);
        for (size_t k = t->items.size(); k-- > 0;) t->items[k] = pop();
        push(t);
        break;
      }
      case 's': {  // SETITEM
        ValuePtr value = pop();
        ValuePtr key = pop();
        set_item(*top(), key, value);
        break;
      }
      case 'u': {  // SETITEMS
        std::vector<ValuePtr> items = pop_to_mark();
        if (items.size() % 2 != 0) fail("malformed pickle: SETITEMS with an odd item count");
        Value& dict = *top();
        for (size_t k = 0; k < items.size(); k += 2) set_item(dict, items[k], items[k + 1]);
        break;
      }
      case 'a': {  // APPEND
        ValuePtr value = pop();
        Value& list = *top();
        if (list.kind != Value::Kind::kList) fail(std::string("APPEND to a ") + kind_name(list.kind));
        list.items.push_back(value);
        break;
      }
      case 'e': {  // APPENDS
        std::vector<ValuePtr> items = pop_to_mark();
        Value& list = *top();
        if (list.kind != Value::Kind::kList) fail(std::string("APPENDS to a ") + kind_name(list.kind));
        list.items.insert(list.items.end(), items.begin(), items.end());
        break;
      }
      case 'q':  // BINPUT
        memo_put(read_uint(1));
        break;
      case 'r':  // LONG_BINPUT
        memo_put(read_uint(4));
        break;
      case 0x94:  // MEMOIZE
        memo_put(memo_.size());
        break;
      case 'h':  // BINGET
        memo_get(read_uint(1));
        break;
      case 'j':  // LONG_BINGET
        memo_get(read_uint(4));
        break;
      case 'J': {  // BININT: signed 32-bit
        auto v = make(Value::Kind::kInt);
        v->i = static_cast<int32_t>(static_cast<uint32_t>(read_uint(4)));
        push(v);
        break;
      }
      case 'K':
      case 'M': {  // BININT1, BININT2: unsigned
        auto v = make(Value::Kind::kInt);
        v->i = static_cast<int64_t>(read_uint(op == 'K' ? 1 : 2));
        push(v);
        break;
      }
      case 0x8a:
      case 0x8b: {  // LONG1, LONG4: little-endian two's complement
        const uint64_t n = read_uint(op == 0x8a ? 1 : 4);
        if (n > 8) fail("integer of " + std::to_string(n) + " bytes does not fit int64");
        uint64_t raw = n ? read_uint(static_cast<size_t>(n)) : 0;
        if (n > 0 && n < 8 && (raw >> (8 * n - 1)) & 1) raw |= ~uint64_t{0} << (8 * n);
        auto v = make(Value::Kind::kInt);
        v->i = static_cast<int64_t>(raw);
        push(v);
        break;
      }
      case 'G': {  // BINFLOAT: big-endian double
        need(8);
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | static_cast<unsigned char>(data_[pos_ + k]);
        pos_ += 8;
        auto v = make(Value::Kind::kFloat);
        std::memcpy(&v->f, &bits, 8);
        push(v);
        break;
      }
      case 0x88:
      case 0x89: {  // NEWTRUE, NEWFALSE
        auto v = make(Value::Kind::kBool);
        v->b = op == 0x88;
        push(v);
        break;
      }
      case 'N':
        push(make(Value::Kind::kNone));
        break;
      case 'X':
      case 0x8c:
      case 0x8d:
      case 'T':
      case 'U':
      case 'B':
      case 'C':
      case 0x8e: {
        // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8, BINSTRING, SHORT_BINSTRING, BINBYTES,
        // SHORT_BINBYTES, BINBYTES8
        size_t len_bytes = (op == 0x8c || op == 'U' || op == 'C') ? 1 : (op == 0x8d || op == 0x8e) ? 8 : 4;
        uint64_t n = read_uint(len_bytes);
        auto v = make((op == 'B' || op == 'C' || op == 0x8e) ? Value::Kind::kBytes : Value::Kind::kStr);
        v->s = read_bytes(n);
        push(v);
        break;
      }
      case 'Q': {  // BINPERSID
        ValuePtr pid = pop();
        push(persistent_load(*pid));
        break;
      }
      default: {
        char hex[8];
        std::snprintf(hex, sizeof(hex), "0x%02x", op);
        fail(std::string("unsupported pickle opcode ") + hex +
             (op >= 0x20 && op < 0x7f ? std::string(" ('") + static_cast<char>(op) + "')" : ""));
      }
    }
  }
}

ValuePtr Unpickler::call(const Value& callable, const Value& args) {
  if (callable.kind != Value::Kind::kGlobal)
    fail(std::string("malformed pickle: calling a ") + kind_name(callable.kind));
  if (args.kind != Value::Kind::kTuple) fail("malformed pickle: arguments of " + callable.s + " are not a tuple");
  const std::string& fn = callable.s;
  if (fn == "collections.OrderedDict") {
    auto dict = make(Value::Kind::kDict);
    if (args.items.size() > 1) fail("OrderedDict called with more than one argument");
    if (args.items.size() == 1) {
      const Value& pairs = *args.items[0];
      if (pairs.kind != Value::Kind::kList && pairs.kind != Value::Kind::kTuple)
        fail("OrderedDict called with a " + std::string(kind_name(pairs.kind)));
      for (const ValuePtr& p : pairs.items) {
        if (p->kind != Value::Kind::kTuple || p->items.size() != 2)
          fail("OrderedDict items are not (key, value) pairs");
        set_item(*dict, p->items[0], p->items[1]);
      }
    }
    return dict;
  }
  if (fn == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(args, true);
  if (fn == "torch._utils._rebuild_tensor") return rebuild_tensor(args, false);
  if (fn == "torch._utils._rebuild_parameter") {
    // (data, requires_grad, backward_hooks)
    if (args.items.size() != 3 || args.items[0]->kind != Value::Kind::kTensor ||
        args.items[1]->kind != Value::Kind::kBool)
      fail("unexpected arguments to torch._utils._rebuild_parameter");
    ValuePtr t = arena_.copy(*args.items[0]);
    t->tensor.requires_grad = args.items[1]->b;
    return t;
  }
  fail("cannot call " + fn);
}

ValuePtr Unpickler::persistent_load(const Value& pid) {
  // ('storage', storage_type, key, location, numel)
  if (pid.kind != Value::Kind::kTuple || pid.items.size() != 5 || pid.items[0]->kind != Value::Kind::kStr ||
      pid.items[0]->s != "storage")
    fail("unsupported persistent id (expected ('storage', type, key, location, numel))");
  const Value& type = *pid.items[1];
  const Value& key = *pid.items[2];
  if (type.kind != Value::Kind::kGlobal || key.kind != Value::Kind::kStr) fail("malformed storage persistent id");
  const char* dtype = storage_dtype(type.s.substr(type.s.rfind('.') + 1));
  if (!dtype) fail("unsupported storage type " + type.s);
  if (!out_.storage_bytes.count(key.s)) {
    const std::string entry = prefix_ + "/data/" + key.s;
    if (!zip_.contains(entry)) fail("storage '" + key.s + "' has no entry '" + entry + "' in the archive");
    if (load_storages_) {
      const std::string& bytes = out_.storages[key.s] = zip_.read(entry);
      out_.storage_bytes[key.s] = bytes.size();
    } else {
      out_.storage_bytes[key.s] = zip_.entry_size(entry);
    }
  }
  auto v = make(Value::Kind::kStorage);
  v->s = dtype;
  v->s2 = key.s;
  return v;
}

ValuePtr Unpickler::rebuild_tensor(const Value& args, bool v2) {
  // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
  const auto& a = args.items;
  const size_t min_args = v2 ? 6 : 4;
  if (a.size() < min_args || a.size() > min_args + (v2 ? 1 : 0))
    fail("unexpected argument count " + std::to_string(a.size()) + " to _rebuild_tensor");
  if (a[0]->kind != Value::Kind::kStorage || a[1]->kind != Value::Kind::kInt || a[2]->kind != Value::Kind::kTuple ||
      a[3]->kind != Value::Kind::kTuple || (v2 && a[4]->kind != Value::Kind::kBool))
    fail("unexpected argument types to _rebuild_tensor");
  auto t = make(Value::Kind::kTensor);
  TensorRecord& r = t->tensor;
  r.dtype = a[0]->s;
  r.storage_key = a[0]->s2;
  r.storage_offset = a[1]->i;
  for (const ValuePtr& d : a[2]->items) {
    if (d->kind != Value::Kind::kInt) fail("tensor size is not a tuple of ints");
    r.shape.push_back(d->i);
  }
  for (const ValuePtr& d : a[3]->items) {
    if (d->kind != Value::Kind::kInt) fail("tensor stride is not a tuple of ints");
    r.stride.push_back(d->i);
  }
  if (r.shape.size() != r.stride.size()) fail("tensor size and stride lengths differ");
  r.requires_grad = v2 && a[4]->b;
  return t;
}

// Reads the first bytes to tell the legacy format and non-zip files from a damaged zip.
void check_zip_magic(const std::string& path) {
  std::unique_ptr<FILE, decltype(&std::fclose)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw IoError("cannot read " + path + ": " + std::strerror(errno));
  unsigned char head[2] = {0, 0};
  size_t n = std::fread(head, 1, 2, f.get());
  if (n >= 1 && head[0] == 0x80)
    throw IoError(path +
                  " is in the legacy (pre-1.6) torch.save format, which is not supported; "
                  "re-save it as a zip checkpoint with python: import torch; p = '" +
                  path + "'; torch.save(torch.load(p, map_location='cpu'), p)");
  if (n < 2 || head[0] != 'P' || head[1] != 'K')
    throw IoError(path + " is not a torch.save checkpoint (expected a zip file starting with 'PK')");
}

}  // namespace

size_t torch_dtype_size(const std::string& dtype) {
  if (dtype == "float32" || dtype == "int32") return 4;
  if (dtype == "float64" || dtype == "int64") return 8;
  if (dtype == "float16" || dtype == "bfloat16" || dtype == "int16") return 2;
  if (dtype == "uint8" || dtype == "int8" || dtype == "bool") return 1;
  throw DataError("unsupported tensor dtype '" + dtype +
                  "' (expected float32, float64, float16, bfloat16, int64, int32, int16, int8, "
                  "uint8 or bool)");
}

const TensorRecord* StateDictFile::find(const std::string& name) const {
  for (const TensorRecord& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

uint64_t check_tensor_view(const TensorRecord& t, uint64_t storage_bytes, const std::string& where) {
  const uint64_t item = torch_dtype_size(t.dtype);
  const std::string view = "shape " + join_shape(t.shape) + " stride " + join_shape(t.stride) + " offset " +
                           std::to_string(t.storage_offset);
  if (t.shape.size() != t.stride.size()) throw DataError(where + ": " + view + ": shape and stride differ in length");
  if (t.storage_offset < 0) throw DataError(where + ": " + view + ": negative storage offset");
  uint64_t numel = 1;
  uint64_t last = static_cast<uint64_t>(t.storage_offset);  // largest element index touched
  for (size_t d = 0; d < t.shape.size(); ++d) {
    if (t.shape[d] < 0 || t.stride[d] < 0) throw DataError(where + ": " + view + ": negative size or stride");
    numel = checked_mul(numel, static_cast<uint64_t>(t.shape[d]), where + ": " + view);
    if (t.shape[d] > 0)
      last = checked_add(
          last,
          checked_mul(static_cast<uint64_t>(t.shape[d] - 1), static_cast<uint64_t>(t.stride[d]), where + ": " + view),
          where + ": " + view);
  }
  if (numel == 0) return 0;
  const uint64_t storage_elems = storage_bytes / item;
  if (last >= storage_elems)
    throw DataError(where + ": " + view + " reaches element " + std::to_string(last) + " but storage '" +
                    t.storage_key + "' has " + std::to_string(storage_elems) + " " + t.dtype + " elements");
  // Parameters own their storage; a view with more elements than its storage is an expanded
  // (stride-0) one, which would let a few bytes ask for gigabytes.
  if (numel > storage_elems)
    throw DataError(where + ": " + view + " has " + std::to_string(numel) + " elements, more than its storage's " +
                    std::to_string(storage_elems) + " (expanded views are not supported; save a contiguous tensor)");
  return numel;
}

std::string StateDictFile::contiguous_bytes(const TensorRecord& t) const {
  const std::string where = path + ": tensor '" + t.name + "'";
  auto it = storages.find(t.storage_key);
  if (it == storages.end()) throw DataError(where + ": storage '" + t.storage_key + "' is missing");
  const std::string& storage = it->second;
  const size_t item = torch_dtype_size(t.dtype);
  const int64_t numel = static_cast<int64_t>(check_tensor_view(t, storage.size(), where));
  if (numel == 0) return {};
  // Fast path: already C-contiguous.
  bool contiguous = true;
  int64_t expect = 1;
  for (size_t d = t.shape.size(); d-- > 0;) {
    if (t.shape[d] != 1 && t.stride[d] != expect) contiguous = false;
    expect *= t.shape[d];
  }
  if (contiguous)
    return storage.substr(static_cast<size_t>(t.storage_offset) * item, static_cast<size_t>(numel) * item);

  std::string out(static_cast<size_t>(numel) * item, '\0');
  std::vector<int64_t> index(t.shape.size(), 0);
  // Unsigned: a size-1 axis may carry any stride, and stepping past it must wrap, not overflow;
  // every index actually read is inside the storage (check_tensor_view).
  uint64_t src = static_cast<uint64_t>(t.storage_offset);
  for (int64_t k = 0; k < numel; ++k) {
    std::memcpy(&out[static_cast<size_t>(k) * item], &storage[static_cast<size_t>(src) * item], item);
    for (size_t d = t.shape.size(); d-- > 0;) {  // odometer step over the last axis first
      const auto stride = static_cast<uint64_t>(t.stride[d]);
      src += stride;
      if (++index[d] < t.shape[d]) break;
      src -= stride * static_cast<uint64_t>(t.shape[d]);
      index[d] = 0;
    }
  }
  return out;
}

namespace {

StateDictFile read_state_dict(const std::string& path, bool load_storages) {
  check_zip_magic(path);
  ZipReader zip(path);
  std::string pkl_name;
  for (const std::string& name : zip.names()) {
    const std::string suffix = "/data.pkl";
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        name.find('/') == name.size() - suffix.size()) {
      if (!pkl_name.empty())
        throw IoError(path + ": several pickles ('" + pkl_name + "', '" + name +
                      "'); expected one '<folder>/data.pkl'");
      pkl_name = name;
    }
  }
  if (pkl_name.empty()) throw IoError(path + ": zip has no '<folder>/data.pkl' entry; not a torch.save checkpoint");
  const std::string prefix = pkl_name.substr(0, pkl_name.find('/'));

  StateDictFile out;
  out.path = path;
  const std::string pickle = zip.read(pkl_name);
  const std::string where = path + " (" + pkl_name + ")";
  Unpickler unpickler(pickle, where, zip, prefix, load_storages, out);  // owns every value until we return
  ValuePtr root = unpickler.run();

  if (root->kind != Value::Kind::kDict)
    throw DataError(path + ": top-level object is a " + std::string(kind_name(root->kind)) +
                    ", expected a state dict (name -> tensor) as saved by "
                    "torch.save(model.state_dict(), path)");
  for (const auto& [key, value] : root->entries) {
    if (key->kind != Value::Kind::kStr)
      throw DataError(path + ": state dict key is a " + std::string(kind_name(key->kind)) + ", expected str");
    if (value->kind != Value::Kind::kTensor)
      throw DataError(path + ": entry '" + key->s + "' is a " + kind_name(value->kind) +
                      ", not a tensor; only a flat state dict (name -> tensor) is supported, "
                      "save model.state_dict() itself");
    TensorRecord r = value->tensor;
    r.name = key->s;
    auto storage = out.storage_bytes.find(r.storage_key);
    if (storage == out.storage_bytes.end())
      throw DataError(path + ": tensor '" + r.name + "': storage '" + r.storage_key + "' is missing");
    check_tensor_view(r, storage->second, path + ": tensor '" + r.name + "'");
    out.tensors.push_back(std::move(r));
  }
  return out;
}

}  // namespace

StateDictFile read_state_dict_file(const std::string& path) { return read_state_dict(path, true); }

StateDictFile read_state_dict_records(const std::string& path) { return read_state_dict(path, false); }

// ---------------------------------------------------------------------------------------------
// The pickler: protocol 2, the same opcodes torch.save (Python's pickle) emits.

namespace {

class Pickler {
 public:
  std::string& bytes() { return out_; }
  void op(int code) { out_ += static_cast<char>(code); }
  void uint_le(uint64_t v, int n) {
    for (int k = 0; k < n; ++k) out_ += static_cast<char>((v >> (8 * k)) & 0xff);
  }
  void str(const std::string& s) {  // BINUNICODE
    op('X');
    uint_le(s.size(), 4);
    out_ += s;
  }
  void integer(int64_t v) {
    if (v >= 0 && v < 256) {
      op('K');
      uint_le(static_cast<uint64_t>(v), 1);
    } else if (v >= 0 && v < 65536) {
      op('M');
      uint_le(static_cast<uint64_t>(v), 2);
    } else if (v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max()) {
      op('J');
      uint_le(static_cast<uint32_t>(static_cast<int32_t>(v)), 4);
    } else {  // LONG1 with the fewest two's-complement bytes
      std::string body;
      auto u = static_cast<uint64_t>(v);
      for (int k = 0; k < 8; ++k) body += static_cast<char>((u >> (8 * k)) & 0xff);
      while (body.size() > 1) {
        auto hi = static_cast<unsigned char>(body[body.size() - 1]);
        auto next = static_cast<unsigned char>(body[body.size() - 2]);
        if ((hi == 0x00 && !(next & 0x80)) || (hi == 0xff && (next & 0x80)))
          body.pop_back();
        else
          break;
      }
      op(0x8a);
      uint_le(body.size(), 1);
      out_ += body;
    }
  }
  void int_tuple(const std::vector<int64_t>& v) {
    if (v.empty()) {
      op(')');
      return;
    }
    if (v.size() > 3) op('(');
    for (int64_t x : v) integer(x);
    op(v.size() > 3 ? 't' : 0x84 + static_cast<int>(v.size()));
  }
  // GLOBAL, memoized so that repeats are a BINGET.
  void global(const std::string& module, const std::string& name) {
    const std::string key = module + "\n" + name + "\n";
    auto it = memo_.find(key);
    if (it != memo_.end()) {
      get(it->second);
      return;
    }
    op('c');
    out_ += key;
    memo_[key] = put();
  }
  uint32_t put() {
    uint32_t index = next_memo_++;
    if (index < 256) {
      op('q');
      uint_le(index, 1);
    } else {
      op('r');
      uint_le(index, 4);
    }
    return index;
  }
  void get(uint32_t index) {
    if (index < 256) {
      op('h');
      uint_le(index, 1);
    } else {
      op('j');
      uint_le(index, 4);
    }
  }

 private:
  std::string out_;
  std::unordered_map<std::string, uint32_t> memo_;
  uint32_t next_memo_ = 0;
};

// name, _rebuild_tensor_v2((storage pid), 0, shape, stride, False, OrderedDict()) for storage `k`.
void pickle_tensor(Pickler& p, const TensorBlob& t, size_t k) {
  p.str(t.name);
  p.global("torch._utils", "_rebuild_tensor_v2");
  p.op('(');
  // persistent id ('storage', torch.<Type>Storage, key, 'cpu', numel)
  p.op('(');
  p.str("storage");
  p.global("torch", storage_class_for(t.dtype));
  p.str(std::to_string(k));
  p.str("cpu");
  p.integer(numel_of(t.shape));
  p.op('t');
  p.op('Q');
  p.integer(0);  // storage_offset
  p.int_tuple(t.shape);
  std::vector<int64_t> stride(t.shape.size());
  int64_t s = 1;
  for (size_t d = t.shape.size(); d-- > 0;) {
    stride[d] = s;
    s *= std::max<int64_t>(t.shape[d], 1);
  }
  p.int_tuple(stride);
  p.op(0x89);                              // requires_grad False
  p.global("collections", "OrderedDict");  // backward_hooks: OrderedDict()
  p.op(')');
  p.op('R');
  p.op('t');
  p.op('R');
}

}  // namespace

void write_state_dict_file(const std::string& path, const std::vector<TensorBlob>& tensors,
                           const std::string& archive_name) {
  if (archive_name.empty() || archive_name.find('/') != std::string::npos)
    throw DataError(path + ": archive name '" + archive_name + "' must be non-empty without '/'");
  std::set<std::string> names;
  for (const TensorBlob& t : tensors) {
    const std::string where = path + ": tensor '" + t.name + "'";
    if (t.name.empty()) throw DataError(path + ": tensor with an empty name");
    if (!names.insert(t.name).second) throw DataError(where + " appears twice");
    if (!storage_class_for(t.dtype)) throw DataError(where + ": unsupported dtype '" + t.dtype + "'");
    for (int64_t d : t.shape)
      if (d < 0) throw DataError(where + ": negative dimension in shape " + join_shape(t.shape));
    const uint64_t expected = static_cast<uint64_t>(numel_of(t.shape)) * torch_dtype_size(t.dtype);
    if (t.data.size() != expected)
      throw DataError(where + ": shape " + join_shape(t.shape) + " " + t.dtype + " needs " + std::to_string(expected) +
                      " bytes, got " + std::to_string(t.data.size()));
  }

  Pickler p;
  p.op(0x80);  // PROTO 2
  p.uint_le(2, 1);
  p.global("collections", "OrderedDict");
  p.op(')');
  p.op('R');
  p.put();
  if (!tensors.empty()) {
    p.op('(');
    for (size_t k = 0; k < tensors.size(); ++k) pickle_tensor(p, tensors[k], k);
    p.op('u');
  }
  p.op('.');

  const std::string version = "3\n";
  std::vector<ZipEntryView> entries;
  entries.reserve(tensors.size() + 2);
  entries.push_back({archive_name + "/data.pkl", p.bytes()});
  for (size_t k = 0; k < tensors.size(); ++k)
    entries.push_back({archive_name + "/data/" + std::to_string(k), tensors[k].data});
  entries.push_back({archive_name + "/version", version});
  write_zip_views(path, entries);
}

}  // namespace repro
