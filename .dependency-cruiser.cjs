/**
 * Layering of src/ (docs/architecture.md): data flows one way,
 *   util -> gpu, native -> kernels -> backend -> data, latency, spaces, search -> nn
 *   -> proxies, mobilenet, export -> methods (zeroshot, proxyless, autospace) -> train -> bench harness -> queue -> cli
 * A module may import its own layer and the layers below it, never above; no runtime cycles anywhere
 * (a loop closed only by type-only imports vanishes when compiled). test/arch/dependency-layers.test.ts runs it.
 */
const LAYERS = [
  ['util'],
  ['gpu', 'native'],
  ['kernels'],
  ['backend'],
  ['data', 'latency', 'spaces', 'search'],
  ['nn'],
  ['proxies', 'mobilenet', 'export'],
  ['zeroshot', 'proxyless', 'autospace'],
  ['train'],
  ['bench'],
  ['queue'],
  ['cli'],
];
const dirOf = (name) => `^src/${name}/`;
const forbidden = [
  {
    name: 'no-circular',
    severity: 'error',
    comment: 'no import cycles',
    from: { path: '^src/' },
    to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
  },
];
LAYERS.forEach((layer, i) => {
  const above = LAYERS.slice(i + 1).flat();
  if (!above.length) return;
  for (const name of layer) {
    forbidden.push({
      name: `layer-${name}`,
      severity: 'error',
      comment: `src/${name} may not import a layer above it (${above.join(', ')})`,
      from: { path: dirOf(name) },
      to: { path: `^src/(${above.join('|')})/` },
    });
  }
});
// Methods are peers: none imports another (ProxylessNAS and AutoSpace share src/mobilenet instead).
for (const m of ['zeroshot', 'proxyless', 'autospace']) {
  forbidden.push({
    name: `peer-${m}`,
    severity: 'error',
    comment: `src/${m} may not import another method`,
    from: { path: dirOf(m) },
    to: { path: `^src/(${['zeroshot', 'proxyless', 'autospace'].filter((x) => x !== m).join('|')})/` },
  });
}
module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
