import { defineCommand, defineMode, flag } from '../spec.js';
import { cpuThreads, device } from './common.js';

export const INFO_OPTIONS = {
  json: flag({ help: 'print the adapter and addon details as JSON' }),
  device: {
    ...device,
    help: "the backend to report, as the commands that compute take it ('auto': a hardware GPU if there is one, else the native CPU backend)",
  },
  'cpu-threads': cpuThreads,
};

export const INFO = defineCommand({
  name: 'info',
  summary: 'show the backend --device picks, the GPU adapter, its limits and features, and the native addon status',
  description:
    'Prints the backend a command would run on with --device (auto: a hardware GPU if there is one, else the native CPU backend), the WebGPU adapter Dawn picks (name, vendor, software or not), its features and limits, and the native addon (oneDNN / XNNPACK) CPU info, or why it is unavailable (then the CPU backend shows as unavailable, and info still exits 0).',
  modes: [
    defineMode({
      id: 'info',
      module: 'info',
      label: 'wgnas info',
      usage: ['[--device DEVICE] [--cpu-threads N] [--json]'],
      options: INFO_OPTIONS,
    }),
  ],
});
