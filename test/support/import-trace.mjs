// Preloaded with `node --import` by tests that check which packages a run loads: every
// module URL Node resolves is appended to the file named by JOBRUN_IMPORT_TRACE.
import { register } from 'node:module';

register(new URL('./import-trace-hooks.mjs', import.meta.url), {
  data: { file: process.env.JOBRUN_IMPORT_TRACE },
});
