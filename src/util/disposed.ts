/**
 * Use after dispose(), one class hierarchy for every layer: the devices (src/gpu, src/native) throw
 * these, and the backend seam re-exports them, so `instanceof DisposedTensorError` holds for a
 * disposed tensor whichever backend, and whichever call (an op, read, view, write, copy, window).
 */

/** Something used after its dispose() (a tensor) or destroy() (a device, a backend). */
export class DisposedError extends Error {
  override readonly name: string = 'DisposedError';
}

/** A tensor used after its dispose(): `relu: tensor [4] used after dispose()`. */
export class DisposedTensorError extends DisposedError {
  override readonly name: string = 'DisposedTensorError';
}
