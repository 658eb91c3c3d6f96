#include "base/util/stop_signals.h"

#include <utility>

#include "base/util/errors.h"

namespace repro {
namespace {

// A handler may only touch what cannot block: lock-free atomics.
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<bool>::is_always_lock_free);

std::atomic<int> g_count{0};
std::atomic<int> g_last_signal{0};
std::atomic<bool> g_installed{false};

extern "C" void on_stop_signal(int sig) {
  g_last_signal.store(sig);
  g_count.fetch_add(1);
}

}  // namespace

StopSignals::StopSignals(StopSignalOptions options) : signals_(std::move(options.signals)) {
  REPRO_CHECK(!g_installed.exchange(true), "a second StopSignals while one is alive");
  g_count.store(0);
  g_last_signal.store(0);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = (options.second_kills ? SA_RESETHAND : 0) | (options.restart_calls ? SA_RESTART : 0);
  previous_.resize(signals_.size());
  for (size_t i = 0; i < signals_.size(); ++i) ::sigaction(signals_[i], &sa, &previous_[i]);
}

StopSignals::~StopSignals() {
  for (size_t i = 0; i < signals_.size(); ++i) ::sigaction(signals_[i], &previous_[i], nullptr);
  g_installed.store(false);
}

const std::atomic<int>* StopSignals::count() const { return &g_count; }

int StopSignals::last_signal() const { return g_last_signal.load(); }

}  // namespace repro
