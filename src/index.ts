/**
 * The wgnas library: `import { ... } from 'wgnas'` (docs/api.md). One re-export line per layer, in
 * the layering order; names that two layers share (parseArch, mutateCell, SearchResult, ...) are
 * reached through the namespaces at the end, which export each module whole.
 */

// GPU runtime and kernels.
export * from './gpu/index.js';
export * as kernels from './kernels/ops.js';

// Compute backends (the seam every computing caller goes through): openBackend('auto' | 'gpu' | 'cpu').
export {
  cpuBackend,
  DEVICE_CHOICES,
  type DeviceChoice,
  DisposedError,
  DisposedTensorError,
  ForeignTensorError,
  gpuOf,
  openBackend,
  resolveDevice,
  webgpuBackend,
  type Backend,
  type BackendLimits,
  type BackendMemory,
  type BackendOps,
  type BackendStats,
  type DeviceKind,
  type KernelProfile,
  type KernelProfileRow,
  type Tensor,
} from './backend/index.js';
export { describeBackend as describeDevice } from './backend/index.js';

// Native addon (CPU latency profiler); loadNative() throws NativeUnavailableError with fixes when unbuilt.
export {
  describeBackend,
  loadNative,
  NativeUnavailableError,
  type CpuInfo,
  type NativeBinding,
  type NativeOp,
  type ProfileOptions,
  type ProfileResult,
} from './native/binding.js';
// The CPU backend's device (cpuBackend(NativeDevice.create({threads}))).
export {
  NativeDevice,
  NativeComputeError,
  NativeDisposedError,
  type NativeDeviceOptions,
  type NativeTensor,
} from './native/device.js';

// Data: where files are found, CIFAR-10, NAS-Bench-201 ground truth, fetching.
export {
  DataNotFoundError,
  dataFile,
  dataRoots,
  findDataFile,
  packagedDataDir,
  userDataDir,
  type DataRoot,
} from './data/paths.js';
export { CIFAR10_CLASSES, loadCifar10, loadCifar10File, sampleBatch, type Batch, type Cifar10 } from './data/cifar10.js';
export {
  loadNaslibZc,
  loadNb201Accuracies,
  loadNb201ReferenceProxies,
  loadNb201Table,
  parsePythonJson,
  type NaslibZcRow,
  type Nb201BenchRow,
} from './data/nb201-bench.js';
export {
  fetchDataset,
  listData,
  remoteDataset,
  DATASETS,
  type DataListing,
  type FetchOptions,
  type FetchResult,
  type RemoteDataset,
} from './data/datasets.js';
// Datasets as the commands read them: `--dataset cifar10|cifar100|folder:PATH` parsed and opened.
export {
  datasetClassCount,
  datasetSpecProblem,
  openDataset,
  parseDatasetSpec,
  DATASET_NAMES,
  type DatasetSpec,
  type OpenedDataset,
} from './data/dataset-spec.js';
export {
  indicesByClass,
  materialize,
  proxyMinibatch,
  sampleBalanced,
  type ImageDataset,
  type LabelledBatch,
  type Normalisation,
} from './data/image-dataset.js';
export { openImageFolder, scanImageFolder, type FolderScan, type ImageFolderOptions } from './data/image-folder.js';
export { loadCifar, readCifarFiles, CIFAR_FORMATS, type CifarName, type CifarSet } from './data/cifar-official.js';
export { openCifar10Subset, openOfficialCifar } from './data/cifar-dataset.js';
export { DownloadError } from './data/download.js';
// Labels checked against the classifier that scores or learns them.
export { ClassCountError, LabelRangeError } from './data/labels.js';

