/**
 * The manifest stage: from a manifest file (or a glob / stdin lines with a command)
 * to fully expanded, validated `JobSpec`s.
 */
export { parseDuration, parseSize, parseTimeout } from './duration.js';
export { shellQuote, substitute, hasPlaceholder } from './quote.js';
export { manifestJsonSchema, manifestSchema } from './schema.js';
export { loadManifest, parseManifest, type LoadOptions, type ParseOptions } from './load.js';
export { JOB_DEFAULTS, resolveSettings, type JobSettings } from './expand.js';
export { adHocJob, commandTemplate, globItems, type AdHocBase } from './adhoc.js';
