// node:crypto behind the hash interface @smithy/signature-v4 takes (its own, @smithy/hash-node, is not
// installed with the SDK): the reference signer that src/aws/sigv4.ts is measured and tested against.

import { createHash, createHmac } from 'node:crypto'

type Data = string | ArrayBuffer | ArrayBufferView
const view = (d: Data) => (typeof d === 'string' ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d))

export class Sha256 {
  private readonly hash
  constructor(secret?: Data) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', view(secret))
  }
  update(data: Data): void {
    this.hash.update(view(data))
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest())
  }
}
