// `xmodal/server`: the HTTP API and web UI, to listen on their own or to mount inside another app.

export type { Workspace } from '../tasks/workspace.js';
export {
  buildApp as buildServer,
  createHandler,
  type ServerOptions,
  type XmodalHandler,
  type XmodalPluginOptions,
  xmodalPlugin,
} from './app.js';
export type { BatchingOptions } from './batching.js';
export { DEFAULT_LIMITS, type ServerLimits } from './context.js';
