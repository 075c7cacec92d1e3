#pragma once
// A small JSON Schema checker (Boost.JSON) covering exactly the keywords docs/schemas/ uses:
// type (string or list), const, enum, properties, required, additionalProperties (bool),
// items, oneOf, minimum, minLength, pattern (ECMAScript regex, searched). Test-only.

#include <boost/json.hpp>
#include <fstream>
#include <regex>
#include <string>

namespace floorgate::testing {

class SchemaCheck {
 public:
  // Returns "" when `v` conforms to `schema`, else the first violation with its JSON path.
  static std::string validate(const boost::json::value& schema, const boost::json::value& v,
                              const std::string& path = "$") {
    namespace json = boost::json;
    if (!schema.is_object()) return path + ": schema is not an object";
    const auto& s = schema.as_object();
    if (auto* t = s.if_contains("type")) {
      bool ok = false;
      if (t->is_string()) ok = has_type(v, t->as_string());
      for (auto& e : t->is_array() ? t->as_array() : json::array{})
        ok = ok || has_type(v, e.as_string());
      if (!ok) return path + ": wrong type, expected " + json::serialize(*t);
    }
    if (auto* c = s.if_contains("const"); c && *c != v)
      return path + ": expected " + json::serialize(*c);
    if (auto* e = s.if_contains("enum")) {
      bool ok = false;
      for (auto& x : e->as_array()) ok = ok || x == v;
      if (!ok) return path + ": not one of " + json::serialize(*e);
    }
    if (auto* m = s.if_contains("minimum"); m && v.is_number() &&
                                            v.to_number<double>() < m->to_number<double>())
      return path + ": below minimum";
    if (v.is_string()) {
      auto str = std::string(v.as_string());
      if (auto* ml = s.if_contains("minLength"); ml && str.size() < ml->to_number<std::size_t>())
        return path + ": too short";
      if (auto* p = s.if_contains("pattern");
          p && !std::regex_search(str, std::regex(std::string(p->as_string()))))
        return path + ": '" + str + "' does not match " + std::string(p->as_string());
    }
    if (v.is_object()) {
      const auto& o = v.as_object();
      for (auto& r : s.contains("required") ? s.at("required").as_array() : json::array{})
        if (!o.contains(r.as_string())) return path + ": missing " + std::string(r.as_string());
      const json::object* props = s.contains("properties") ? &s.at("properties").as_object()
                                                           : nullptr;
      for (auto& [k, x] : o) {
        if (props && props->contains(k)) {
          auto err = validate(props->at(k), x, path + "." + std::string(k));
          if (!err.empty()) return err;
        } else if (auto* ap = s.if_contains("additionalProperties"); ap && ap->is_bool() &&
                                                                      !ap->as_bool()) {
          return path + ": unexpected property " + std::string(k);
        }
      }
    }
    if (v.is_array()) {
      if (auto* it = s.if_contains("items")) {
        std::size_t i = 0;
        for (auto& x : v.as_array()) {
          auto err = validate(*it, x, path + "[" + std::to_string(i++) + "]");
          if (!err.empty()) return err;
        }
      }
    }
    if (auto* one = s.if_contains("oneOf")) {
      int matches = 0;
      std::string last;
      for (auto& alt : one->as_array()) {
        auto err = validate(alt, v, path);
        if (err.empty()) ++matches; else last = err;
      }
      if (matches != 1)
        return path + ": matches " + std::to_string(matches) + " of oneOf (" + last + ")";
    }
    return {};
  }

  static boost::json::value load(const std::string& file) {
    std::ifstream in(file);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    return boost::json::parse(text);
  }

 private:
  static bool has_type(const boost::json::value& v, boost::json::string_view t) {
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "boolean") return v.is_bool();
    if (t == "null") return v.is_null();
    if (t == "integer") return v.is_int64() || v.is_uint64();
    if (t == "number") return v.is_number();
    return false;
  }
};

}  // namespace floorgate::testing
