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

// Parses JSON text. Errors are BadInput with nlohmann's position details
// ("line 3, column 5: ...").
Result<Json> ParseJson(std::string_view text);

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

}  // namespace digm
