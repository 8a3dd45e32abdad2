// Paying on an EVM chain (SPEC §8, chain backend). Each transfer becomes one
// EIP-155 value transfer from the payer's wallet, its `data` naming the
// receipt or purchase it pays. The ledger file keeps every signed
// transaction before it is broadcast and its hash once mined, keyed by
// (chain, reference, seq): a re-run, or a run after a crash, re-sends the
// same signed bytes or nothing, never a second payment.
#pragma once

#include <string>
#include <vector>

#include "digm/evm.h"
#include "digm/ledger.h"

namespace digm {

struct ChainPayment {
  std::string kind, ref;
  int seq = 0;        // numbers the transfers of one reference
  TransferSpec spec;  // spec.from is the payer's address
  Bytes data;
};

struct ChainTarget {
  std::string rpc;
  uint64_t chain_id = 0;
  long confirm_timeout_ms = 60000;
  long call_timeout_ms = 10000;  // each JSON-RPC call
};

// BadInput unless the RPC serves the target's chain id (nothing is sent then).
Status CheckChainId(evm::Rpc& rpc, const ChainTarget& target);

// Sends what is not yet paid on that chain, waits until mined, and returns
// the transfers mined in this run (in the order given). BadInput when the RPC
// serves another chain id; No (nothing sent) when the payer's balance cannot
// cover the values and gas; Network when the RPC cannot be reached or the
// transactions are not mined in time (they stay stored: re-run to go on).
Result<std::vector<Transfer>> PayOnChain(Ledger& ledger, const ChainTarget& target,
                                         const Wallet& payer,
                                         const std::vector<ChainPayment>& payments);

}  // namespace digm
