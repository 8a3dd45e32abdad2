// libtorrent's disk I/O for digm (SPEC §11): a torrent's one file is read
// from the chunk files it is laid over, so a node seeds from its store with
// no second copy of the data; a download gathers each piece in memory and
// keeps it there, and in an unlinked temporary file, until it is taken.
// Jobs run on two threads of their own and complete on libtorrent's network
// thread. Only the BitTorrent translation units include this.
#pragma once

#include <cstdint>
#include <functional>
#include <libtorrent/disk_interface.hpp>
#include <libtorrent/info_hash.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/torrent_info.hpp>
#include <memory>
#include <string>

#include "bt/storage.h"

namespace digm::bt {

// The storage of a torrent libtorrent adds; null: none (every job fails).
using StorageFinder = std::function<std::shared_ptr<Storage>(const lt::storage_params&)>;

lt::disk_io_constructor_type DiskIoConstructor(StorageFinder find);

// The v1 infohash as 40 hex digits, the v2 one as a multihash ("1220" + 64
// hex digits); each empty when the torrent has none.
std::string Btih(const lt::info_hash_t& hashes);
std::string Btmh(const lt::info_hash_t& hashes);
// The non-pad files of a torrent; a track's torrent has one.
int RealFiles(const lt::torrent_info& ti);

}  // namespace digm::bt
