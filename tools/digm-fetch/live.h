// digm-fetch STREAM_ID --live: a live stream played from the live edge (or
// its start) as it grows, every head and chunk verified (SPEC §9). What it
// does is digm/live_fetch.h; this file checks flags and prints.
#pragma once

#include <atomic>
#include <csignal>

#include "cli.h"
#include "digm/fetch_command.h"
#include "digm/file.h"
#include "digm/hex.h"
#include "digm/live_fetch.h"

namespace digm {

inline std::atomic<bool> g_live_stop{false};

inline int ListenLive(CLI::App& app, FetchRequest& r, bool from_start, bool quiet) {
  for (const char* o :
       {"--receipt", "--preview", "--cache", "--no-cache", "--list-peers", "--progress", "--pay"}) {
    if (app.get_option(o)->count())
      return cli::UsageError(std::string(o) + " does not go with --live");
  }
  auto id = HexDecodeArray<32>(r.track);
  if (!IsHash(r.track) || !id.ok()) {
    return cli::UsageError("--live takes a stream id (64 hex digits), not '" + r.track + "'",
                           "digm-live ls --peer URL lists the live streams and their ids");
  }
  if (Status s = CheckKeyFlags(r); !s.ok()) return diag::Fail(s);
  LiveFetchOptions o;
  auto nodes = FindTrackNodes(r);  // given, the fresh index's, the DHT's, and their peers
  if (!nodes.ok()) return diag::Fail(nodes.status());
  o.peers = *nodes;
  o.from_start = from_start;
  o.timeout_ms = r.timeout_ms;
  auto keys = OpenRequestKeys(r);  // --key, or --wrapped opened with --wallet
  if (!keys.ok()) return diag::Fail(keys.status());
  o.key = keys->key;
  o.on_peer_error = [](const std::string& e) { diag::Warning(e); };
  if (!quiet) {
    o.on_stream = [](const Stream& s) {
      diag::Log("listening to " +
                (s.info.title.empty() ? "stream " + HexEncode(s.id).substr(0, 16) + "…"
                                      : "\"" + s.info.title + "\"") +
                (s.info.artist.empty() ? "" : " by " + s.info.artist));
    };
  }
  // SIGINT or SIGTERM end the listening as the stream's end does: what was
  // written is kept (-o FILE is committed) and it exits 0.
  cli::StopOnSignal(&g_live_stop);
  Json evidence;
  auto run = [&](int fd) { return FetchLive(*id, fd, o, &g_live_stop, &evidence); };
  Result<LiveFetchResult> got = Status::Ok();
  if (r.output == "-") {
    got = run(1);
  } else {
    auto out = AtomicFile::Create(r.output);
    if (!out.ok()) return diag::Fail(out.status());
    got = run(out->fd());
    if (got.ok()) {
      if (Status s = out->Commit(); !s.ok()) return diag::Fail(s);
    }
  }
  if (!got.ok()) {
    int rc = diag::Fail(got.status());
    if (!evidence.is_null()) {
      diag::Error(
          "the evidence (the accepted head, the offered one, and a node's proof when their sizes "
          "differ):");
      diag::Detail(DumpDocument(evidence));
    }
    return rc;
  }
  if (!quiet) {
    diag::Log(std::to_string(got->chunks) + " chunks (" + std::to_string(got->bytes) +
              " bytes) from chunk " + std::to_string(got->first) +
              (got->ended ? "; the stream has ended" : "; stopped"));
  }
  return 0;
}

}  // namespace digm
