#include "floorgate/gateway/logging.hpp"

#include "floorgate/core/check.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <memory>
#include <string>

namespace floorgate::gateway {
namespace {

// %* → "<N>", the syslog priority journald reads at the start of a line.
class SdPriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const char* p = "<6>";
    switch (msg.level) {
      case spdlog::level::critical: p = "<2>"; break;
      case spdlog::level::err: p = "<3>"; break;
      case spdlog::level::warn: p = "<4>"; break;
      case spdlog::level::info: p = "<6>"; break;
      default: p = "<7>"; break;
    }
    dest.append(p, p + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SdPriorityFlag>();
  }
};

std::optional<spdlog::level::level_enum> parse_level(std::string_view name) {
  if (name == "trace") return spdlog::level::trace;
  if (name == "debug") return spdlog::level::debug;
  if (name == "info") return spdlog::level::info;
  if (name == "warn" || name == "warning") return spdlog::level::warn;
  if (name == "error") return spdlog::level::err;
  return std::nullopt;
}

}  // namespace

bool setup_logging(std::string_view level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  // Under systemd (JOURNAL_STREAM set) journald adds its own timestamp.
  const bool journald = ::getenv("JOURNAL_STREAM") != nullptr;
  formatter->add_flag<SdPriorityFlag>('*').set_pattern(
      journald ? "%*%n: %v" : "%*%Y-%m-%dT%H:%M:%S.%e %l %n: %v");
  sink->set_formatter(std::move(formatter));
  auto logger = std::make_shared<spdlog::logger>("floorgate", sink);
  spdlog::set_default_logger(logger);
  spdlog::flush_on(spdlog::level::info);
  // A failed invariant (core/check.hpp) in a release build is logged once per site.
  core::set_check_reporter([](std::string_view what, const core::CheckSite& where) {
    spdlog::critical("invariant failed at {}:{} ({}): {} -- please report this bug", where.file,
                     where.line, where.function, what);
  });
  return set_log_level(level);
}

bool set_log_level(std::string_view level) {
  auto l = parse_level(level);
  spdlog::set_level(l.value_or(spdlog::level::info));
  return l.has_value();
}

}  // namespace floorgate::gateway
