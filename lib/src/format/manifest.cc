#include "digm/manifest.h"

#include <charconv>
#include <cmath>

#include "digm/file.h"
#include "digm/merkle.h"
#include "format/manifest_scan.h"

namespace digm {
namespace {

std::string Quoted(std::string_view what) { return "\"" + std::string(what) + "\""; }

template <size_t N>
Status GetHex(const Json& obj, std::string_view key, std::string_view what,
              std::array<uint8_t, N>* out) {
  DIGM_ASSIGN_OR_RETURN(std::string hex, GetString(obj, key, what));
  Status s = HexDecodeInto(hex, *out);
  return s.ok() ? s : s.Context(Quoted(what));
}

Result<Media> MediaFromJson(const Json& j) {
  Media m;
  if (j.is_null()) return m;
  if (!j.is_object()) return Status::BadInput("\"media\" must be an object or null");
  auto str = [&](const char* key, std::optional<std::string>* out) -> Status {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return Status::Ok();
    if (!it->is_string())
      return Status::BadInput("\"media." + std::string(key) + "\" must be a string");
    *out = it->get<std::string>();
    return Status::Ok();
  };
  auto num = [&](const char* key, auto* out) -> Status {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return Status::Ok();
    if (!it->is_number())
      return Status::BadInput("\"media." + std::string(key) + "\" must be a number");
    *out = it->template get<typename std::decay_t<decltype(*out)>::value_type>();
    return Status::Ok();
  };
  DIGM_RETURN_IF_ERROR(str("format", &m.format));
  DIGM_RETURN_IF_ERROR(str("mime", &m.mime));
  DIGM_RETURN_IF_ERROR(str("title", &m.title));
  DIGM_RETURN_IF_ERROR(str("artist", &m.artist));
  DIGM_RETURN_IF_ERROR(str("album", &m.album));
  DIGM_RETURN_IF_ERROR(num("duration", &m.duration));
  DIGM_RETURN_IF_ERROR(num("bitrate", &m.bitrate));
  DIGM_RETURN_IF_ERROR(num("sample_rate", &m.sample_rate));
  DIGM_RETURN_IF_ERROR(num("channels", &m.channels));
  return m;
}

Json MediaToJson(const Media& m) {
  Json j = Json::object();
  auto put = [&](const char* key, const auto& v) {
    if (v) j[key] = *v;
  };
  put("format", m.format);
  put("mime", m.mime);
  if (m.duration) j["duration"] = std::round(*m.duration * 1000.0) / 1000.0;
  put("bitrate", m.bitrate);
  put("sample_rate", m.sample_rate);
  put("channels", m.channels);
  put("title", m.title);
  put("artist", m.artist);
  put("album", m.album);
  return j;
}

Result<Encryption> EncryptionFromJson(const Json& j) {
  Encryption e;
  DIGM_ASSIGN_OR_RETURN(std::string alg, GetString(j, "alg", "encryption.alg"));
  if (alg != "aes-256-gcm") {
    return Status::BadInput("\"encryption.alg\" is \"" + alg + "\", only \"aes-256-gcm\" is known");
  }
  DIGM_RETURN_IF_ERROR(GetHex(j, "key_id", "encryption.key_id", &e.key_id));
  DIGM_RETURN_IF_ERROR(GetHex(j, "nonce_prefix", "encryption.nonce_prefix", &e.nonce_prefix));
  auto it = j.find("preview");
  if (it != j.end() && !it->is_null()) {
    if (!it->is_object())
      return Status::BadInput("\"encryption.preview\" must be an object or null");
    DIGM_ASSIGN_OR_RETURN(e.preview_chunks, GetUint(*it, "chunks", "encryption.preview.chunks"));
    DIGM_RETURN_IF_ERROR(GetHex(*it, "key", "encryption.preview.key", &e.preview_key));
  }
  return e;
}

Result<ChunkRef> ChunkFromJson(const Json& j, size_t i) {
  std::string at = "chunks[" + std::to_string(i) + "]";
  if (!j.is_object()) return Status::BadInput(Quoted(at) + " must be an object");
  ChunkRef c;
  DIGM_RETURN_IF_ERROR(GetHex(j, "hash", at + ".hash", &c.hash));
  DIGM_ASSIGN_OR_RETURN(c.size, GetUint(j, "size", at + ".size"));
  DIGM_ASSIGN_OR_RETURN(c.plain, GetUint(j, "plain", at + ".plain"));
  auto z = j.find("z");
  if (z != j.end()) {
    DIGM_ASSIGN_OR_RETURN(c.z, GetBool(j, "z", at + ".z"));
  }
  return c;
}

// The arithmetic every manifest obeys (SPEC §2).
Status CheckStreamShape(const Manifest& m) {
  const uint64_t tag = m.encryption ? kGcmTagSize : 0;
  uint64_t total = 0;
  for (size_t i = 0; i < m.chunks.size(); ++i) {
    const ChunkRef& c = m.chunks[i];
    std::string at = "\"chunks[" + std::to_string(i) + "]";
    if (c.plain == 0 || c.plain > m.chunk_size) {
      return Status::BadInput(at + ".plain\" is " + std::to_string(c.plain) +
                              "; a stream's chunks hold 1 to chunk_size bytes");
    }
    if (c.z) return Status::BadInput(at + ".z\": a stream's chunks are never compressed");
    if (c.size != c.plain + tag) {
      return Status::BadInput(at + ".size\" is " + std::to_string(c.size) + ", expected " +
                              std::to_string(c.plain + tag));
    }
    total += c.plain;
  }
  if (total != m.size) {
    return Status::BadInput("the chunks hold " + std::to_string(total) +
                            " bytes, but \"size\" is " + std::to_string(m.size));
  }
  if (m.encryption && m.encryption->preview_chunks != 0) {
    return Status::BadInput("a stream has no preview");
  }
  return Status::Ok();
}

Status CheckShape(const Manifest& m) {
  DIGM_RETURN_IF_ERROR(CheckChunkSize(m.chunk_size).Context("\"chunk_size\""));
  if (m.stream) return CheckStreamShape(m);
  uint64_t want = m.size == 0 ? 0 : (m.size - 1) / m.chunk_size + 1;
  if (m.chunks.size() != want) {
    return Status::BadInput("\"chunks\" has " + std::to_string(m.chunks.size()) +
                            " entries, but size " + std::to_string(m.size) + " in chunks of " +
                            std::to_string(m.chunk_size) + " needs " + std::to_string(want));
  }
  const uint64_t tag = m.encryption ? kGcmTagSize : 0;
  for (size_t i = 0; i < m.chunks.size(); ++i) {
    const ChunkRef& c = m.chunks[i];
    std::string at = "\"chunks[" + std::to_string(i) + "]";
    uint64_t plain = std::min(m.chunk_size, m.size - i * m.chunk_size);
    if (c.plain != plain) {
      return Status::BadInput(at + ".plain\" is " + std::to_string(c.plain) + ", expected " +
                              std::to_string(plain));
    }
    bool ok = c.z ? c.size > tag && c.size <= c.plain + tag : c.size == c.plain + tag;
    if (!ok) {
      return Status::BadInput(at + ".size\" is " + std::to_string(c.size) + ", expected " +
                              (c.z ? "at most " : "") + std::to_string(c.plain + tag) +
                              (tag ? " (plain + 16-byte tag)" : ""));
    }
  }
  if (m.encryption && m.encryption->preview_chunks > m.chunks.size()) {
    return Status::BadInput("\"encryption.preview.chunks\" is " +
                            std::to_string(m.encryption->preview_chunks) + ", but the track has " +
                            std::to_string(m.chunks.size()) + " chunks");
  }
  return Status::Ok();
}

}  // namespace

Hash256 Manifest::ComputeRoot() const {
  std::vector<Hash256> leaves;
  leaves.reserve(chunks.size());
  for (const ChunkRef& c : chunks) leaves.push_back(c.hash);
  return MerkleRoot(leaves);
}

Status CheckChunkSize(uint64_t cs) {
  if (cs < kMinChunkSize || cs > kMaxChunkSize || (cs & (cs - 1)) != 0) {
    return Status::BadInput(std::to_string(cs) + " is not a power of two from 16K to 16M");
  }
  return Status::Ok();
}

Result<uint64_t> ParseChunkSize(std::string_view text) {
  auto bad = [&] {
    return Status::Usage("--chunk-size '" + std::string(text) +
                         "': expected a power of two from 16K to 16M, such as 256K or 1M");
  };
  uint64_t value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || p == text.data()) return bad();
  std::string_view unit = text.substr(p - text.data());
  if (unit == "K" || unit == "k" || unit == "KiB") {
    value <<= 10;
  } else if (unit == "M" || unit == "m" || unit == "MiB") {
    value <<= 20;
  } else if (!unit.empty()) {
    return bad();
  }
  if (!CheckChunkSize(value).ok()) return bad();
  return value;
}

