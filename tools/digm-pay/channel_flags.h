// digm-pay channel open|redeem|refund|show (SPEC §12): flags, and running
// whichever was given.
#pragma once

#include <fcntl.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "cli.h"
#include "diag.h"
#include "digm/pay_commands.h"

namespace digm {

struct ChannelFlags {
  ChannelOpenRequest open;
  std::string channel, wallet;
  CLI::App *cmd = nullptr, *open_cmd = nullptr, *redeem = nullptr, *refund = nullptr,
           *show = nullptr;
};

inline void AddChannelFlags(CLI::App& app, ChannelFlags& f) {
  f.cmd = app.add_subcommand("channel", "pay per chunk: lock money for a node, redeem vouchers")
              ->require_subcommand(1, 1);
  f.open_cmd = f.cmd->add_subcommand("open", "lock money for one payee; print the digm.channel/1");
  f.open_cmd->add_option("--payer", f.open.payer_wallet, "the payer's wallet")
      ->required()
      ->type_name("WALLET");
  f.open_cmd->add_option("--to", f.open.payee, "the payee's address (a node's node_id)")
      ->required()
      ->type_name("ADDRESS");
  f.open_cmd->add_option("--amount", f.open.amount, "how much to lock, e.g. 1.5")
      ->required()
      ->type_name("A");
  f.open_cmd->add_option("--expires", f.open.days, "days until the payer may take the rest back")
      ->capture_default_str()
      ->type_name("DAYS");
  f.redeem = f.cmd->add_subcommand(
      "redeem", "pay the payees the digm.voucher/1 lines on stdin (from digm-seed vouchers)");
  f.refund = f.cmd->add_subcommand("refund", "after expiry, give the payer back what is left");
  f.refund->add_option("CHANNEL", f.channel, "a digm.channel/1 file or a channel id")
      ->required()
      ->type_name("");
  f.refund->add_option("--wallet", f.wallet, "the payer's wallet")->required()->type_name("FILE");
  f.show = f.cmd->add_subcommand("show", "print a channel's digm.channel-state/1");
  f.show->add_option("CHANNEL", f.channel, "a digm.channel/1 file or a channel id")
      ->required()
      ->type_name("");
}

inline int RunChannel(const PayBackend& b, const ChannelFlags& f) {
  auto print = [](const Result<Posted>& r) {
    if (!r.ok()) return diag::Fail(r.status());
    for (const auto& t : r->transfers) cli::PrintLine(t.ToJson());
    return 0;
  };
  if (f.open_cmd->parsed()) {
    auto doc = ChannelOpen(b, f.open, nullptr);
    if (!doc.ok()) return diag::Fail(doc.status());
    cli::PrintLine(*doc);
    return 0;
  }
  if (f.redeem->parsed()) {
    if (fcntl(0, F_GETFD) == -1)
      return diag::Fail(Status::BadInput("stdin is closed: give the vouchers on stdin"));
    return print(ChannelRedeem(b, std::cin));
  }
  if (f.refund->parsed()) return print(ChannelRefund(b, f.channel, f.wallet));
  auto state = ChannelShow(b, f.channel);
  if (!state.ok()) return diag::Fail(state.status());
  cli::PrintLine(*state);
  return 0;
}

}  // namespace digm
