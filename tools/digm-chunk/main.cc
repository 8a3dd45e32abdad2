// digm-chunk: an audio file -> content-addressed chunks and a manifest (SPEC §2).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "cli.h"
#include "digm/assemble.h"
#include "digm/chunker.h"

namespace {

using namespace digm;

struct Args {
  std::string input, store, key_out, key_in, output = "-", name, join;
  std::string chunk_size = "256K";
  bool encrypt = false, compress = false, progress = false, quiet = false;
  double preview_seconds = 0;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
};

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

int Join(const Args& a) {
  if (a.store.empty()) return cli::UsageError("--join needs --store DIR, where the chunks are");
  auto manifest = ReadManifest(a.join, false);
  if (!manifest.ok()) return diag::Fail(manifest.status());
  std::optional<TrackKey> key;
  if (!a.key_in.empty()) {
    auto k = ReadKeyFile(a.key_in);
    if (!k.ok()) return diag::Fail(k.status());
    key = *k;
  } else if (manifest->encryption &&
             manifest->encryption->preview_chunks < manifest->chunks.size()) {
    return cli::UsageError("the track is encrypted: give its key with --key FILE");
  }
  auto store = ChunkStore::Open(a.store, {.create = false});
  if (!store.ok()) return diag::Fail(store.status());
  Status s = AssembleTrackTo(*manifest, *store, key ? &*key : nullptr, a.output);
  return s.ok() ? 0 : diag::Fail(s);
}

int Chunk(const Args& a) {
  ChunkOptions o;
  auto cs = ParseChunkSize(a.chunk_size);
  if (!cs.ok()) return cli::UsageError(cs.status().message());
  o.chunk_size = *cs;
  o.compress = a.compress;
  o.threads = a.threads;
  bool encrypt = a.encrypt || !a.key_in.empty() || !a.key_out.empty();
  if (!a.key_in.empty() && !a.key_out.empty()) {
    return cli::UsageError("--key reuses a key and --key-out makes a new one: give only one");
  }
  if (encrypt && a.key_in.empty() && a.key_out.empty()) {
    return cli::UsageError("--encrypt needs somewhere to keep the key",
                           "add --key-out FILE for a new key, or --key FILE to reuse one");
  }
  if (!a.key_out.empty() && (a.key_out == a.output || a.key_out == "-")) {
    return cli::UsageError("--key-out must name a file of its own, not the manifest's output");
  }
  if (a.preview_seconds > 0 && !encrypt) {
    return cli::UsageError("--preview-seconds only applies to an encrypted track (--encrypt)");
  }
  struct stat st;
  if (!a.key_out.empty() && lstat(a.key_out.c_str(), &st) == 0) {
    return cli::UsageError("'" + a.key_out + "' already exists; a track key is never overwritten",
                           "reuse it with --key " + a.key_out + ", or choose another file");
  }
  // Outputs that cannot be made are found before any chunk is stored.
  for (const std::string* path : {&a.key_out, &a.output}) {
    if (Status s = CanCreate(*path); !s.ok()) return diag::Fail(s);
  }
  if (!a.key_in.empty()) {
    auto k = ReadKeyFile(a.key_in);
    if (!k.ok()) return diag::Fail(k.status());
    o.key = *k;
  } else if (encrypt) {
    o.key = TrackKey::Generate();
  }

  std::optional<ChunkStore> store;
  if (!a.store.empty()) {
    auto s = ChunkStore::Open(a.store, {});
    if (!s.ok()) return diag::Fail(s.status());
    store = std::move(*s);
    o.store = &*store;
  }
  diag::Progress progress(!a.quiet && (a.progress || diag::IsTerminal(2)));
  o.progress = [&](uint64_t done, uint64_t total) { progress.Update(done, total); };
  auto manifest = ChunkFile(a.input, o, a.preview_seconds);
  progress.Finish();
  if (!manifest.ok()) return diag::Fail(manifest.status());
  if (!a.name.empty()) manifest->source_name = a.name;
  if (!a.key_out.empty()) {
    Status s = WriteKeyFile(a.key_out, *o.key);
    if (!s.ok()) return diag::Fail(s);
  }
  Status s = WriteOutput(a.output, DumpDocument(ManifestToJson(*manifest)) + "\n");
  if (!s.ok()) {
    if (!a.key_out.empty()) unlink(a.key_out.c_str());  // no key for a manifest that never was
    return diag::Fail(s);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Split a file into content-addressed chunks and print its manifest.", "digm-chunk");
  cli::Init(app, "digm-chunk");
  Args a;
  app.add_option("INPUT", a.input, "audio file to chunk, or - for stdin")->type_name("");
  app.add_option("-c,--chunk-size", a.chunk_size, "chunk size, a power of two from 16K to 16M")
      ->capture_default_str()
      ->type_name("SIZE");
  app.add_option("-s,--store", a.store, "write chunks into this content-addressed directory")
      ->type_name("DIR");
  app.add_flag("-e,--encrypt", a.encrypt, "encrypt every chunk with a new AES-256-GCM track key");
  app.add_option("--key-out", a.key_out, "write the new track key here (mode 0600)")
      ->type_name("FILE");
  app.add_option("-k,--key", a.key_in, "encrypt with the key in this key file (reuse a key)")
      ->type_name("FILE");
  app.add_option("--preview-seconds", a.preview_seconds,
                 "encrypt the chunks of the first N seconds with a public preview key")
      ->check(CLI::Range(0.0, 86400.0))
      ->type_name("N");
  app.add_flag("-z,--compress", a.compress, "zstd-compress chunks that shrink by 1/16 or more");
  app.add_option("-j,--threads", a.threads,
                 "threads to use, the reading one included (default: all cores)")
      ->check(CLI::Range(1, 256))
      ->type_name("N");
  app.add_option("-o,--output", a.output, "write the manifest here instead of stdout")
      ->type_name("FILE");
  app.add_option("--name", a.name, "source name recorded in the manifest (default: file name)")
      ->type_name("NAME");
  app.add_option("--join", a.join, "reassemble the track of this manifest from --store instead")
      ->type_name("MANIFEST");
  app.add_flag("--progress", a.progress, "draw a progress bar on stderr even when not a terminal");
  app.add_flag("-q,--quiet", a.quiet, "print nothing but errors");
  if (int rc = cli::Parse(app, argc, argv); rc >= 0) return rc;
  if (!a.join.empty()) {
    if (!a.input.empty()) return cli::UsageError("--join takes no INPUT; it reads --store");
    return Join(a);
  }
  if (a.input.empty())
    return cli::UsageError("missing INPUT (a file, or - for stdin)", "try 'digm-chunk --help'");
  return Chunk(a);
}
