/** The settings of a `wgnas train` run and their defaults (a module of its own: the CLI spec reads the defaults without loading the trainer). */
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
}

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
