import { createLocalBackend } from '../../src/backends/local.js';
import { conformance } from './conformance.js';

conformance('local', async () => ({ backend: createLocalBackend(), close: async () => {} }));
