/** Bounds-checked reads of binary file headers for the media probes. */

/** Bounds-checked big/little-endian reads; every method returns `undefined` past the end. */
export class ByteReader {
  readonly bytes: Uint8Array;
  readonly #view: DataView;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  u8(offset: number): number | undefined {
    return offset >= 0 && offset < this.bytes.length ? this.bytes[offset] : undefined;
  }

  u16be(offset: number): number | undefined {
    return this.#fits(offset, 2) ? this.#view.getUint16(offset) : undefined;
  }

  u32be(offset: number): number | undefined {
    return this.#fits(offset, 4) ? this.#view.getUint32(offset) : undefined;
  }

  u32le(offset: number): number | undefined {
    return this.#fits(offset, 4) ? this.#view.getUint32(offset, true) : undefined;
  }

  /** A 64-bit big-endian value as a number (exact up to 2^53). */
  u64be(offset: number): number | undefined {
    const high = this.u32be(offset);
    const low = this.u32be(offset + 4);
    return high === undefined || low === undefined ? undefined : high * 2 ** 32 + low;
  }

  ascii(offset: number, length: number): string | undefined {
    if (!this.#fits(offset, length)) return undefined;
    return String.fromCharCode(...this.bytes.subarray(offset, offset + length));
  }

  #fits(offset: number, length: number): boolean {
    return Number.isInteger(offset) && offset >= 0 && offset + length <= this.bytes.length;
  }
}
