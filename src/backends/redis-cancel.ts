/**
 * The cancel message a coordinator publishes when its run stops, for jobs a worker
 * holds (running, or fetched and waiting for a slot): one message per batch.
 */
export interface CancelRequest {
  jobIds: string[];
  /** Kill at once (a second Ctrl-C, `--halt now`) rather than TERM and grace. */
  immediate: boolean;
}

export function encodeCancel(request: CancelRequest): string {
  return JSON.stringify(request);
}

/** Reads a cancel message; anything malformed is ignored (undefined). */
export function decodeCancel(text: string): CancelRequest | undefined {
  let data: { jobIds?: unknown; jobId?: unknown; immediate?: unknown };
  try {
    data = JSON.parse(text) as typeof data;
  } catch {
    return undefined;
  }
  // `jobId`: the one-job form of earlier coordinators
  const ids = Array.isArray(data.jobIds) ? data.jobIds : [data.jobId];
  const jobIds = ids.filter((id): id is string => typeof id === 'string');
  return jobIds.length > 0 ? { jobIds, immediate: data.immediate === true } : undefined;
}
