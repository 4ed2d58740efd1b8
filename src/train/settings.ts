/** The settings of a `wgnas train` run and their defaults (a module of its own: the CLI spec reads the defaults without loading the trainer). */

/**
 * 'default': OFA/ProxylessNAS's recipe (per-step warm-up + cosine, no weight decay on BN parameters
 * and biases). 'nb201': NAS-Bench-201's (D-X-Y/AutoDL-Projects get_optim_scheduler and
 * funcs_nasbench.procedure): weight decay on every parameter, the cosine per epoch (constant within
 * one), a warm-up from 0.
 */
export type TrainRecipe = 'default' | 'nb201';
export const TRAIN_RECIPES = ['default', 'nb201'] as const satisfies readonly TrainRecipe[];

export interface TrainSettings {
  epochs: number;
  batchSize: number;
  /** Peak learning rate (after the warm-up). */
  lr: number;
  momentum: number;
  weightDecay: number;
  labelSmoothing: number;
  /** Linear warm-up length in epochs (0: none). */
  warmupEpochs: number;
  augment: boolean;
  seed: number;
  /** BN running-statistics momentum (PyTorch's 0.1). */
  bnMomentum: number;
  /** Test images per evaluation batch (running statistics: the batch size does not change the result). */
  evalBatch?: number;
  /** What the flags do not set: the schedule's form and which parameters decay. Default 'default'. */
  recipe?: TrainRecipe;
}

/** The batch an evaluation runs at: --batch, at least 100 images (evalBatch where a caller sets it). */
export const evalBatchOf = (s: Pick<TrainSettings, 'evalBatch' | 'batchSize'>): number =>
  s.evalBatch ?? Math.max(s.batchSize, 100);

export const TRAIN_DEFAULTS: TrainSettings = {
  epochs: 10,
  batchSize: 64,
  lr: 0.1,
  momentum: 0.9,
  weightDecay: 5e-4,
  labelSmoothing: 0.1,
  warmupEpochs: 1,
  augment: true,
  seed: 0,
  bnMomentum: 0.1,
};

/**
 * NAS-Bench-201's CIFAR recipe (configs/nas-benchmark/hyper-opts/200E.config: 200 epochs, batch
 * 256, LR 0.1, momentum 0.9 Nesterov, decay 5e-4, cos with eta_min 0, warmup 0, criterion Softmax:
 * no label smoothing); the flags a run gives override it.
 */
export const NB201_RECIPE: Pick<
  TrainSettings,
  'epochs' | 'batchSize' | 'lr' | 'momentum' | 'weightDecay' | 'labelSmoothing' | 'warmupEpochs'
> = {
  epochs: 200,
  batchSize: 256,
  lr: 0.1,
  momentum: 0.9,
  weightDecay: 5e-4,
  labelSmoothing: 0,
  warmupEpochs: 0,
};

/** The default warm-up's largest share of a run's epochs: a short run still decays (see cappedWarmup). */
export const WARMUP_MAX_SHARE = 0.2;

/**
 * The warm-up a run takes: the default one (`given` false) at most WARMUP_MAX_SHARE of the epochs
 * (its 1 epoch is sized for --epochs 10: a 1-epoch run would end at the peak lr, never decaying);
 * a given one as given. `capped` says that it was cut.
 */
export function cappedWarmup(warmupEpochs: number, epochs: number, given: boolean): { warmupEpochs: number; capped: boolean } {
  const most = WARMUP_MAX_SHARE * epochs;
  return !given && warmupEpochs > most ? { warmupEpochs: most, capped: true } : { warmupEpochs, capped: false };
}
