/** --net / --nb201: the network a command works on (wgnas export, wgnas train). */
import { readFileSync } from 'node:fs';

import { ExportError, jsonNetwork, nb201Network, type ExportNetwork } from '../export/index.js';
import { UsageError } from './errors.js';
import type { ValuesOf } from './spec.js';
import type { EXPORT_OPTIONS } from './specs/export.js';

/** The network named by --net or --nb201 (errors name the flag or the file). */
export function networkOf(
  values: Pick<ValuesOf<typeof EXPORT_OPTIONS>, 'net' | 'nb201' | 'channels' | 'cells-per-stage' | 'classes'> & {
    resolution?: number;
  },
): ExportNetwork {
  if (values.nb201 !== undefined) {
    try {
      return nb201Network(values.nb201, {
        channels: values.channels,
        cellsPerStage: values['cells-per-stage'],
        numClasses: values.classes,
      });
    } catch (e) {
      throw new UsageError(`--nb201: ${(e as Error).message}`);
    }
  }
  if (values.net === undefined) throw new UsageError('give the network: --net CONFIG.json or --nb201 ARCH');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(values.net, 'utf8'));
  } catch (e) {
    throw new Error(`${values.net} is not valid JSON: ${(e as Error).message}`);
  }
  try {
    return jsonNetwork(json, values.resolution, values.net);
  } catch (e) {
    const err = e as Error;
    if (err instanceof ExportError || err.message.includes(values.net)) throw err;
    throw new Error(`network file ${values.net}: ${err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}`);
  }
}
