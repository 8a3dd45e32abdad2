#include "digm/chain_pay.h"

#include <chrono>
#include <thread>

namespace digm {
namespace {

using evm::Wei;

Status ParseStoredHash(const ChainSend& c, Hash256* hash) {
  Status s = c.tx_hash.size() == 66 ? HexDecodeInto(std::string_view(c.tx_hash).substr(2), *hash)
                                    : Status::BadInput("bad length");
  if (!s.ok())
    return Status::BadInput("ledger: transaction hash of send " + std::to_string(c.id) +
                            " is damaged");
  return Status::Ok();
}

std::string WeiText(Wei wei) { return FormatAmount(static_cast<__int128>(wei), 18); }

struct Signer {
  const ChainTarget& target;
  const Wallet& payer;
  Wei gas_price = 0;
  uint64_t nonce = 0;

  // Signs `c` with the next nonce, filling nonce, raw and tx_hash.
  void Sign(ChainSend& c, const Bytes& data) {
    evm::LegacyTx tx;
    tx.nonce = nonce++;
    tx.gas_price = gas_price;
    tx.gas = evm::IntrinsicGas(data);
    tx.to = *ParseAddress(c.spec.to);
    tx.value = AsWei(c.spec.amount, ParseAsset(c.spec.asset)->decimals);
    tx.data = data;
    Bytes raw = evm::SignTx(tx, target.chain_id, payer);
    c.nonce = tx.nonce;
    c.raw = HexEncode(raw);
    c.tx_hash = evm::DataHex(evm::TxHash(raw));
    c.state = "signed";
  }
};

// Broadcasts a stored send. Returns false when the chain has moved past its
// nonce without it (it can never be mined and must be signed again).
Result<bool> Broadcast(evm::Rpc& rpc, const Address& payer, const ChainSend& c) {
  Hash256 hash;
  DIGM_RETURN_IF_ERROR(ParseStoredHash(c, &hash));
  DIGM_ASSIGN_OR_RETURN(Bytes raw, HexDecode(c.raw));
  auto sent = rpc.SendRaw(raw);
  if (sent.ok()) return true;
  if (sent.status().code() != Code::kNo) return sent.status();
  // Refused: already known or mined (fine), or its nonce was used by another transaction.
  DIGM_ASSIGN_OR_RETURN(bool known, rpc.Knows(hash));
  if (known) return true;
  DIGM_ASSIGN_OR_RETURN(uint64_t mined, rpc.Nonce(payer, "latest"));
  if (mined > c.nonce) return false;
  return sent.status().Context("sending " + c.tx_hash);
}

}  // namespace

Status CheckChainId(evm::Rpc& rpc, const ChainTarget& target) {
  DIGM_ASSIGN_OR_RETURN(uint64_t chain_id, rpc.ChainId());
  if (chain_id != target.chain_id) {
    return Status::BadInput("the chain at " + target.rpc + " has chain id " +
                            std::to_string(chain_id) + ", not " + std::to_string(target.chain_id) +
                            "; nothing was sent");
  }
  return Status::Ok();
}

Result<std::vector<Transfer>> PayOnChain(Ledger& ledger, const ChainTarget& target,
                                         const Wallet& payer,
                                         const std::vector<ChainPayment>& payments) {
  evm::Rpc rpc(target.rpc, target.call_timeout_ms);
  DIGM_RETURN_IF_ERROR(CheckChainId(rpc, target));
  const std::string from = AddressToString(payer.address);

  // What each payment is at: mined (skip), stored (send again), or new.
  std::vector<ChainSend> sends;       // every payment not yet mined, in order
  std::vector<const Bytes*> data_of;  // its data, for (re-)signing
  std::vector<size_t> to_sign;        // indexes into sends: new, or dropped by the chain
  for (const auto& p : payments) {
    if (p.spec.amount <= 0) continue;
    if (p.spec.from != from) {
      return Status::Usage("the transfer " + p.ref + " is paid by " + p.spec.from +
                           ", not by the wallet " + from);
    }
    DIGM_ASSIGN_OR_RETURN(auto found, ledger.FindChainSend(target.chain_id, p.ref, p.seq));
    if (found && found->state == "mined") continue;
    if (found) {
      sends.push_back(*found);
    } else {
      ChainSend c;
      c.chain_id = target.chain_id;
      c.kind = p.kind;
      c.ref = p.ref;
      c.seq = p.seq;
      c.spec = p.spec;
      sends.push_back(std::move(c));
    }
    data_of.push_back(&p.data);
  }

  // Stored sends first: mined meanwhile, still waiting, or to be signed anew.
  for (size_t i = 0; i < sends.size(); ++i) {
    ChainSend& c = sends[i];
    if (c.id == 0 || c.state == "failed") {
      to_sign.push_back(i);
      continue;
    }
    DIGM_ASSIGN_OR_RETURN(bool alive, Broadcast(rpc, payer.address, c));
    if (!alive) to_sign.push_back(i);
  }

  if (!to_sign.empty()) {
    Signer signer{target, payer};
    DIGM_ASSIGN_OR_RETURN(signer.gas_price, rpc.GasPrice());
    DIGM_ASSIGN_OR_RETURN(signer.nonce, rpc.Nonce(payer.address, "pending"));
    Wei needed = 0;
    for (size_t i : to_sign) {
      const ChainSend& c = sends[i];
      needed += AsWei(c.spec.amount, ParseAsset(c.spec.asset)->decimals) +
                Wei{evm::IntrinsicGas(*data_of[i])} * signer.gas_price;
    }
    DIGM_ASSIGN_OR_RETURN(Wei balance, rpc.Balance(payer.address));
    if (balance < needed) {
      return Status::No("the balance of " + from + " on chain " + std::to_string(target.chain_id) +
                        " is short by " + WeiText(needed - balance) +
                        " (in the chain's coin, gas included); nothing was sent");
    }
    std::vector<ChainSend> fresh;
    for (size_t i : to_sign) {
      signer.Sign(sends[i], *data_of[i]);
      if (sends[i].id != 0)
        DIGM_RETURN_IF_ERROR(ledger.UpdateChainSend(sends[i]));
      else
        fresh.push_back(sends[i]);
    }
    // Stored before any is broadcast: a crash from here on re-sends these same bytes.
    DIGM_RETURN_IF_ERROR(ledger.AddChainSends(fresh));
    for (size_t i = 0, f = 0; i < to_sign.size(); ++i) {
      ChainSend& c = sends[to_sign[i]];
      if (c.id == 0) {
        c.id = fresh[f].id;
        c.created = fresh[f++].created;
      }
      DIGM_ASSIGN_OR_RETURN(bool alive, Broadcast(rpc, payer.address, c));
      if (!alive) {
        return Status::No("the chain dropped " + c.tx_hash + " (nonce " + std::to_string(c.nonce) +
                          " was used by another transaction of " + from + "); run again");
      }
    }
  }

  // Wait until every send is mined.
  std::vector<Transfer> mined;
  std::vector<bool> done(sends.size(), false);
  size_t left = sends.size();
  std::string failed;
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(target.confirm_timeout_ms);
  auto pause = std::chrono::milliseconds(20);
  while (left > 0) {
    for (size_t i = 0; i < sends.size(); ++i) {
      if (done[i]) continue;
      Hash256 hash;
      DIGM_RETURN_IF_ERROR(ParseStoredHash(sends[i], &hash));
      DIGM_ASSIGN_OR_RETURN(auto receipt, rpc.Receipt(hash));
      if (!receipt) continue;
      done[i] = true;
      --left;
      sends[i].block = receipt->block;
      sends[i].state = receipt->success ? "mined" : "failed";
      DIGM_RETURN_IF_ERROR(ledger.UpdateChainSend(sends[i]));
      if (receipt->success)
        mined.push_back(sends[i].AsTransfer());
      else
        failed += (failed.empty() ? "" : ", ") + sends[i].tx_hash;
    }
    if (left == 0) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Network(
          std::to_string(left) + " transaction(s) not mined within " +
          std::to_string(target.confirm_timeout_ms / 1000) +
          " s; they are stored signed in the ledger: run again to wait for them");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(1000));
  }
  if (!failed.empty()) {
    return Status::No("the chain mined but reverted " + failed + "; run again to pay anew");
  }
  return mined;
}

}  // namespace digm
