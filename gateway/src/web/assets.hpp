#pragma once
// The page's static files, embedded at build time (generated web_assets.cpp).

#include <cstddef>
#include <string_view>

namespace floorgate::gateway::web::detail {

// One embedded file: URL path ("/app.js"), MIME type and bytes.
struct Asset {
  std::string_view path;
  std::string_view content_type;
  std::string_view data;
};

// The asset served at `path` ("/" maps to "/index.html"); nullptr when there is none.
const Asset* find_asset(std::string_view path);

}  // namespace floorgate::gateway::web::detail
