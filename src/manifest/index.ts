/**
 * The manifest stage: from a manifest file (or a glob / stdin lines with a command)
 * to fully expanded, validated `JobSpec`s.
 */
export { parseDuration, parseSize, parseTimeout } from './duration.js';
export { shellQuote, substitute, hasPlaceholder } from './quote.js';
export { manifestJsonSchema } from './schema.js';
export { loadManifest, parseManifest } from './load.js';
export { adHocJob, commandTemplate } from './adhoc.js';
