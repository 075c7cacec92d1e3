#pragma once
// Well-formed UTF-8 (Unicode table 3-7: no overlong forms, no surrogates, nothing above
// U+10FFFF). One rule for the JSON the drivers write and the configuration the loader reads.

#include <cstddef>
#include <string_view>

namespace floorgate::core {

// Length of the well-formed UTF-8 sequence starting at s[i]: 1 for ASCII, 2-4 for a valid
// multi-byte sequence, 0 when the bytes there are not well-formed UTF-8. Requires i < s.size().
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

}  // namespace floorgate::core
