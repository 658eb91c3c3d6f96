// repro: the command line. main() only parses; each subcommand lives in its own file.
#include <c10/util/Exception.h>
#include <CLI/CLI.hpp>

#include <iostream>

#include "base/util/errors.h"
#include "base/util/exit_code.h"
#include "cli/cli_common.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  using repro::ExitCode;
  using repro::to_int;
  repro::cli::set_program_args(argc, argv);
  CLI::App app{"repro: reproduce 'Input Perturbation Reduces Exposure Bias in Diffusion Models' (ADM vs ADM-IP)"};
  app.footer(repro::exit_code_table());
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version, "Print version, git commit, LibTorch version and CUDA availability");
  repro::cli::add_version_command(app, std::cout);
  repro::cli::add_model_command(app, std::cout, std::cerr);
  repro::cli::add_sample_command(app, std::cout, std::cerr);
  repro::cli::add_exposure_command(app, std::cout, std::cerr);
  repro::cli::add_data_command(app, std::cout, std::cerr);
  repro::cli::add_eval_command(app, std::cout, std::cerr);
  int command_exit = to_int(ExitCode::kOk);
  repro::cli::add_train_command(app, std::cout, std::cerr, &command_exit);
  repro::cli::add_task_command(app, std::cout, std::cerr, &command_exit);
  repro::cli::add_run_commands(app, std::cout, std::cerr, &command_exit);
  repro::cli::add_report_command(app, std::cout, std::cerr, &command_exit);
  repro::cli::add_compare_command(app, std::cout, std::cerr, &command_exit);
  repro::cli::add_logs_command(app, std::cout, std::cerr, &command_exit);
  repro::cli::add_cancel_command(app, std::cout, std::cerr, &command_exit);
  repro::cli::add_db_command(app, std::cout, std::cerr, &command_exit);
  repro::cli::add_show_command(app, std::cout, std::cerr, &command_exit);
  repro::cli::add_results_command(app, std::cout, std::cerr, &command_exit);
  repro::cli::add_diff_command(app, std::cout, std::cerr, &command_exit);
  repro::cli::add_export_command(app, std::cout, std::cerr, &command_exit);
  repro::cli::add_gc_command(app, std::cout, std::cerr, &command_exit);
  try {
    app.parse(argc, argv);
    if (version) {
      repro::cli::print_version(std::cout);
    } else if (app.get_subcommands().empty()) {
      std::cout << app.help();
    }
    return command_exit;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? to_int(ExitCode::kOk) : to_int(ExitCode::kConfig);
  } catch (const repro::ConfigError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return to_int(ExitCode::kConfig);
  } catch (const repro::IoError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return to_int(ExitCode::kIo);
  } catch (const repro::DataError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return to_int(ExitCode::kData);
  } catch (const std::bad_alloc&) {
    // Readers check every declared size first (docs/limits.md); this is the backstop.
    std::cerr << "error: out of memory (an input may declare sizes beyond this machine; "
                 "see docs/limits.md)\n";
    return to_int(ExitCode::kData);
  } catch (const c10::Error& e) {
    std::cerr << "error (LibTorch): " << e.what_without_backtrace() << "\n";
    return to_int(ExitCode::kInternal);
  } catch (const std::exception& e) {
    std::cerr << "internal error: " << e.what() << "\n";
    return to_int(ExitCode::kInternal);
  }
}
