import {
  CLIPTextModelWithProjection,
  CLIPVisionModelWithProjection,
  ClapAudioModelWithProjection,
  ClapTextModelWithProjection,
  JinaCLIPTextModel,
  JinaCLIPVisionModel,
  SiglipTextModel,
  SiglipVisionModel,
} from '@huggingface/transformers';
import type { Modality } from './encoder.js';

/** Anything with transformers.js's `from_pretrained` that returns a callable ONNX model. */
export interface ModelClass {
  // biome-ignore lint/suspicious/noExplicitAny: transformers.js's own option and model types are loose.
  from_pretrained(id: string, options?: any): Promise<any>;
}

export interface Tower {
  modelClass: ModelClass;
  /** Output names holding the embedding, in order of preference. */
  outputs: string[];
}

/** How one model family differs from the others; everything else is shared code. */
export interface Family {
  name: string;
  towers: Partial<Record<Modality, Tower>>;
  /** Pad every text to the model's length (SigLIP was trained that way) instead of to the longest. */
  padTextToMaxLength?: boolean;
  /** Truncation must keep the end-of-text token, as Python's tokenizers do: CLIP pools at it, SigLIP at the last position. */
  poolsAtEndOfText?: boolean;
  /** Reads the embedding size from config.json. */
  dim(config: ModelConfig): number | undefined;
}

export type ModelConfig = Record<string, unknown> & {
  model_type?: string;
  projection_dim?: number;
  text_config?: Record<string, unknown>;
  vision_config?: Record<string, unknown>;
  audio_config?: Record<string, unknown>;
};

const projectionDim = (c: ModelConfig) =>
  c.projection_dim ?? (c.text_config?.projection_dim as number | undefined);

const FAMILIES: Family[] = [
  {
    name: 'clip',
    towers: {
      text: { modelClass: CLIPTextModelWithProjection, outputs: ['text_embeds'] },
      image: { modelClass: CLIPVisionModelWithProjection, outputs: ['image_embeds'] },
    },
    poolsAtEndOfText: true,
    dim: (c) => projectionDim(c) ?? 512,
  },
  {
    name: 'siglip',
    towers: {
      text: { modelClass: SiglipTextModel, outputs: ['pooler_output'] },
      image: { modelClass: SiglipVisionModel, outputs: ['pooler_output'] },
    },
    padTextToMaxLength: true,
    poolsAtEndOfText: true,
    dim: (c) =>
      (c.text_config?.hidden_size as number | undefined) ??
      (c.vision_config?.hidden_size as number | undefined),
  },
  {
    name: 'jina_clip',
    towers: {
      text: { modelClass: JinaCLIPTextModel, outputs: ['l2norm_text_embeddings', 'text_embeddings'] },
      image: { modelClass: JinaCLIPVisionModel, outputs: ['l2norm_image_embeddings', 'image_embeddings'] },
    },
    dim: (c) => projectionDim(c) ?? 768,
  },
  {
    name: 'clap',
    towers: {
      text: { modelClass: ClapTextModelWithProjection, outputs: ['text_embeds'] },
      audio: { modelClass: ClapAudioModelWithProjection, outputs: ['audio_embeds'] },
    },
    dim: (c) => projectionDim(c) ?? 512,
  },
];

/** config.json `model_type` → family. Adding a family is one entry above and one line here. */
const BY_MODEL_TYPE: Record<string, Family> = {
  clip: FAMILIES[0],
  siglip: FAMILIES[1],
  jina_clip: FAMILIES[2],
  clap: FAMILIES[3],
};

export function familyFor(modelType: string | undefined): Family | undefined {
  return modelType ? BY_MODEL_TYPE[modelType] : undefined;
}

export function knownFamilies(): { name: string; modelTypes: string[]; modalities: Modality[] }[] {
  return FAMILIES.map((family) => ({
    name: family.name,
    modelTypes: Object.keys(BY_MODEL_TYPE).filter((t) => BY_MODEL_TYPE[t] === family),
    modalities: Object.keys(family.towers) as Modality[],
  }));
}
