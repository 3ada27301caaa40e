// Vector helpers moved to src/vectors.ts (below store/ and encoders/, which both use them); kept for old imports.
export * from '../vectors.js';
