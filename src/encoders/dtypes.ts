import type { Dtype } from './encoder.js';

/** ONNX file suffix of each weight variant, as transformers.js names them (`onnx/vision_model_quantized.onnx`). */
export const DTYPE_FILE_SUFFIX: Record<Dtype, string> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
};
