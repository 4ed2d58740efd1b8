/**
 * Small writes packed into shared GPU buffers ("blocks"): each write takes a slot, filled in one CPU
 * shadow, and the block reaches its buffer with a single queue.writeBuffer when it is sealed (full, or
 * before the submit that uses it). N writes then cost one buffer (one allocation, one out-of-memory
 * scope) and one writeBuffer instead of N of each. The Gpu keeps two: uniform structs, and the
 * staging of small uploads into buffers the open encoder already uses.
 *
 * Queue order makes this safe: a sealed block's writeBuffer lands before the submit that reads it
 * (sealing comes first), and a block reused after that submit is written again only after the
 * submitted work in queue order. writeBuffer copies its data at the call, so one shadow serves all.
 */
export interface BlockSlot {
  buffer: GPUBuffer;
  offset: number;
}

export interface BlockOptions {
  blockBytes: number;
  usage: GPUBufferUsageFlags;
  /** Slot offsets are multiples of this (a uniform binding's offset alignment; 4 for copy sources). */
  alignBytes: number;
  /** Free blocks kept for reuse; more are destroyed once their submit is done with them. */
  maxFree?: number;
}

export class BlockArena {
  private open: { buf: GPUBuffer; used: number } | null = null;
  /** Sealed blocks that the open encoder reads (free again once it is submitted). */
  private pending: GPUBuffer[] = [];
  private free: GPUBuffer[] = [];
  private readonly shadow: Uint8Array;
  /** Blocks allocated so far (each one createBuffer). */
  created = 0;

  constructor(
    private readonly device: GPUDevice,
    /** Allocates a block (the pool's createBuffer: in an out-of-memory scope). */
    private readonly createBuffer: (desc: GPUBufferDescriptor) => GPUBuffer,
    readonly opts: BlockOptions,
  ) {
    this.shadow = new Uint8Array(opts.blockBytes);
  }

  /**
   * A slot of `size` bytes holding `data` then zeros (size >= data.byteLength, <= blockBytes). The
   * open block is sealed first where the slot would overflow it; then a free block, else a new one.
   */
  slot(data: Uint8Array, size = data.byteLength): BlockSlot {
    const { blockBytes, alignBytes } = this.opts;
    if (this.open && this.open.used + size > blockBytes) this.seal();
    if (!this.open) {
      let buf = this.free.pop();
      if (!buf) {
        buf = this.createBuffer({ size: blockBytes, usage: this.opts.usage });
        this.created++;
      }
      this.open = { buf, used: 0 };
    }
    const b = this.open;
    const offset = b.used;
    this.shadow.set(data, offset);
    if (size > data.byteLength) this.shadow.fill(0, offset + data.byteLength, offset + size);
    b.used = Math.ceil((offset + size) / alignBytes) * alignBytes;
    return { buffer: b.buf, offset };
  }

  /** Writes the open block to its buffer (ahead of any submit that reads it). */
  seal(): void {
    const b = this.open;
    if (!b) return;
    this.open = null;
    this.device.queue.writeBuffer(b.buf, 0, this.shadow.buffer, this.shadow.byteOffset, Math.min(b.used, this.opts.blockBytes));
    this.pending.push(b.buf);
  }

  /** After the submit of everything sealed: those blocks serve again (queue order protects them). */
  submitted(): void {
    const keep = Math.max(0, (this.opts.maxFree ?? Infinity) - this.free.length);
    for (const b of this.pending.splice(keep)) b.destroy(); // freed once their work is done
    this.free.push(...this.pending);
    this.pending = [];
  }

  /** Destroys the free blocks `refused` names (allocations the device refused: every use fails). */
  dropFree(refused: (buf: GPUBuffer) => boolean): void {
    for (const b of this.free.filter(refused)) b.destroy();
    this.free = this.free.filter((b) => !refused(b));
  }

  get freeBlocks(): number {
    return this.free.length;
  }

  /** Destroys the free blocks (call after the last submit). */
  destroy(): void {
    for (const b of this.free) b.destroy();
    this.free = [];
  }
}
