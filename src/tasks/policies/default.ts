import type { Policy } from '../moderate.js';

/**
 * The shipped policy: common unsafe categories, each scored against everyday safe ones. Its prompts are
 * plain nouns (what xmodal-mini was trained on); thresholds are starting points — run `moderate calibrate`
 * on labelled examples of your own content before trusting them.
 */
export const DEFAULT_POLICY: Policy = {
  name: 'default',
  unsafe: [
    {
      name: 'weapons',
      prompts: ['pistol', 'gun', 'rifle', 'knife', 'dagger', 'sword', 'crossed swords', 'bomb', 'gunshot'],
      threshold: 0.4,
    },
    {
      name: 'violence',
      prompts: [
        'blood',
        'drop of blood',
        'skull and crossbones',
        'explosion',
        'fight',
        'injury',
        'screaming',
      ],
      threshold: 0.4,
    },
    {
      name: 'drugs',
      prompts: ['pill', 'pills', 'syringe', 'cigarette', 'smoking', 'drugs'],
      threshold: 0.4,
    },
    {
      name: 'alcohol',
      prompts: ['beer', 'wine glass', 'cocktail', 'whisky', 'bottle with popping cork'],
      threshold: 0.5,
    },
    {
      name: 'adult',
      prompts: ['nudity', 'naked body', 'sexual content'],
      threshold: 0.5,
    },
  ],
  safe: [
    { name: 'people', prompts: ['face', 'smiling face', 'person', 'hand', 'family'] },
    { name: 'animals', prompts: ['dog', 'cat', 'bird', 'horse', 'fish', 'animal'] },
    { name: 'food', prompts: ['apple', 'bread', 'cake', 'pizza', 'coffee', 'fruit', 'vegetable'] },
    { name: 'nature', prompts: ['sun', 'tree', 'flower', 'mountain', 'rain', 'water', 'moon'] },
    { name: 'objects', prompts: ['house', 'car', 'book', 'phone', 'clock', 'tool', 'ball'] },
    { name: 'music', prompts: ['piano', 'guitar', 'drum', 'violin', 'music', 'speech', 'applause'] },
    { name: 'symbols', prompts: ['heart', 'star', 'arrow', 'letter', 'number', 'sign'] },
  ],
};
