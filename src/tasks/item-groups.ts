import type { Encoder } from '../encoders/encoder.js';
import type { ItemRecord } from '../store/store.js';
import { dot } from '../vectors.js';
import { GROUP_PROMPTS } from './probe-set.js';
import { promptDirections, templatesFor } from './prompts.js';

/**
 * An item's group for an attribute as its owner labelled it: meta `group.skin_tone: "dark"` or the tag
 * `group.skin_tone=dark`; undefined when it carries none.
 */
export function labelledGroup(
  item: Pick<ItemRecord, 'tags' | 'meta'>,
  attribute: string,
): string | undefined {
  const key = `group.${attribute}`;
  const fromMeta = item.meta?.[key];
  if (typeof fromMeta === 'string' && fromMeta) return fromMeta;
  const tag = item.tags?.find((t) => t.startsWith(`${key}=`));
  return tag ? tag.slice(key.length + 1) || undefined : undefined;
}

/** Predicts groups of an attribute from vectors: the group whose prompts are most similar (zero-shot). */
export interface GroupPredictor {
  groups: string[];
  predict(vector: Float32Array): string;
}

/** A zero-shot predictor for a built-in attribute (`skin_tone`, `gender`); undefined for any other name. */
export async function groupPredictor(
  encoder: Encoder,
  attribute: string,
): Promise<GroupPredictor | undefined> {
  const prompts = GROUP_PROMPTS[attribute];
  if (!prompts) return undefined;
  const groups = Object.keys(prompts);
  const directions = await promptDirections(
    encoder,
    groups.map((g) => prompts[g]),
    templatesFor('image'),
  );
  return {
    groups,
    predict(vector) {
      let best = 0;
      for (let g = 1; g < groups.length; g++)
        if (dot(vector, directions[g]) > dot(vector, directions[best])) best = g;
      return groups[best];
    },
  };
}
