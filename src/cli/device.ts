/**
 * `--device` and `--cpu-threads` for the commands that compute: resolving the choice (before the
 * work, so a resume can compare it with what the saved run recorded) and opening the backend.
 */
import {
  type Backend,
  type DeviceChoice,
  type DeviceKind,
  describeBackend,
  openBackend,
  resolveDevice,
} from '../backend/index.js';

export interface DeviceValues {
  device: DeviceChoice;
  'cpu-threads'?: number;
}

/** The device the command will run on ('auto' probes the adapter; opens nothing). */
export function deviceOf(v: DeviceValues): Promise<DeviceKind> {
  return resolveDevice(v.device);
}

/** Opens the backend for `device`; the caller disposes it. */
export function openDevice(device: DeviceKind, v: DeviceValues): Promise<Backend> {
  return openBackend(device, { threads: v['cpu-threads'] });
}

/** What result files record about the device: results may differ between devices (within tolerance). */
export function deviceRecord(b: Backend): { device: DeviceKind; deviceName: string } {
  return { device: b.device, deviceName: b.deviceName };
}

export { describeBackend };
