import { defineCommand, defineMode, flag } from '../spec.js';

export const INFO_OPTIONS = { json: flag({ help: 'print the adapter and addon details as JSON' }) };

export const INFO = defineCommand({
  name: 'info',
  summary: 'show the GPU adapter, its limits and features, and the native addon status',
  description:
    'Prints the WebGPU adapter Dawn picks (name, vendor, software or not), its features and limits, and the native addon (oneDNN / XNNPACK) CPU info.',
  modes: [defineMode({ id: 'info', module: 'info', label: 'wgnas info', usage: ['[--json]'], options: INFO_OPTIONS })],
});
