// What may train and what is held out for evaluation. Every data script imports this, and asserts against it.
export const TRAIN_EMOJI_STYLES = ['noto', 'twemoji', 'fluent-emoji-flat', 'fluent-emoji', 'emojione', 'emojione-v1', 'fxemoji'];
export const HELDOUT_EMOJI_STYLES = ['openmoji'];
