/**
 * The package's types for TypeScript before 6, whose DOM lib has no WebGPU: index.ts's exports,
 * with @webgpu/types (a dependency) declaring the GPU* globals the Gpu layer's types name.
 * package.json's `types@<6` condition (and typesVersions, for moduleResolution node10) picks it;
 * TypeScript 6 and later read index.d.ts, as @webgpu/types beside their DOM lib would clash with it.
 */
/// <reference types="@webgpu/types" preserve="true" />
export * from './index.js';
