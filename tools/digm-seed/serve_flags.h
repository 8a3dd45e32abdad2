// The flags of digm-seed serve, into the node's options.
#pragma once

#include <string>
#include <vector>

#include "digm/seed_node.h"
#include "flags.h"

namespace digm {

inline void AddServeFlags(CLI::App* serve, SeedOptions& so, std::vector<std::string>& allow) {
  auto seconds = CLI::Range(1, 86400);
  serve
      ->add_option("-l,--listen", so.listen, "address and port to listen on (port 0: any free one)")
      ->capture_default_str()
      ->type_name("HOST:PORT");
  serve->add_option("--url", so.url, "URL others reach this node at (default: http://LISTEN)")
      ->type_name("URL");
  serve->add_option("-p,--peer", so.bootstrap, "a node to gossip with from the start (repeatable)")
      ->type_name("URL");
  serve->add_option("--allow-publisher", allow, "accept pins only from this address (repeatable)")
      ->type_name("ADDRESS");
  serve
      ->add_option("--gossip-interval", so.gossip_interval_s,
                   "seconds between gossip and repair rounds")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600))
      ->type_name("S");
  serve->add_option("--peer-ttl", so.peer_ttl_s, "seconds a silent peer is still believed alive")
      ->capture_default_str()
      ->check(seconds)
      ->type_name("S");
  serve
      ->add_option("--stale-after", so.stream_stale_after_s,
                   "seconds a live stream unheard from stays listed")
      ->capture_default_str()
      ->check(seconds)
      ->type_name("S");
  cli::AddServerFlags(serve, so.limits);
  serve->add_flag("--dht", so.dht, "announce the tracks held here on the BitTorrent mainline DHT");
  cli::AddDhtFlags(serve, so.dht_options, "0.0.0.0:6881", true);
  serve
      ->add_option("--dht-announce-interval", so.dht_announce_interval_s,
                   "seconds between announcements")
      ->capture_default_str()
      ->check(seconds)
      ->type_name("S");
  serve
      ->add_option("--dht-peer-ttl", so.dht_options.peer_ttl_s,
                   "seconds this node keeps others' announcements")
      ->capture_default_str()
      ->check(seconds)
      ->type_name("S");
  serve->add_flag("--dht-port-mapping", so.dht_options.port_mapping,
                  "map the DHT port with UPnP and NAT-PMP");
  serve->add_flag("--bittorrent", so.bittorrent,
                  "seed every complete track over BitTorrent, from the chunk store");
  serve
      ->add_option("--bt-listen", so.bt_listen,
                   "BitTorrent address (repeatable; default: the DHT's, or 0.0.0.0:6881)")
      ->type_name("HOST:PORT");
}

}  // namespace digm
