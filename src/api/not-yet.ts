/**
 * `notYet`: the stand-in for API calls that are not implemented yet.
 */
import { NotImplementedError } from '../errors.js';
import type { CommonOptions } from './common.js';

/** Placeholder for API calls that land in later issues; fails loudly, never fakes success. */
export function notYet(what: string): (opts?: CommonOptions) => Promise<never> {
  return async () => {
    throw new NotImplementedError(what);
  };
}
