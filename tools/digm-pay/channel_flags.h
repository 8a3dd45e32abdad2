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
#include "pay_flags.h"

namespace digm {

struct ChannelFlags {
  ChannelOpenRequest open;
  std::string channel, wallet, bytecode;
  CLI::App *cmd = nullptr, *open_cmd = nullptr, *redeem = nullptr, *refund = nullptr,
           *show = nullptr, *deploy = nullptr;
};

inline void AddChannelFlags(CLI::App& app, ChannelFlags& f, ChainFlags& chain) {
  const char* in_contract = "the channel is in a contract on a chain";
  auto channel_arg = [&](CLI::App* c) {
    c->add_option("CHANNEL", f.channel, "a digm.channel/1 file or a channel id")
        ->required()
        ->type_name("");
  };
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
  f.open_cmd->add_option("--contract", f.open.contract, "with --chain: the channel contract")
      ->type_name("ADDRESS");
  AddChainFlags(f.open_cmd, chain, in_contract);
  f.deploy =
      f.cmd->add_subcommand("deploy", "put the channel contract on a chain; print its address");
  f.deploy->add_option("--bytecode", f.bytecode, "its init code, hex (solc --bin)")
      ->required()
      ->type_name("FILE");
  f.deploy->add_option("--wallet", chain.wallet, "the wallet that pays for it")
      ->required()
      ->type_name("FILE");
  AddChainFlags(f.deploy, chain, in_contract);
  f.redeem = f.cmd->add_subcommand(
      "redeem", "pay the payees the digm.voucher/1 lines on stdin (from digm-seed vouchers)");
  f.redeem->add_option("--wallet", chain.wallet, "with --chain: the payee's wallet, which sends")
      ->type_name("FILE");
  AddChainFlags(f.redeem, chain, in_contract);
  f.refund = f.cmd->add_subcommand("refund", "after expiry, give the payer back what is left");
  channel_arg(f.refund);
  f.refund->add_option("--wallet", f.wallet, "the payer's wallet")->required()->type_name("FILE");
  AddChainFlags(f.refund, chain, in_contract);
  f.show = f.cmd->add_subcommand("show", "print a channel's digm.channel-state/1");
  channel_arg(f.show);
  AddChainFlags(f.show, chain, in_contract);
}

// UseChain for a channel command: the payer signs open and refund, the
// payee redeem, and show only reads (no wallet).
inline Status UseChannelChain(PayBackend& b, ChainFlags chain, const ChannelFlags& f) {
  if (chain.chain.empty() || !f.show->parsed()) {
    if (!chain.chain.empty() && f.open_cmd->parsed()) chain.wallet = f.open.payer_wallet;
    if (!chain.chain.empty() && f.refund->parsed()) chain.wallet = f.wallet;
    return UseChain(b, chain);
  }
  if (chain.target.rpc.empty() || chain.target.chain_id == 0)
    return Status::Usage("--chain evm needs --rpc URL and --chain-id ID");
  b.chain = chain.target;
  b.chain->confirm_timeout_ms = chain.confirm_timeout_s * 1000;
  return Status::Ok();
}

inline int RunChannel(const PayBackend& b, const ChannelFlags& f) {
  if (f.deploy->parsed()) {
    auto doc = ChannelDeploy(b, f.bytecode);
    if (!doc.ok()) return diag::Fail(doc.status());
    cli::PrintLine(*doc);
    return 0;
  }
  if (f.open_cmd->parsed()) {
    auto doc = ChannelOpen(b, f.open, nullptr);
    if (!doc.ok()) return diag::Fail(doc.status());
    cli::PrintLine(*doc);
    return 0;
  }
  if (f.redeem->parsed()) {
    if (fcntl(0, F_GETFD) == -1)
      return diag::Fail(Status::BadInput("stdin is closed: give the vouchers on stdin"));
    return PrintPosted(ChannelRedeem(b, std::cin));
  }
  if (f.refund->parsed()) return PrintPosted(ChannelRefund(b, f.channel, f.wallet));
  auto state = ChannelShow(b, f.channel);
  if (!state.ok()) return diag::Fail(state.status());
  cli::PrintLine(*state);
  return 0;
}

}  // namespace digm
