/** Why a worker dropped a job it held, unstarted, at its run's stop (BullMQ's failed reason). */
export const DROPPED_UNSTARTED = 'its run was cancelled before a worker started it';

/**
 * The cancel message a coordinator publishes when its run stops, for jobs a worker
 * holds (running, or fetched and waiting for a slot): one message per batch.
 */
export interface CancelRequest {
  jobIds: string[];
  /** Kill at once (a second Ctrl-C, `--halt now`) rather than TERM and grace. */
  immediate: boolean;
  /**
   * Only drop what has not started: a stop that lets running jobs finish (`--halt soon`,
   * `jobrun drain`) withdraws a job the coordinator has not heard start yet, and the
   * worker may have started it meanwhile. Such a job runs on to its own end.
   */
  unstarted?: boolean;
}

export function encodeCancel(request: CancelRequest): string {
  return JSON.stringify(request);
}

/** Reads a cancel message; anything malformed is ignored (undefined). */
export function decodeCancel(text: string): CancelRequest | undefined {
  let data: { jobIds?: unknown; jobId?: unknown; immediate?: unknown; unstarted?: unknown };
  try {
    data = JSON.parse(text) as typeof data;
  } catch {
    return undefined;
  }
  // `jobId`: the one-job form of earlier coordinators
  const ids = Array.isArray(data.jobIds) ? data.jobIds : [data.jobId];
  const jobIds = ids.filter((id): id is string => typeof id === 'string');
  if (jobIds.length === 0) return undefined;
  const request: CancelRequest = { jobIds, immediate: data.immediate === true };
  if (data.unstarted === true) request.unstarted = true;
  return request;
}
