// digm-live publish: flags checked, the key and the manifest's file made,
// the stream published (digm/live_publish.h), the sealed manifest written.
#pragma once

#include <fcntl.h>

#include <atomic>
#include <optional>

#include "cli.h"
#include "digm/file.h"
#include "digm/live_publish.h"

namespace digm {

inline std::atomic<bool> g_stop{false};

struct PublishArgs {
  std::string input = "-", wallet, key_out, key_in, output, store;
  bool encrypt = false, quiet = false;
};

inline int Publish(PublishArgs& a, LivePublishOptions& o) {
  if (a.encrypt && a.key_out.empty() && a.key_in.empty()) {
    return cli::UsageError("--encrypt needs somewhere to keep the key",
                           "add --key-out FILE for a new key, or --key FILE to reuse one");
  }
  if (a.output == "-") {
    return cli::UsageError("-o - would mix the manifest into the stream's JSON lines",
                           "give -o a file");
  }
  // The manifest's file is made first, so a path that cannot be written
  // fails before the stream starts; it appears only once the track is sealed.
  std::optional<AtomicFile> manifest_file;
  if (!a.output.empty()) {
    auto f = AtomicFile::Create(a.output);
    if (!f.ok()) return diag::Fail(f.status());
    manifest_file.emplace(std::move(*f));
  }
  std::optional<ChunkStore> store;
  if (!a.store.empty()) {
    auto st = ChunkStore::Open(a.store, {});
    if (!st.ok()) return diag::Fail(st.status());
    store.emplace(std::move(*st));
    o.store = &*store;
  }
  auto wallet = ReadWalletFile(a.wallet);
  if (!wallet.ok()) return diag::Fail(wallet.status());
  if (!a.key_in.empty()) {
    auto k = ReadKeyFile(a.key_in);
    if (!k.ok()) return diag::Fail(k.status());
    o.key = *k;
  } else if (a.encrypt || !a.key_out.empty()) {
    o.key = TrackKey::Generate();
    if (Status s = WriteKeyFile(a.key_out, *o.key); !s.ok()) return diag::Fail(s);
  }
  int fd = a.input == "-" ? 0 : open(a.input.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return diag::Fail(Status::BadInput("cannot open '" + a.input + "'"));
  o.on_announce = [](const Json& stream, const Hash256& id) {
    cli::PrintLine(Json{{"schema", "digm.live/1"}, {"id", HexEncode(id)}, {"stream", stream}});
  };
  o.on_node_error = [](const std::string& e) { diag::Warning(e); };
  bool quiet = a.quiet;
  o.on_head = [quiet](const TreeHead& h) {
    if (!quiet && h.ended) diag::Log("ended after " + std::to_string(h.size) + " chunks");
  };
  cli::StopOnSignal(&g_stop);  // the stream ends cleanly: the final head goes out
  auto r = PublishLive(fd, *wallet, o, &g_stop);
  if (!r.ok()) return diag::Fail(r.status());
  cli::PrintLine(Json{{"schema", "digm.live-ended/1"},
                      {"id", HexEncode(r->id)},
                      {"chunks", r->chunks.size()},
                      {"size", r->size},
                      {"root", HexEncode(r->root)},
                      {"source_sha256", HexEncode(r->source_sha256)},
                      {"stored_on", r->stored_on}});
  if (!r->sealed) {
    if (!manifest_file) return 0;
    return diag::Fail(
        Status::BadInput("the input was empty: there is no track to write to '" + a.output + "'"));
  }
  if (manifest_file) {
    Status s = manifest_file->Write(DumpDocument(ManifestToJson(*r->sealed)) + "\n");
    if (s.ok()) s = manifest_file->Commit();
    if (!s.ok()) return diag::Fail(s);
  }
  if (r->stored_on.empty()) {
    return diag::Fail(Status::Network("no node stored the sealed track " + HexEncode(r->root)));
  }
  return 0;
}

}  // namespace digm
