/**
 * The options of `jobrun run` that operate a running batch: a graceful stop, the
 * metrics endpoint, alerts and the end-of-run command.
 */
import { InvalidArgumentError, Option } from 'commander';
import type { AlertsSpec } from '../../model/alerts.js';
import { parsePercent } from '../../manifest/duration.js';
import { backendFlag, type BackendFlag } from './run-flags.js';
import { redisUrlFileOption } from './shared.js';
import { count, duration, nonBlank } from './values.js';

export interface OperateValues {
  graceful?: number;
  metricsPort?: { host: string; port: number };
  alertQueueDepth?: NonNullable<AlertsSpec['queueDepth']>;
  alertFailureRate?: NonNullable<AlertsSpec['failureRate']>;
  alertStalled?: number;
  alertRun?: string;
  onEnd?: string;
}

export function operateOptions(): Option[] {
  return [
    new Option(
      '--graceful <duration>',
      'on the first SIGTERM/SIGINT start nothing more and give running jobs this long to finish; a second signal stops them at once (default 0)',
    ).argParser(duration()),
    new Option(
      '--metrics-port <[host:]port>',
      'serve Prometheus /metrics and /healthz on this port (127.0.0.1 unless a host is given; 0 picks one)',
    ).argParser(metricsAddress),
    new Option(
      '--alert-queue-depth <n[,for]>',
      'alert when more than n jobs wait for longer than for (default 0s), e.g. 1000,30s',
    ).argParser(queueDepth),
    new Option(
      '--alert-failure-rate <pct%[,last]>',
      'alert when more than pct % of the last jobs (default 50) failed, e.g. 20%,50',
    ).argParser(failureRate),
    new Option(
      '--alert-stalled <duration>',
      'alert when no job ended for this long, e.g. 10m',
    ).argParser(duration(1)),
    new Option(
      '--alert-run <command>',
      'run this shell command on each alert (JOBRUN_ALERT, JOBRUN_ALERT_VALUE, JOBRUN_RUN_ID in its env)',
    ).argParser(nonBlank('a command')),
    new Option(
      '--on-end <command>',
      'run this shell command when the run ends (JOBRUN_EXIT_CODE, JOBRUN_REPORT and counts in its env)',
    ).argParser(nonBlank('a command')),
  ];
}

/** The alerts the flags ask for, each winning over the manifest's. */
export function flagAlerts(values: OperateValues): AlertsSpec {
  const alerts: AlertsSpec = {};
  if (values.alertQueueDepth) alerts.queueDepth = values.alertQueueDepth;
  if (values.alertFailureRate) alerts.failureRate = values.alertFailureRate;
  if (values.alertStalled !== undefined) alerts.stalledMs = values.alertStalled;
  if (values.alertRun !== undefined) alerts.run = values.alertRun;
  return alerts;
}

function metricsAddress(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(':');
  const host = colon === -1 ? '127.0.0.1' : text.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = count(0, 65535)(colon === -1 ? text : text.slice(colon + 1));
  if (host === '') throw new InvalidArgumentError('a host before the colon, e.g. 0.0.0.0:9464');
  return { host, port };
}

function queueDepth(text: string): NonNullable<AlertsSpec['queueDepth']> {
  const [above = '', forText] = text.split(',');
  return { above: count(0)(above), forMs: forText === undefined ? 0 : duration()(forText) };
}

function failureRate(text: string): NonNullable<AlertsSpec['failureRate']> {
  const [rate = '', last] = text.split(',');
  return { abovePercent: percent(rate), last: last === undefined ? 50 : count(1)(last) };
}

/** `20%` (or `20`): a share from 0 to 100. */
function percent(text: string): number {
  try {
    return parsePercent(text, '');
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** `--backend` & co. on `ps`, `scale`, `drain`…: reach runs through their Redis. */
export interface ReachValues {
  backend?: BackendFlag;
  redisUrlFile?: string;
  redisTimeout: number;
}

/** How long a control command waits on Redis (to connect, and for the run's answer). */
const CONTROL_REDIS_TIMEOUT_MS = 5000;

export function reachOptions(): Option[] {
  return [
    new Option(
      '--backend <url>',
      "reach runs through this Redis (redis://…, or redis: the URL from JOBRUN_REDIS_URL), from any machine; default: this user's runs here",
    ).argParser(backendFlag),
    redisUrlFileOption(),
    new Option(
      '--redis-timeout <duration>',
      'how long to wait for Redis and for the run to answer through it',
    )
      .argParser(duration(1))
      .default(CONTROL_REDIS_TIMEOUT_MS, '5s'),
  ];
}
