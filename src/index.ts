// The `xmodal` entry point: everything the CLI does, as typed functions. Results have the shapes the CLI
// prints with --json; failures are `XmodalError`s with a code from one table. Nothing here writes to the
// console or exits the process. The HTTP server is `xmodal/server`.

// The types behind the results, and the lower-level building blocks.
export { AdaptedEncoder, type Adapter, readAdapter, saveAdapter } from './encoders/adapter.js';
export {
  DTYPES,
  type Dtype,
  type Encoder,
  type EncoderOptions,
  type EncoderSpace,
  type EncoderSpec,
  type Modality,
  type ModalityInputs,
} from './encoders/encoder.js';
export { DEFAULT_MODEL, loadEncoder, locateModel, type ModelLocation } from './encoders/load.js';
export { knownFamilies } from './encoders/registry.js';
export { WrappedEncoder, type WrapperIdentity } from './encoders/wrapped-encoder.js';
export { ERRORS, type ErrorCode, XmodalError } from './errors.js';
// Collections: open on any store, index, search, get, delete, ask, quality.
export {
  type AskRequest,
  type AskResult,
  Collection,
  type CollectionStats,
  dropCollection,
  type IndexOptions,
  type IndexProgress,
  type IndexReport,
  type IndexSource,
  type ItemView,
  listCollections,
  type Many,
  type OpenOptions,
  openCollection,
  openDemoCollection,
  type QualityRequest,
  type QualityResult,
  type SearchRequest,
  type SearchResult,
  type SearchResults,
  type StoreOptions,
  type Weighted,
} from './library/collection.js';
// Models and inputs: embed, similarity, models.
export {
  type EmbedResult,
  embed,
  type InputLike,
  listModels,
  loadModel,
  type ModelOptions,
  type ModelsResult,
  type SimilarityResult,
  similarity,
} from './library/model.js';
// Scale-out and bundles: queue an index for workers, run a worker, read the queue; bind two parts of a bundle.
export {
  type BindRequest,
  bind,
  type QueueIndexOptions,
  queueIndex,
  queueStatus,
  startIngestWorker,
  type WorkerRequest,
} from './library/scale.js';
// Zero-shot and model-building tasks: classify, moderate, calibrate, eval, adapt.
export {
  type AdaptRequest,
  type AdaptResult,
  type AuditRequest,
  adapt,
  audit,
  type CalibrateRequest,
  type ClassifyRequest,
  type ClassifyResult,
  calibrate,
  classify,
  classifyMoments,
  type EvaluateRequest,
  evaluate,
  type ModerateRequest,
  type MomentsClassifyResult,
  moderate,
  moderateMoments,
  type PolicyLike,
} from './library/tasks.js';
export type { AudioInput, DecodedAudio } from './media/audio.js';
export type { ImageLimits } from './media/image.js';
export type { MediaSource } from './media/input.js';
export type { VideoOptions } from './media/video.js';
export type { IngestJobResult, QueueCounts, QueueStatus } from './queue/ingest-queue.js';
export type { CollectionInfo, Filter, MetaValue, Metric } from './store/store.js';
export type { AdaptReport, Pair, RetrievalScores } from './tasks/adapt.js';
export type { AttributeAudit, AuditResult } from './tasks/audit.js';
export { BIND_MAPS, type BindMap, type BindReport, type TextRecall } from './tasks/bind.js';
export type { CalibrationReport, CategoryCalibration, PrecisionRecall } from './tasks/calibrate.js';
export type { ChatApi, ChatMessage } from './tasks/chat.js';
export { type ClassifyOptions, classifyInputs, type LabelScore } from './tasks/classify.js';
export type { DebiasReport } from './tasks/debias-probes.js';
export type { EnqueueReport, IngestWorker, IngestWorkerOptions } from './tasks/distributed-ingest.js';
export { embedInputs, type Input } from './tasks/embed.js';
export type { EvalReport, RetrievalResult, ZeroShotResult } from './tasks/eval.js';
export type { FairReport } from './tasks/fair-search.js';
export type { Association } from './tasks/fairness-association.js';
export type { Exposure, RankingExposure } from './tasks/fairness-exposure.js';
export type { ZeroShotParity } from './tasks/fairness-parity.js';
export type { FailedFile, IngestProgress, IngestReport } from './tasks/ingest.js';
export type { CategoryScore, ModerationResult, Policy, PolicyCategory } from './tasks/moderate.js';
export { moderateInputs } from './tasks/moderate.js';
export { DEFAULT_POLICY } from './tasks/policies/default.js';
export type { QualityMetrics, QualityReport } from './tasks/quality.js';
export type { Answer, Source } from './tasks/rag.js';
export type { Fusion } from './tasks/retrieve.js';
export type { FlaggedMoment, VideoModeration } from './tasks/video-labels.js';
export { dot, l2normalize } from './vectors.js';
export { PACKAGE_VERSION as VERSION } from './version.js';
