// JSON documents: objects whose "schema" member names their kind and version,
// "digm.<kind>/<version>" (SPEC §1). Reading checks the schema; unknown members
// are kept and ignored. Pure functions over nlohmann::ordered_json values.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "digm/status.h"

namespace digm {

// Documents keep their members in the order they were read or built.
using Json = nlohmann::ordered_json;

struct SchemaId {
  std::string kind;  // "manifest"
  int major = 0;     // 1
  int minor = 0;     // 0 when the version has no ".minor"
};

// Parses "digm.<kind>/<major>[.<minor>]".
Result<SchemaId> ParseSchemaId(std::string_view schema);

// Checks that `doc` is an object of kind `kind` with a major version this code
// reads (<= `major`). Errors are BadInput and say what was found.
Status CheckSchema(const Json& doc, std::string_view kind, int major);

// Limits on JSON read from anywhere, checked before and while parsing, so a
// hostile document can neither exhaust the stack (every DOM copy and dump
// recurses) nor memory.
inline constexpr size_t kMaxJsonDepth = 64;          // nested arrays and objects
inline constexpr size_t kMaxJsonBytes = 1ull << 30;  // document size

// BadInput when `text` nests arrays and objects deeper than `max_depth` or is
// longer than `max_bytes`. A linear scan without recursion; not a validator.
Status CheckJsonShape(std::string_view text, size_t max_depth = kMaxJsonDepth,
                      size_t max_bytes = kMaxJsonBytes);

// Parses JSON text within the limits above. Errors are BadInput with
// nlohmann's position details ("line 3, column 5: ..."); a number out of
// range ("1e400") is BadInput too. Never throws.
Result<Json> ParseJson(std::string_view text, size_t max_bytes = kMaxJsonBytes);

// The BadInput status for nlohmann's parse error message `what`
// ("invalid JSON: line 1, column 2: ..."; "invalid JSON: empty input").
Status InvalidJson(std::string_view what, bool empty_input);

// Reads and parses a whole JSON document from `path` ("-" is stdin) and checks
// its schema. Error messages start with "reading 'PATH': ".
Result<Json> ReadDocument(const std::string& path, std::string_view kind, int major);

// Secret documents (wallets, keys): written atomically with mode 0600 and
// never over an existing file (Usage error naming `what`); read only when no
// one else can read the file.
Status WriteSecretDocument(const std::string& path, const Json& doc, std::string_view what);
Result<Json> ReadSecretDocument(const std::string& path, std::string_view kind, int major);

// The compact one-line form the tools print, followed by no newline.
std::string DumpDocument(const Json& doc);

// Typed member access with exact error messages: `what` names the member in
// messages, e.g. "chunks[3].hash".
Result<std::string> GetString(const Json& obj, std::string_view key, std::string_view what);
Result<uint64_t> GetUint(const Json& obj, std::string_view key, std::string_view what);
Result<bool> GetBool(const Json& obj, std::string_view key, std::string_view what);

// Lenient access for optional members of untrusted documents: the member when
// `obj` is an object holding `key` with a value of the wanted type, else
// `fallback`. Never throws (nlohmann's value() does on a type mismatch).
std::string StringOr(const Json& obj, std::string_view key, std::string fallback = {});
double NumberOr(const Json& obj, std::string_view key, double fallback);
bool BoolOr(const Json& obj, std::string_view key, bool fallback);

}  // namespace digm
