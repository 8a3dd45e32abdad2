// The flags of digm-seed serve, into the node's options.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "cli.h"
#include "digm/channel_pay.h"
#include "digm/seed_node.h"
#include "flags.h"

namespace digm {

// The price flags as given; Serve parses them (ServePrice).
struct PriceFlags {
  std::string per_mb, asset = "XFG";
  uint64_t credit = 1 << 20;
  int64_t channel_margin = 3600;
  // Where the channels it is paid through are checked.
  std::string ledger = std::getenv("DIGM_LEDGER") ? std::getenv("DIGM_LEDGER") : "";
  std::string chain, contract;
  ChainTarget target;
};

inline void AddServeFlags(CLI::App* serve, SeedOptions& so, std::vector<std::string>& allow,
                          PriceFlags& price) {
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
  serve
      ->add_option("--price-per-mb", price.per_mb,
                   "charge this per 1,000,000 bytes sent (SPEC §12)")
      ->type_name("P");
  serve->add_option("--asset", price.asset, "what the price is in: XFG or PARA")
      ->capture_default_str()
      ->check(CLI::IsMember({"XFG", "PARA"}));
  cli::AddBytesOption(serve, "--credit", &price.credit, "bytes sent unpaid to a paying client",
                      "1M")
      ->default_str("1M");
  serve
      ->add_option("--channel-margin", price.channel_margin,
                   "seconds before a channel expires from which it is refused (time to redeem)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, static_cast<int64_t>(kMaxChannelMargin)))
      ->type_name("S");
  serve
      ->add_option("--ledger", price.ledger,
                   "with --price-per-mb: take channels opened in this ledger (default "
                   "$DIGM_LEDGER)")
      ->type_name("FILE");
  serve
      ->add_option("--chain", price.chain,
                   "with --price-per-mb: take channels in contracts on this chain")
      ->check(CLI::IsMember({"evm"}))
      ->type_name("evm");
  serve->add_option("--rpc", price.target.rpc, "with --chain: the chain's JSON-RPC URL")
      ->type_name("URL");
  serve
      ->add_option("--chain-id", price.target.chain_id,
                   "with --chain: the chain id the RPC must serve (EIP-155)")
      ->type_name("ID");
  serve
      ->add_option("--contract", price.contract,
                   "with --chain: the channel contract whose channels are taken")
      ->type_name("ADDRESS");
  cli::AddBytesOption(serve, "--max-storage", &so.max_storage,
                      "hold at most this many bytes of chunks; more is refused (507)", "20G",
                      /*nonzero=*/true);
  serve->add_flag("--bittorrent", so.bittorrent,
                  "seed every complete track over BitTorrent, from the chunk store");
  serve
      ->add_option(
          "--bt-listen", so.bt_listen,
          "BitTorrent address, TCP and UDP (repeatable; default: the DHT's, or 0.0.0.0:6881 "
          "and 127.0.0.1:6881; a taken port exits 5; port 0: the system picks)")
      ->type_name("HOST:PORT");
}

// Sets so.price (with its credit) from the flags; -1, or the exit code of a usage error.
inline int ServePrice(CLI::App* serve, const PriceFlags& f, SeedOptions& so) {
  if (f.per_mb.empty()) {
    for (const char* o : {"--asset", "--credit", "--channel-margin", "--ledger", "--chain", "--rpc",
                          "--chain-id", "--contract"}) {
      if (serve->get_option(o)->count())
        return cli::UsageError(std::string(o) + " goes with --price-per-mb");
    }
    return -1;
  }
  Asset asset = *ParseAsset(f.asset);
  auto per_mb = ParseAmount(f.per_mb, asset.decimals);
  if (!per_mb.ok()) return cli::UsageError("--price-per-mb: " + per_mb.status().message());
  so.price = Price{asset, *per_mb, f.credit, f.channel_margin};
  // A channel is its payer's word: the node asks where its money is held.
  ChannelFunds funds{.ledger = f.ledger};
  bool any_chain =
      !f.chain.empty() || !f.target.rpc.empty() || f.target.chain_id != 0 || !f.contract.empty();
  bool all_chain =
      !f.chain.empty() && !f.target.rpc.empty() && f.target.chain_id != 0 && !f.contract.empty();
  if (any_chain && !all_chain) {
    return cli::UsageError(
        "--chain evm, --rpc URL, --chain-id ID and --contract ADDRESS go together");
  }
  if (all_chain) {
    auto contract = ParseAddress(f.contract);
    if (!contract.ok()) return cli::UsageError("--contract: " + contract.status().message());
    funds.chain = f.target;
    funds.chain->call_timeout_ms = 2000;  // new channels wait on it, one at a time
    funds.contract = *contract;
  }
  if (!funds.ledger.empty() && access(funds.ledger.c_str(), F_OK) != 0) {
    diag::Warning("no ledger at '" + funds.ledger +
                  "' yet: no channel in a ledger is taken until one is opened there");
  }
  if (funds.ledger.empty() && !funds.chain) {
    return cli::UsageError(
        "a node that charges checks that each channel it is paid through holds its money: give "
        "--ledger FILE (or set DIGM_LEDGER) for channels in a ledger, or --chain evm --rpc URL "
        "--chain-id ID --contract ADDRESS for channels in a contract");
  }
  so.check_channel = [funds](const Channel& c) { return CheckChannelFunds(funds, c); };
  return -1;
}

}  // namespace digm
