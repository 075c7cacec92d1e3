#pragma once
// The result of an operation that can fail (STYLE.md "Errors"): a value or the std::error_code
// that says why not, never both and never a silently empty value. Boost.System's result (header
// only) with our error type: `if (!r) use r.error(); else use *r`.

#include <boost/system/result.hpp>

#include <system_error>

namespace floorgate::core {

template <class T>
using Result = boost::system::result<T, std::error_code>;

}  // namespace floorgate::core
