/**
 * Compile errors and validation messages of one WGSL program with entry point `main` (empty when
 * Dawn takes it): the null-backend front-end tests of generated programs share it.
 */
export async function compileProblems(device: GPUDevice, code: string): Promise<string[]> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const err = await device.popErrorScope();
  return [
    ...info.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}: ${m.message}`),
    ...(err ? [err.message] : []),
  ];
}
