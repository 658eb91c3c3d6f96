#pragma once
// Whole-file reads and crash-safe whole-file writes. Torch-free.
#include <string>

namespace repro {

// Returns the whole file. Throws IoError "cannot read <path>: <reason>" when it cannot be
// opened or read (missing, a directory, permissions).
std::string read_file(const std::string& path);

// Replaces `path` with `bytes` so that a crash leaves either the old file or the new one, never a
// partial file: writes `path + ".tmp-<pid>"` in the same directory, fsyncs it, renames it over
// `path`, then fsyncs the directory (best effort). On failure the temp file is removed and
// IoError "cannot write <path>: <reason>" is thrown.
void write_file_atomic(const std::string& path, const std::string& bytes);

// The temp name write_file_atomic and write_zip use for `path`.
std::string atomic_temp_path(const std::string& path);

// Makes a finished temp file durable and moves it over `path`: fsync(temp), rename, fsync of the
// directory (best effort). On failure removes `temp` and throws IoError naming `path`.
void commit_temp_file(const std::string& temp, const std::string& path);

}  // namespace repro
