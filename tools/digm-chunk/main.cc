// digm-chunk: an audio file -> content-addressed chunks and a manifest (SPEC §2).
// What it does is digm/chunk_command.h; this file parses and prints.
#include <thread>

#include "cli.h"
#include "digm/chunk_command.h"

namespace {

using namespace digm;

struct Args : ChunkRequest {
  std::string join;
  bool progress_bar = false, quiet = false;
};

int Chunk(Args& a) {
  diag::Progress progress(!a.quiet && (a.progress_bar || diag::IsTerminal(2)));
  a.progress = [&](uint64_t done, uint64_t total) { progress.Update(done, total); };
  Status s = ChunkCommand(a);
  progress.Finish();
  return s.ok() ? 0 : diag::Fail(s);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Split a file into content-addressed chunks and print its manifest.", "digm-chunk");
  cli::Init(app, "digm-chunk");
  Args a;
  a.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
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
  app.add_flag("--progress", a.progress_bar,
               "draw a progress bar on stderr even when not a terminal");
  app.add_flag("-q,--quiet", a.quiet, "print nothing but errors");
  if (int rc = cli::Parse(app, argc, argv); rc >= 0) return rc;
  if (!a.join.empty()) {
    if (!a.input.empty()) return cli::UsageError("--join takes no INPUT; it reads --store");
    Status s = JoinCommand(a.join, a.store, a.key_in, a.output);
    return s.ok() ? 0 : diag::Fail(s);
  }
  if (a.input.empty())
    return cli::UsageError("missing INPUT (a file, or - for stdin)", "try 'digm-chunk --help'");
  return Chunk(a);
}
