#include "digm/chunk_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "digm/assemble.h"
#include "digm/chunker.h"
#include "digm/file.h"

namespace digm {
namespace {

// BadInput unless a file could be created at `path` ("" and "-" always can):
// its folder exists and is writable.
Status CanCreate(const std::string& path) {
  if (path.empty() || path == "-") return Status::Ok();
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    return Status::BadInput("cannot create '" + path + "': " + std::strerror(errno));
  }
  return Status::Ok();
}

Status CheckFlags(const ChunkRequest& r, bool encrypt) {
  if (!r.key_in.empty() && !r.key_out.empty()) {
    return Status::Usage("--key reuses a key and --key-out makes a new one: give only one");
  }
  if (encrypt && r.key_in.empty() && r.key_out.empty()) {
    return Status::Usage("--encrypt needs somewhere to keep the key")
        .WithHint("add --key-out FILE for a new key, or --key FILE to reuse one");
  }
  if (!r.key_out.empty() && (r.key_out == r.output || r.key_out == "-")) {
    return Status::Usage("--key-out must name a file of its own, not the manifest's output");
  }
  if (r.preview_seconds > 0 && !encrypt) {
    return Status::Usage("--preview-seconds only applies to an encrypted track (--encrypt)");
  }
  struct stat st;
  if (!r.key_out.empty() && lstat(r.key_out.c_str(), &st) == 0) {
    return Status::Usage("'" + r.key_out + "' already exists; a track key is never overwritten")
        .WithHint("reuse it with --key " + r.key_out + ", or choose another file");
  }
  return Status::Ok();
}

}  // namespace

Status ChunkCommand(const ChunkRequest& r) {
  ChunkOptions o;
  auto cs = ParseChunkSize(r.chunk_size);
  if (!cs.ok()) return Status::Usage(cs.status().message());
  o.chunk_size = *cs;
  o.compress = r.compress;
  o.threads = r.threads;
  o.progress = r.progress;
  bool encrypt = r.encrypt || !r.key_in.empty() || !r.key_out.empty();
  DIGM_RETURN_IF_ERROR(CheckFlags(r, encrypt));
  // Outputs that cannot be made are found before any chunk is stored.
  DIGM_RETURN_IF_ERROR(CanCreate(r.key_out));
  DIGM_RETURN_IF_ERROR(CanCreate(r.output));
  if (!r.key_in.empty()) {
    DIGM_ASSIGN_OR_RETURN(TrackKey k, ReadKeyFile(r.key_in));
    o.key = k;
  } else if (encrypt) {
    o.key = TrackKey::Generate();
  }
  std::optional<ChunkStore> store;
  if (!r.store.empty()) {
    DIGM_ASSIGN_OR_RETURN(ChunkStore s, ChunkStore::Open(r.store, {}));
    store = std::move(s);
    o.store = &*store;
  }
  DIGM_ASSIGN_OR_RETURN(Manifest manifest, ChunkFile(r.input, o, r.preview_seconds));
  if (!r.name.empty()) manifest.source_name = r.name;
  if (!r.key_out.empty()) DIGM_RETURN_IF_ERROR(WriteKeyFile(r.key_out, *o.key));
  Status s = WriteOutput(r.output, DumpDocument(ManifestToJson(manifest)) + "\n");
  if (!s.ok() && !r.key_out.empty())
    unlink(r.key_out.c_str());  // no key for a manifest that never was
  return s;
}

Status JoinCommand(const std::string& manifest_path, const std::string& store_path,
                   const std::string& key_path, const std::string& output) {
  if (store_path.empty()) return Status::Usage("--join needs --store DIR, where the chunks are");
  DIGM_ASSIGN_OR_RETURN(Manifest manifest, ReadManifest(manifest_path, false));
  std::optional<TrackKey> key;
  if (!key_path.empty()) {
    DIGM_ASSIGN_OR_RETURN(TrackKey k, ReadKeyFile(key_path));
    key = k;
  } else if (manifest.encryption && manifest.encryption->preview_chunks < manifest.chunks.size()) {
    return Status::Usage("the track is encrypted: give its key with --key FILE");
  }
  DIGM_ASSIGN_OR_RETURN(ChunkStore store, ChunkStore::Open(store_path, {.create = false}));
  return AssembleTrackTo(manifest, store, key ? &*key : nullptr, output);
}

}  // namespace digm
