// digm-live: live streams (SPEC §9). publish: encoded audio read as it
// arrives -> chunks and signed heads on every --node; ls: the live streams
// the given nodes list. What publish does is digm/live_publish.h.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <map>
#include <optional>

#include "cli.h"
#include "digm/http.h"
#include "digm/http_client.h"
#include "digm/live_publish.h"
#include "ls.h"
#include "publish.h"

namespace {

using namespace digm;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Publish a live stream to nodes, or list the live streams.", "digm-live");
  cli::Init(app, "digm-live");
  app.require_subcommand(1, 1);
  PublishArgs a;
  LivePublishOptions o;
  ListArgs l;
  auto* publish = app.add_subcommand("publish", "stream audio read as it arrives to nodes");
  publish->add_option("INPUT", a.input, "encoded audio (e.g. ffmpeg -re ... -f mp3 -), - for stdin")
      ->type_name("");
  publish->add_option("--wallet", a.wallet, "the publisher's wallet")
      ->required()
      ->type_name("FILE");
  publish->add_option("--node", o.nodes, "a node to publish to (repeatable)")
      ->required()
      ->type_name("URL");
  publish->add_option("--title", o.info.title, "the stream's title")->type_name("T");
  publish->add_option("--artist", o.info.artist, "the stream's artist")->type_name("A");
  publish->add_option("--mime", o.info.mime, "the audio's type")
      ->capture_default_str()
      ->type_name("M");
  publish->add_option("--bitrate", o.info.bitrate, "bits per second, as declared")->type_name("B");
  publish->add_option("--part-ms", o.info.part_ms, "milliseconds of input per chunk")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{10}, uint64_t{60000}))
      ->type_name("MS");
  publish->add_flag("-e,--encrypt", a.encrypt, "seal every chunk under a new track key");
  publish->add_option("--key-out", a.key_out, "write the new track key here (mode 0600)")
      ->type_name("FILE");
  publish->add_option("-k,--key", a.key_in, "seal under the key in this file")->type_name("FILE");
  publish->add_option("-o,--output", a.output, "write the sealed manifest here at the end")
      ->type_name("MANIFEST");
  publish->add_option("-s,--store", a.store, "also keep every chunk in this folder")
      ->type_name("DIR");
  publish->add_option("-r,--replicas", o.replicas, "copies of the sealed track to keep")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{64}))
      ->type_name("N");
  publish->add_option("--days", o.pin_days, "how long the sealed track's pin lasts")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{36500}))
      ->type_name("D");
  publish->add_flag("-q,--quiet", a.quiet, "print nothing on stderr but errors");
  auto* ls = app.add_subcommand("ls", "print the live streams the nodes list (NDJSON)");
  ls->add_option("-p,--peer", l.peers, "a node to ask (repeatable)")->type_name("URL");
  ls->add_flag("--dht", l.use_dht, "also ask the nodes that announce a directory on the DHT");
  cli::AddDhtFlags(ls, l.dht, "any free port", false);
  ls->add_option("--dht-timeout", l.dht_timeout_s, "seconds to look for nodes on the DHT")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600))
      ->type_name("S");
  ls->add_option("-q,--query", l.query, "only streams whose title or artist holds this")
      ->type_name("Q");
  if (int rc = cli::Parse(app, argc, argv); rc >= 0) return rc;
  if (ls->parsed()) return List(*ls, l);
  return Publish(a, o);
}
