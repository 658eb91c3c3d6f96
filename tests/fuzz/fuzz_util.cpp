// Scratch files and the environment shared by the fuzz targets (fuzz_targets.h).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "datasets/rgb_image.h"
#include "tests/fuzz/fuzz_targets.h"

namespace repro::fuzz {
namespace {

std::string make_scratch_dir() {
  std::string base = "/dev/shm";
  if (::access(base.c_str(), W_OK) != 0) {
    const char* tmp = std::getenv("TMPDIR");
    base = tmp && *tmp ? tmp : "/tmp";
  }
  const std::string dir = base + "/repro-fuzz-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

bool verbose() {
  static const bool on = [] {
    const char* v = std::getenv("REPRO_FUZZ_VERBOSE");
    return v && *v && std::string(v) != "0";
  }();
  return on;
}

void init_fuzz_environment() { ::setenv("REPRO_MAX_ALLOC_BYTES", "268435456", /*overwrite=*/0); }

const std::string& scratch_dir() {
  // Never destroyed, so the exit handler below can still read it.
  static const std::string* dir = [] {
    auto* d = new std::string(make_scratch_dir());
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return d;
  }();
  return *dir;
}

std::string write_scratch_file(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratch_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) throw std::runtime_error("fuzz harness: cannot write " + path);  // not the reader's fault
  return path;
}

std::string fresh_scratch_subdir(const std::string& name) {
  const std::string dir = scratch_dir() + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void consume(const void* p, size_t n) {
  const auto* b = static_cast<const volatile uint8_t*>(p);
  uint8_t acc = 0;
  for (size_t i = 0; i < n; ++i) acc ^= b[i];
  static volatile uint8_t sink;
  sink = sink ^ acc;
}

int fuzz_image_decoder(ImageDecoder decode, const uint8_t* data, size_t size, const std::string& name) {
  return expect_only_repro_errors([&] {
    const datasets::RgbImage img = decode(data, size, name);
    consume(img.pixels.data(), img.pixels.size());
    if (img.pixels.size() != static_cast<size_t>(img.width) * img.height * 3)
      throw std::logic_error("decoded image: pixels.size() != width * height * 3");
  });
}

}  // namespace repro::fuzz
