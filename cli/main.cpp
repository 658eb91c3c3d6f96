// repro: the command line. main() only parses; each subcommand lives in its own file.
#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include <iostream>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/util/errors.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitInternal = 1;  // a bug or an unexpected LibTorch error
constexpr int kExitConfig = 2;    // bad command line or config file
constexpr int kExitIo = 3;        // a file could not be read or written
constexpr int kExitData = 4;      // input data unusable (shapes, keys, dtypes)
// 5: training diverged (non-finite loss); 6: training interrupted by a signal (checkpoint written).

const char* kExitCodes =
    "Exit codes: 0 success, 1 internal error, 2 bad command line or config, 3 file I/O error, "
    "4 unusable input data (shapes, checkpoint keys, dtypes), 5 training diverged (non-finite loss), "
    "6 training interrupted by SIGTERM/SIGINT (a checkpoint was written; rerun with --resume), "
    "7 repro run finished with failed or cancelled tasks (see repro status), "
    "8 repro compare found a regression or a missing result.";

}  // namespace

int main(int argc, char** argv) {
  repro::cli::set_program_args(argc, argv);
  CLI::App app{"repro: reproduce 'Input Perturbation Reduces Exposure Bias in Diffusion Models' (ADM vs ADM-IP)"};
  app.footer(kExitCodes);
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version, "Print version, git commit, LibTorch version and CUDA availability");
  repro::cli::add_version_command(app, std::cout);
  repro::cli::add_model_command(app, std::cout, std::cerr);
  repro::cli::add_sample_command(app, std::cout, std::cerr);
  repro::cli::add_data_command(app, std::cout, std::cerr);
  repro::cli::add_eval_command(app, std::cout, std::cerr);
  int command_exit = kExitOk;
  repro::cli::add_train_command(app, std::cout, std::cerr, &command_exit);
  repro::cli::add_task_command(app, std::cout, std::cerr, &command_exit);
  repro::cli::add_run_commands(app, std::cout, std::cerr, &command_exit);
  repro::cli::add_report_command(app, std::cout, std::cerr, &command_exit);
  repro::cli::add_compare_command(app, std::cout, std::cerr, &command_exit);
  repro::cli::add_logs_command(app, std::cout, std::cerr, &command_exit);
  repro::cli::add_cancel_command(app, std::cout, std::cerr, &command_exit);
  try {
    app.parse(argc, argv);
    if (version) {
      repro::cli::print_version(std::cout);
    } else if (app.get_subcommands().empty()) {
      std::cout << app.help();
    }
    return command_exit;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitConfig;
  } catch (const repro::ConfigError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitConfig;
  } catch (const repro::IoError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitIo;
  } catch (const repro::DataError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitData;
  } catch (const std::bad_alloc&) {
    // Readers check every declared size first (docs/limits.md); this is the backstop.
    std::cerr << "error: out of memory (an input may declare sizes beyond this machine; "
                 "see docs/limits.md)\n";
    return kExitData;
  } catch (const c10::Error& e) {
    std::cerr << "error (LibTorch): " << e.what_without_backtrace() << "\n";
    return kExitInternal;
  } catch (const std::exception& e) {
    std::cerr << "internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}
