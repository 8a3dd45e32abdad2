// digm-live ls: the live streams of the given nodes, and with --dht of the
// nodes announcing a directory on the DHT (StreamDirectoryKey), merged by
// id with the holders of each together; only verified documents printed.
#pragma once

#include <map>
#include <set>

#include "cli.h"
#include "digm/dht.h"
#include "digm/http.h"
#include "digm/http_client.h"
#include "digm/stream.h"
#include "flags.h"

namespace digm {

struct ListArgs {
  std::vector<std::string> peers;
  std::string query;
  bool use_dht = false;
  DhtOptions dht;
  long dht_timeout_s = 10;
  ListArgs() {
    dht.default_port = 0;  // any free port
    dht.read_only = true;  // a lookup, gone in seconds
    // No TLS of its own, and started before the command has other threads.
    dht.https_trackers = false;
  }
};

inline int List(CLI::App& ls, ListArgs& a) {
  if (!a.use_dht) {
    for (const char* o : {"--dht-bootstrap", "--dht-listen", "--dht-timeout"}) {
      if (ls.get_option(o)->count()) return cli::UsageError(std::string(o) + " goes with --dht");
    }
    if (a.peers.empty()) return cli::UsageError("no node to ask", "add --peer URL, or --dht");
  } else {
    if (int rc = cli::CheckDhtFlags(a.dht); rc >= 0) return rc;
    cli::DhtDebugLog(a.dht);
    auto dht = Dht::Start(a.dht);
    if (!dht.ok()) return diag::Fail(dht.status());
    auto found = (*dht)->FindPeers(StreamDirectoryKey(), std::chrono::seconds(a.dht_timeout_s));
    if (found.empty() && a.peers.empty()) {
      return diag::Fail(
          Status::Network("no node on the DHT announces a stream directory (looked for " +
                          std::to_string(a.dht_timeout_s) + " s)"));
    }
    a.peers.insert(a.peers.end(), found.begin(), found.end());
  }
  std::map<std::string, Json> streams;
  std::map<std::string, std::set<std::string>> holders;
  std::vector<std::string> order;
  std::set<std::string> asked;
  size_t answered = 0;
  for (const auto& peer : a.peers) {
    if (!asked.insert(BaseUrl(peer)).second) continue;
    std::string url =
        BaseUrl(peer) + "/streams" + (a.query.empty() ? "" : "?q=" + PercentEncode(a.query));
    auto r = HttpCall("GET", url, "", {.max_body = kMaxGossipReply});
    auto list = r.ok() && r->status == 200 ? ParseJson(r->body) : Result<Json>(Status::Network(""));
    if (!list.ok() || !list->is_array()) {
      diag::Warning(BaseUrl(peer) + ": no stream directory");
      continue;
    }
    ++answered;
    for (const auto& s : *list) {
      auto stream =
          s.is_object() ? ReadStreamDocument(s.value("stream", Json())) : Status::BadInput("");
      if (!stream.ok() || StringOr(s, "id") != HexEncode(stream->id)) continue;  // only verified
      std::string id = StringOr(s, "id");
      auto [it, fresh] = streams.emplace(id, s);
      if (fresh) {
        order.push_back(id);
        it->second["holders"] = Json::array();
      }
      if (!s.contains("holders") || !s["holders"].is_array()) continue;
      for (const auto& h : s["holders"]) {  // each holder once, in the order heard
        if (h.is_string() && holders[id].insert(h.get<std::string>()).second)
          it->second["holders"].push_back(h);
      }
    }
  }
  if (answered == 0)
    return diag::Fail(Status::Network("no node answered with its stream directory"));
  for (const auto& id : order) cli::PrintLine(streams[id]);
  return 0;
}

}  // namespace digm
