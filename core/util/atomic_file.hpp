// Durable replacement of a file: write a temp file beside it, fsync, rename, fsync the directory.
// A reader sees the old content or the new, never a mix; a crash leaves at most a stray temp file.
#pragma once
#include <filesystem>
#include <string_view>
#include <sys/types.h>

namespace certhook {

// Throws std::system_error naming the path on failure. `mode` applies to the new file.
void write_file_atomic(const std::filesystem::path &path, std::string_view content,
                       mode_t mode = 0644, bool durable = true);
// Creates `path` (which must not exist) with `content` and `mode`, fsynced when `sync`. For files
// inside a directory that is itself published by one rename (e.g. a new certificate version).
void write_new_file(const std::filesystem::path &path, std::string_view content, mode_t mode,
                    bool sync = true);
// Reads a whole file; throws std::system_error naming the path.
std::string read_file(const std::filesystem::path &path);
// fsync a directory (after renames in it).
void sync_directory(const std::filesystem::path &dir);

}  // namespace certhook
