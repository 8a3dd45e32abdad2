// Imports a file with ipfs-unixfs-importer (raw leaves, 256 KiB chunks, CIDv1)
// into a blockstore that keeps nothing, like `ipfs add --only-hash`, and prints
// the root CID and the seconds it took.
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import fs from 'node:fs'

const file = process.argv[2]
const blockstore = {
  put: async (cid) => cid,
  has: async () => false,
  get: async () => { throw new Error('this blockstore keeps nothing') },
}
const start = performance.now()
let root
const source = [{ path: 'input', content: fs.createReadStream(file, { highWaterMark: 1 << 20 }) }]
for await (const entry of importer(source, blockstore, {
  rawLeaves: true,
  cidVersion: 1,
  chunker: fixedSize({ chunkSize: 262144 }),
})) {
  root = entry.cid
}
console.log(JSON.stringify({ seconds: (performance.now() - start) / 1000, cid: root.toString() }))