// Everything but the chunks, which the caller has parsed already.
Result<Manifest> ManifestFromParts(const Json& doc, std::vector<ChunkRef> chunks) {
  DIGM_RETURN_IF_ERROR(CheckSchema(doc, "manifest", 1));
  Manifest m;
  auto root = doc.find("root");
  if (root != doc.end() && !root->is_null()) {
    Hash256 r;
    DIGM_RETURN_IF_ERROR(GetHex(doc, "root", "root", &r));
    m.root = r;
  }
  DIGM_ASSIGN_OR_RETURN(m.size, GetUint(doc, "size", "size"));
  DIGM_ASSIGN_OR_RETURN(m.chunk_size, GetUint(doc, "chunk_size", "chunk_size"));
  auto source = doc.find("source");
  if (source == doc.end() || !source->is_object()) {
    return Status::BadInput("\"source\" must be an object with \"sha256\"");
  }
  DIGM_RETURN_IF_ERROR(GetHex(*source, "sha256", "source.sha256", &m.source_sha256));
  auto name = source->find("name");
  if (name != source->end() && name->is_string()) m.source_name = name->get<std::string>();
  auto media = doc.find("media");
  if (media != doc.end()) {
    DIGM_ASSIGN_OR_RETURN(m.media, MediaFromJson(*media));
  }
  auto enc = doc.find("encryption");
  if (enc == doc.end()) return Status::BadInput("missing \"encryption\" (null for a clear track)");
  if (!enc->is_null()) {
    if (!enc->is_object()) return Status::BadInput("\"encryption\" must be an object or null");
    DIGM_ASSIGN_OR_RETURN(m.encryption, EncryptionFromJson(*enc));
  }
  if (auto stream = doc.find("stream"); stream != doc.end() && !stream->is_null()) {
    Hash256 id;
    DIGM_RETURN_IF_ERROR(GetHex(doc, "stream", "stream", &id));
    m.stream = id;
  }
  m.chunks = std::move(chunks);
  DIGM_RETURN_IF_ERROR(CheckShape(m));
  return m;
}

