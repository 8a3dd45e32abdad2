#include "digm/document.h"

#include <sys/stat.h>

#include <charconv>

#include "digm/file.h"

namespace digm {
namespace {

bool ParseInt(std::string_view s, int* out) {
  if (s.empty() || s.size() > 6) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<SchemaId> ParseSchemaId(std::string_view schema) {
  auto bad = [&] {
    return Status::BadInput("\"schema\" is \"" + std::string(schema) +
                            "\", expected \"digm.<kind>/<version>\"");
  };
  if (schema.substr(0, 5) != "digm.") return bad();
  size_t slash = schema.find('/');
  if (slash == std::string_view::npos || slash == 5) return bad();
  SchemaId id;
  id.kind = std::string(schema.substr(5, slash - 5));
  std::string_view version = schema.substr(slash + 1);
  size_t dot = version.find('.');
  if (!ParseInt(version.substr(0, dot), &id.major)) return bad();
  if (dot != std::string_view::npos && !ParseInt(version.substr(dot + 1), &id.minor)) {
    return bad();
  }
  return id;
}

Status CheckSchema(const Json& doc, std::string_view kind, int major) {
  if (!doc.is_object()) {
    return Status::BadInput(std::string("expected a JSON object, got ") + doc.type_name());
  }
  auto it = doc.find("schema");
  if (it == doc.end()) {
    return Status::BadInput("missing \"schema\" member: not a digm document");
  }
  if (!it->is_string()) return Status::BadInput("\"schema\" must be a string");
  const std::string& schema = it->get_ref<const std::string&>();
  DIGM_ASSIGN_OR_RETURN(SchemaId id, ParseSchemaId(schema));
  std::string want = "digm." + std::string(kind);
  if (id.kind != kind) {
    return Status::BadInput("expected a " + want + " document, got " + schema);
  }
  if (id.major > major) {
    return Status::BadInput(schema + " is newer than this tool reads (" + want + "/" +
                            std::to_string(major) + ")");
  }
  if (id.major < 1) return Status::BadInput("unknown version in \"schema\": " + schema);
  return Status::Ok();
}

Status CheckJsonShape(std::string_view text, size_t max_depth, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return Status::BadInput("invalid JSON: longer than " + std::to_string(max_bytes) + " bytes");
  }
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return Status::BadInput("invalid JSON: nested deeper than " + std::to_string(max_depth) +
                                " levels");
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return Status::Ok();
}

Result<Json> ParseJson(std::string_view text, size_t max_bytes) {
  DIGM_RETURN_IF_ERROR(CheckJsonShape(text, kMaxJsonDepth, max_bytes));
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    return InvalidJson(e.what(), text.find_first_not_of(" \t\r\n") == std::string_view::npos);
  } catch (const Json::exception& e) {
    // out_of_range.406: "number overflow parsing '1e400'".
    std::string_view what = e.what();
    if (size_t at = what.find("] "); at != std::string_view::npos) what = what.substr(at + 2);
    return Status::BadInput("invalid JSON: " + std::string(what));
  }
}

Status InvalidJson(std::string_view what, bool empty_input) {
  if (empty_input) return Status::BadInput("invalid JSON: empty input");
  // nlohmann's message reads "[json.exception.parse_error.101] parse error at
  // line 1, column 2: ..."; keep what follows "parse error at ".
  size_t at = what.find("parse error at ");
  if (at != std::string_view::npos) what = what.substr(at + 15);
  return Status::BadInput("invalid JSON: " + std::string(what));
}

namespace {

// `secret`: the file holds a secret, so a parse error says where, never what
// (nlohmann quotes the text it choked on).
Result<Json> ReadDocumentFile(const std::string& path, std::string_view kind, int major,
                              bool secret) {
  std::string label = path == "-" ? "stdin" : "'" + path + "'";
  auto text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  auto doc = ParseJson(*text);
  if (!doc.ok() && secret) {
    const std::string& m = doc.status().message();
    size_t line = m.find("line ");
    size_t end = line == std::string::npos ? line : m.find(':', line);
    std::string where = end == std::string::npos ? "" : " at " + m.substr(line, end - line);
    return Status::BadInput("reading " + label + ": not valid JSON" + where +
                            " (the content is secret and not shown)");
  }
  if (!doc.ok()) return doc.status().Context("reading " + label);
  Status s = CheckSchema(*doc, kind, major);
  if (!s.ok()) return s.Context("reading " + label);
  return doc;
}

}  // namespace

Result<Json> ReadDocument(const std::string& path, std::string_view kind, int major) {
  return ReadDocumentFile(path, kind, major, false);
}

Status WriteSecretDocument(const std::string& path, const Json& doc, std::string_view what) {
  struct stat st;
  if (path != "-" && lstat(path.c_str(), &st) == 0) {
    return Status::Usage("'" + path + "' already exists; " + std::string(what) +
                         " is never overwritten");
  }
  return WriteOutput(path, DumpDocument(doc) + "\n", 0600);
}

Result<Json> ReadSecretDocument(const std::string& path, std::string_view kind, int major) {
  DIGM_RETURN_IF_ERROR(CheckSecretFileMode(path));
  return ReadDocumentFile(path, kind, major, true);
}

std::string DumpDocument(const Json& doc) {
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

namespace {

Result<const Json*> Member(const Json& obj, std::string_view key, std::string_view what) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::BadInput("missing \"" + std::string(what) + "\"");
  return &*it;
}

Status WrongType(std::string_view what, const char* want, const Json& got) {
  return Status::BadInput("\"" + std::string(what) + "\" must be " + want + ", got " +
                          got.type_name());
}

}  // namespace

Result<std::string> GetString(const Json& obj, std::string_view key, std::string_view what) {
  DIGM_ASSIGN_OR_RETURN(const Json* v, Member(obj, key, what));
  if (!v->is_string()) return WrongType(what, "a string", *v);
  return v->get<std::string>();
}

Result<uint64_t> GetUint(const Json& obj, std::string_view key, std::string_view what) {
  DIGM_ASSIGN_OR_RETURN(const Json* v, Member(obj, key, what));
  if (!v->is_number_unsigned()) {
    if (v->is_number_integer() && v->get<int64_t>() >= 0) return v->get<uint64_t>();
    if (v->is_number_integer()) {
      return Status::BadInput("\"" + std::string(what) + "\" must not be negative");
    }
    return WrongType(what, "an integer", *v);
  }
  return v->get<uint64_t>();
}

Result<bool> GetBool(const Json& obj, std::string_view key, std::string_view what) {
  DIGM_ASSIGN_OR_RETURN(const Json* v, Member(obj, key, what));
  if (!v->is_boolean()) return WrongType(what, "true or false", *v);
  return v->get<bool>();
}

std::string StringOr(const Json& obj, std::string_view key, std::string fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : fallback;
}

double NumberOr(const Json& obj, std::string_view key, double fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  return it != obj.end() && it->is_number() ? it->get<double>() : fallback;
}

bool BoolOr(const Json& obj, std::string_view key, bool fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

}  // namespace digm
