// What may train and what is held out for evaluation. Every data script imports this, and asserts against it.
// Only permissive licences train: EmojiOne v1 (CC BY-SA 4.0) is share-alike like OpenMoji, so it stays out.
export const TRAIN_EMOJI_STYLES = ['noto', 'twemoji', 'fluent-emoji-flat', 'fluent-emoji', 'emojione', 'fxemoji'];
export const HELDOUT_EMOJI_STYLES = ['openmoji'];
export const PERMISSIVE_LICENCES = ['Apache-2.0', 'MIT', 'CC-BY-4.0', 'ISC'];
