// "Did you mean" for misspelled names: the closest candidate by edit distance, if close enough.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace certhook {

// Levenshtein distance (insert, delete, substitute; an adjacent swap counts as one edit).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, when it is within a distance that still looks like a typo
// (at most 1 for words up to 4 characters, 2 up to 8, else 3). Ties go to the earliest candidate.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string> &candidates);

// "; did you mean \"x\"?" or "" — ready to append to a message.
std::string did_you_mean(std::string_view word, const std::vector<std::string> &candidates);

}  // namespace certhook
