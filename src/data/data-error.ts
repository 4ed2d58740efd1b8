import { UserFacingError } from '../util/errors.js';

/** Bad content of a data file or folder, named in the message: exit code 1 at the command line. */
export class DataError extends UserFacingError {
  override readonly name = 'DataError';
}
