/**
 * The one distinction the command line makes between errors: is the message written for the person
 * running wgnas, or is it a bug?
 *
 * A UserFacingError says what is wrong with a file, a setting, the disk or a service, and what to
 * do: `wgnas` prints its message alone (`wgnas score: cannot write 's.csv': ...`). Any other error
 * (a TypeError, a RangeError from an argument check, a shape mismatch between kernels) is a bug in
 * wgnas and keeps its class name on the line (`wgnas score: TypeError: ...`), with its stack under
 * --verbose.
 */
export class UserFacingError extends Error {}
