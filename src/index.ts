export type { Dtype, Encoder, EncoderOptions, Modality } from './encoders/encoder.js';
export { DEFAULT_MODEL, loadEncoder, locateModel } from './encoders/load.js';
export { knownFamilies } from './encoders/registry.js';
export { dot, l2normalize } from './encoders/vectors.js';
export { type ErrorCode, XmodalError } from './errors.js';
export { embedInputs, type Input, parseInput, similarity } from './tasks/embed.js';
