/**
 * Bounds of control requests, shared by the schema (`protocol.ts`, which loads zod) and
 * the commands that send them, which must not load zod with every `jobrun` start.
 */

/** The most jobs one `cancel` request names; `jobrun cancel` sends more in several. */
export const CANCEL_BATCH = 10_000;