namespace {

Status CheckChunksMember(const Json& doc) {
  auto chunks = doc.find("chunks");
  if (chunks == doc.end()) return Status::BadInput("missing \"chunks\"");
  if (!chunks->is_array()) return Status::BadInput("\"chunks\" must be an array");
  return Status::Ok();
}

}  // namespace

Result<Manifest> ManifestFromJson(const Json& doc) {
  DIGM_RETURN_IF_ERROR(CheckSchema(doc, "manifest", 1));
  DIGM_RETURN_IF_ERROR(CheckChunksMember(doc));
  const Json& array = doc["chunks"];
  std::vector<ChunkRef> chunks;
  chunks.reserve(array.size());
  for (size_t i = 0; i < array.size(); ++i) {
    DIGM_ASSIGN_OR_RETURN(ChunkRef c, ChunkFromJson(array[i], i));
    chunks.push_back(c);
  }
  return ManifestFromParts(doc, std::move(chunks));
}

Result<Manifest> ParseManifest(std::string_view text, size_t capacity) {
  DIGM_RETURN_IF_ERROR(CheckJsonShape(text));  // both readers below, before either runs
  if (auto scanned = ScanManifest(text, capacity)) {
    return ManifestFromParts(scanned->header, std::move(scanned->chunks));
  }
  // Not a well-formed manifest: the DOM path names exactly what is wrong.
  DIGM_ASSIGN_OR_RETURN(Json doc, ParseJson(text));
  return ManifestFromJson(doc);
}

Json ManifestToJson(const Manifest& m) {
  Json j = Json::object();
  j["schema"] = "digm.manifest/1";
  if (m.root) j["root"] = HexEncode(*m.root);
  j["size"] = m.size;
  j["chunk_size"] = m.chunk_size;
  Json source = Json::object();
  if (m.source_name) source["name"] = *m.source_name;
  source["sha256"] = HexEncode(m.source_sha256);
  j["source"] = std::move(source);
  j["media"] = MediaToJson(m.media);
  if (m.encryption) {
    const Encryption& e = *m.encryption;
    Json enc = {{"alg", "aes-256-gcm"},
                {"key_id", HexEncode(e.key_id)},
                {"nonce_prefix", HexEncode(e.nonce_prefix)}};
    enc["preview"] = e.preview_chunks == 0
                         ? Json(nullptr)
                         : Json{{"chunks", e.preview_chunks}, {"key", HexEncode(e.preview_key)}};
    j["encryption"] = std::move(enc);
  } else {
    j["encryption"] = nullptr;
  }
  if (m.stream) j["stream"] = HexEncode(*m.stream);
  Json chunks = Json::array();
  for (const ChunkRef& c : m.chunks) {
    chunks.push_back(
        {{"hash", HexEncode(c.hash)}, {"size", c.size}, {"plain", c.plain}, {"z", c.z}});
  }
  j["chunks"] = std::move(chunks);
  return j;
}

Status CheckRoot(const Manifest& m) {
  if (!m.root) return Status::Ok();
  Hash256 computed = m.ComputeRoot();
  if (computed != *m.root) {
    return Status::Integrity("root " + HexEncode(*m.root) +
                             " does not match its chunks (computed " + HexEncode(computed) + ")");
  }
  return Status::Ok();
}

Result<Manifest> ReadManifest(const std::string& path, bool require_root) {
  std::string label = path == "-" ? "stdin" : "'" + path + "'";
  DIGM_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  auto m = ParseManifest(text, text.capacity());
  if (!m.ok()) return m.status().Context("reading " + label);
  if (require_root && !m->root) {
    return Status::BadInput("reading " + label + ": the manifest is not sealed (no \"root\")");
  }
  Status s = CheckRoot(*m);
  if (!s.ok()) return s.Context(label);
  return m;
}

}  // namespace digm