// Networks on the tape, and their optimisers.
export { Tape } from './nn/tape.js';
export { AlphaAdam, TrainingDivergedError, WeightSgd, type AdamConfig, type AlphaAdamState, type SgdConfig } from './nn/optim.js';
// The WGSL wrappers of ProxylessNAS's binarized gates and AutoSpace's fitness mixture (on a Gpu).
export { binarizeAlphaGrad, gateDot, rescaleTwoPath, sampleGates, type GateSample, type PathMode } from './kernels/binarize.js';
export { fitnessGrad, fitnessSoftmax, mixBackward, mixForward } from './kernels/fitness.js';
export {
  Nb201Net,
  nb201Complexity,
  nb201Factory,
  NB201_DEFAULT,
  type Nb201NetConfig,
  type Nb201NetOptions,
} from './nn/nb201-net.js';

// Search spaces and strategies.
export { formatArch, nb201Space, parseArch, sampleCell, type Nb201Cell } from './spaces/nb201.js';
export * from './search/index.js';

// Zero-cost proxies and the zero-shot method.
// A library user's proxies and aggregators: define*, then registerProxy / registerAggregator (docs/api.md).
export {
  AGGREGATORS,
  cePass,
  defineAggregator,
  definePass,
  defineProxy,
  defineProxyFamily,
  GROUPABLE_PROXIES,
  PopulationProxyError,
  populationScorer,
  PROXIES,
  registerAggregator,
  registerProxy,
  resolveProxies,
  staticPass,
  UnknownProxyError,
  scoreNet,
  scoreNetsGrouped,
  voteMajorityScores,
  voteScores,
  VOTE_MEMBERS,
  weightParams,
  type AggregatorDef,
  type CePassResult,
  type CellScores,
  type NetContext,
  type NetFactory,
  type PassDef,
  type PassNeeds,
  type ProxyBatch,
  type ProxyDef,
  type ProxyFamilyDef,
  type ProxyInfo,
  type ProxyUnit,
  type ScorableNet,
} from './proxies/index.js';
export * from './zeroshot/index.js';

// Latency tables and the predictor.
export {
  readLatencyTable,
  writeLatencyTable,
  parseLatencyTable,
  formatLatencyTable,
  LatencyTableError,
  type LatencyEntry,
  type LatencyTable,
} from './latency/lut.js';
export { findLatency, predictLatency, supernetLatencies, MissingLatencyError, type Prediction } from './latency/predictor.js';
export { buildLatencyTable } from './latency/profiler.js';
export { fromNetConfig, netConfigToKeys, type ProxylessArch, type ProxylessNetConfig } from './latency/arch.js';

// Methods: ProxylessNAS, AutoSpace.
export {
  ProxylessSearch,
  ProxylessSupernet,
  combineLoss,
  toNetConfig,
  checkResumable,
  readCheckpoint,
  readCheckpointState,
  DEFAULT_SEARCH,
  type ProxylessSearchConfig,
} from './proxyless/index.js';
export { AutoSpace, DEFAULT_EVOLVE, type EvolveConfig, type EvolveResult } from './autospace/evolve.js';
export { searchCellSpace, trainCellArch } from './autospace/search.js';
export { scoreArch } from './autospace/cell-arch-net.js';
export { cellSearchSpace, SpaceConstraintError } from './autospace/search-space.js';

// Utilities.
export { Rng } from './util/rng.js';
export { UserFacingError } from './util/errors.js';
// Crash-safe files, streamed result rows and the resume settings check (docs/api.md).
export { acquireLock, appendDurable, DurableAppender, LockHeldError, WriteError, writeFileAtomic } from './util/durable.js';
export { cellNumber, jsonRow, ReplayLog, RowStream, RowStreamError } from './data/row-stream.js';
export { checkRunSettings, ResumeMismatchError, type RunSettings } from './util/run-settings.js';
export { CheckpointError } from './nn/checkpoint.js';
export { kendallTau, spearmanRho, ranks } from './util/ranks.js';

// Whole modules, for everything else.
export * as nb201 from './spaces/nb201.js';
export * as mobilenet from './mobilenet/index.js';
export * as latency from './latency/predictor.js';
export * as proxyless from './proxyless/index.js';
export * as onnx from './export/index.js';
