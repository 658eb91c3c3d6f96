// The unit tier's side of the fuzzing: every fuzz target's body run over each file of
// its seed corpus (tests/fuzz/corpus/<name>/) and of its regressions (tests/fuzz/regressions/
// <name>/, the inputs that once crashed a reader). Each file must end in success or a
// repro::Error; any other exception fails the test naming the file. A crash or a sanitizer report
// kills the test process, which fails it too (run the fuzzer on the file to see the stack:
// build-fuzz/fuzz/fuzz_<name> FILE).
//
// An input that makes a reader allocate what its header claims must fail here as it does under
// libFuzzer, not swap the machine: under ASan a single allocation of 2 GiB or more (libFuzzer's
// -malloc_limit_mb in scripts/fuzz.sh; REPRO_FUZZ_REPLAY_MALLOC_MB overrides) aborts with its
// stack; outside ASan the address space is capped at 8 GiB (REPRO_FUZZ_REPLAY_AS_GIB), so such an
// allocation throws std::bad_alloc, which fails the test naming the file.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <ostream>
#include <string>
#include <typeinfo>
#include <vector>

#include "base/util/file_io.h"
#include "tests/fuzz/fuzz_targets.h"

#if defined(__SANITIZE_ADDRESS__)
#define REPRO_REPLAY_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPRO_REPLAY_UNDER_ASAN 1
#endif
#endif

namespace repro::fuzz {
namespace {

namespace fs = std::filesystem;

struct Target {
  const char* name;
  int (*body)(const uint8_t*, size_t);
};

void PrintTo(const Target& t, std::ostream* os) { *os << t.name; }  // in test listings

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {
#define REPRO_FUZZ_TARGET(name) {#name, &fuzz_##name},
#include "fuzz_registry.inc"
#undef REPRO_FUZZ_TARGET
  };
  return all;
}

// Regular files of dir (README.md aside), sorted; none when dir does not exist.
std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename() != "README.md") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Runs the body over `file`; "" when it ended in success or repro::Error, else what escaped.
std::string replay(const Target& t, const fs::path& file) {
  const std::string bytes = read_file(file.string());
  try {
    t.body(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    return "";
  } catch (const std::exception& e) {
    return std::string("escaped ") + typeid(e).name() + ": " + e.what();
  } catch (...) {
    return "escaped a non-std exception";
  }
}

class FuzzReplay : public ::testing::TestWithParam<Target> {};

TEST_P(FuzzReplay, SeedCorpus) {
  const Target& t = GetParam();
  const auto files = files_in(fs::path(REPRO_FUZZ_DIR) / "corpus" / t.name);
  EXPECT_FALSE(files.empty()) << "no seed files in tests/fuzz/corpus/" << t.name
                              << " (python3 tests/fuzz/make_corpus.py writes them)";
  for (const auto& f : files) {
    const std::string what = replay(t, f);
    EXPECT_EQ(what, "") << f.string();
  }
}

TEST_P(FuzzReplay, Regressions) {
  const Target& t = GetParam();
  for (const auto& f : files_in(fs::path(REPRO_FUZZ_DIR) / "regressions" / t.name)) {
    const std::string what = replay(t, f);
    EXPECT_EQ(what, "") << f.string();
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplay, ::testing::ValuesIn(targets()),
                         [](const ::testing::TestParamInfo<Target>& param_info) {
                           return std::string(param_info.param.name);
                         });

}  // namespace
}  // namespace repro::fuzz

#ifdef REPRO_REPLAY_UNDER_ASAN
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, size_t),
                                                         void (*free_hook)(const volatile void*));
extern "C" void __sanitizer_print_stack_trace();

namespace {
size_t g_malloc_limit_mb = 2048;

void malloc_limit_hook(const volatile void*, size_t size) {
  if ((size >> 20) < g_malloc_limit_mb) return;  // libFuzzer's test (Fuzzer::HandleMalloc)
  std::fprintf(stderr, "==ERROR: malloc(%zu) reaches the replay limit of %zu MiB (as libFuzzer's -malloc_limit_mb)\n",
               size, g_malloc_limit_mb);
  __sanitizer_print_stack_trace();
  std::abort();
}

void free_hook(const volatile void*) {}  // the runtime installs no malloc hook without a free hook
}  // namespace
#endif

int main(int argc, char** argv) {
#ifdef REPRO_REPLAY_UNDER_ASAN
  const char* mb = std::getenv("REPRO_FUZZ_REPLAY_MALLOC_MB");
  if (mb && *mb) g_malloc_limit_mb = size_t(std::atoll(mb));
  __sanitizer_install_malloc_and_free_hooks(&malloc_limit_hook, &free_hook);
#else
  const char* gib = std::getenv("REPRO_FUZZ_REPLAY_AS_GIB");
  const rlim_t limit = rlim_t(gib && *gib ? std::atoll(gib) : 8) << 30;
  rlimit rl{};
  if (limit > 0 && ::getrlimit(RLIMIT_AS, &rl) == 0 && (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > limit)) {
    rl.rlim_cur = limit;
    ::setrlimit(RLIMIT_AS, &rl);
  }
#endif
  repro::fuzz::init_fuzz_environment();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
