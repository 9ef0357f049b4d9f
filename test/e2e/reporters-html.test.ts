import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { htmlReport } from '../../src/reporters/html.js';
import type { Report } from '../../src/reporters/report.js';
import { record, reportOf } from '../reporters/helpers.js';
import {
  chromiumLaunch,
  fixtureDir,
  requireBuild,
  ROOT,
  runBin,
  runInPty,
  stripAnsi,
} from './reporters-helpers.js';
import { Screen } from './terminal-screen.js';

/**
 * The HTML report and the live view, looked at in headless Chromium (Debian's, or the
 * one from npm: see `chromiumLaunch`). Screenshots go
 * to test-results/; with JOBRUN_UPDATE_DOCS=1 they also replace the README's
 * test/screenshots/html-timeline.png and test/screenshots/live-view.png.
 */
const RESULTS = join(ROOT, 'test-results');
const updateDocs = process.env.JOBRUN_UPDATE_DOCS === '1';
let browser: Browser | undefined;
const cleanups: (() => void)[] = [];

function saveShot(name: string, png: Buffer): void {
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, name), png);
  if (updateDocs) copyFileSync(join(RESULTS, name), join(ROOT, 'test/screenshots', name));
}

beforeAll(async () => {
  requireBuild();
  browser = await chromium.launch({ ...(await chromiumLaunch()), headless: true });
});
afterAll(async () => {
  await browser?.close();
  for (const c of cleanups) c();
});

describe('HTML report in Chromium', () => {
  it('draws a bar per attempt in one lane per worker, with details on hover and click', async () => {
    const f = fixtureDir('demo.yaml');
    cleanups.push(f.cleanup);
    const html = join(f.dir, 'report.html');
    const json = join(f.dir, 'report.json');
    const r = runBin(['run', f.manifest, '--html', html, '--report', json, '--progress', 'none'], {
      cwd: f.dir,
    });
    expect(r.status).toBe(1);
    const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
    const attempts = report.jobs.flatMap((j) => j.attempts.map((a) => ({ job: j.name, ...a })));
    const workers = new Set(attempts.map((a) => a.worker));

    const page = await browser!.newPage({ viewport: { width: 1280, height: 820 } });
    const requests: string[] = [];
    page.on('request', (req) => requests.push(req.url()));
    await page.goto(`file://${html}`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.locator('.bar').count()).toBe(attempts.length);
    for (const a of attempts) {
      const bar = page.locator(`.bar[data-job="${a.job}"][data-attempt="${a.attempt}"]`);
      expect(await bar.count()).toBe(1);
      const box = await bar.boundingBox();
      expect(box!.width).toBeGreaterThanOrEqual(2);
    }
    expect(await page.locator('#lanes > div').count()).toBe(workers.size);
    expect(await page.locator('.bar[data-outcome="timed_out"]').count()).toBe(1);
    expect(await page.locator('.bar[data-outcome="failed"]').count()).toBe(2); // lint, flaky's first try
    expect(await page.locator('#jobs tbody tr').count()).toBe(report.jobs.length);

    await page.hover('.bar[data-job="lint"]');
    const tip = page.locator('#tip');
    expect(await tip.isVisible()).toBe(true);
    const tipText = await tip.innerText();
    expect(tipText).toContain('lint');
    expect(tipText).toContain('exit 1');
    expect(tipText).toContain("'x' is assigned a value but never used");
    saveShot('html-timeline.png', await page.screenshot({ fullPage: false }));

    await page.click('.bar[data-job="flaky-upload"][data-attempt="1"]');
    const detail = await page.locator('#detail').innerText();
    expect(detail).toContain('attempt 1 of 2');
    expect(await page.locator('.bar.hl').count()).toBe(2);
    expect(requests.every((u) => u.startsWith('file:'))).toBe(true);
    await page.close();
  });

  it('counts one job and one worker in the singular', async () => {
    const file = join(RESULTS, 'html-one.html');
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(file, htmlReport({ ...reportOf([record('only', 0)]), workers: 1 }));
    const page = await browser!.newPage();
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.locator('#head .meta').innerText()).toContain(' · 1 worker · exit code 0');
    expect(await page.locator('.chip.total').innerText()).toBe('1 job');
    await page.close();
  });

  it("says a Redis run's workers as its limit, not as workers of its own", async () => {
    const file = join(RESULTS, 'html-remote.html');
    mkdirSync(RESULTS, { recursive: true });
    const page = await browser!.newPage();
    for (const [workers, text] of [
      [0, " · on the Redis workers' slots · exit code 0"],
      [3, ' · at most 3 at once · exit code 0'],
    ] as const) {
      writeFileSync(file, htmlReport({ ...reportOf([record('only', 0)]), workers, remote: true }));
      await page.goto(`file://${file}`);
      await page.waitForSelector('body[data-ready="true"]');
      expect(await page.locator('#head .meta').innerText()).toContain(text);
    }
    await page.close();
  });

  it('stays usable with 1,000 jobs: every bar drawn, zoom scrolls the timeline', async () => {
    const jobs = Array.from({ length: 1000 }, (_, i) =>
      record(`job-${i}`, i, {
        at: Math.floor(i / 8) * 120,
        ms: 100,
        status: i % 97 ? 'succeeded' : 'failed',
      }),
    );
    const file = join(RESULTS, 'html-1000.html');
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(file, htmlReport(reportOf(jobs, 126 * 120)));
    const page = await browser!.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.locator('.bar').count()).toBe(1000);
    expect(await page.locator('#lanes > div').count()).toBe(4);
    await page.locator('#zoom').fill('20');
    const scroller = await page.$eval('#scroller', (el) => ({
      sw: el.scrollWidth,
      cw: el.clientWidth,
    }));
    expect(scroller.sw).toBeGreaterThan(scroller.cw * 10);
    await page.fill('#filter', 'failed');
    expect(await page.locator('#jobs tbody tr:not([hidden])').count()).toBe(11);
    await page.close();
  });
});

describe('live view screenshot', () => {
  it('renders a frame captured from a pseudo-terminal', async () => {
    const f = fixtureDir('demo.yaml');
    cleanups.push(f.cleanup);
    const cols = 100;
    const rows = 22;
    const run = await runInPty(['run', f.manifest, '--progress', 'tty'], {
      cwd: f.dir,
      cols,
      rows,
      env: { FORCE_COLOR: '1' },
    });
    expect(run.code).toBe(1);
    // a whole frame (ora draws each inside synchronized output), about halfway through the run
    // eslint-disable-next-line no-control-regex
    const ends = [...run.text.matchAll(/\u001b\[\?2026l/g)].map((m) => m.index + m[0].length);
    expect(ends.length).toBeGreaterThan(5);
    const cut =
      ends.find(
        (at) =>
          /running [3-9]/.test(stripAnsi(run.text.slice(Math.max(0, at - 2000), at))) &&
          at > run.text.length / 3,
      ) ?? ends[Math.floor(ends.length / 2)]!;
    const screen = new Screen(cols).write(run.text.slice(0, cut));
    const visible = screen.text(rows - 1).join('\n');
    expect(visible).toMatch(/\d+%/);
    expect(visible).toMatch(/running \d+ · queued \d+/);
    expect(visible).toMatch(/worker \d/);

    const page = await browser!.newPage({
      viewport: { width: 980, height: 520 },
      deviceScaleFactor: 1,
    });
    await page.setContent(`<!doctype html><html><body style="margin:0;background:#0d1117">
      <div style="margin:16px;border-radius:8px;overflow:hidden;box-shadow:0 8px 24px rgba(0,0,0,.5);border:1px solid #30363d">
      <div style="background:#161b22;padding:8px 12px;color:#8b949e;font:12px system-ui">● ● ●&nbsp;&nbsp; jobrun run demo.yaml</div>
      <pre id="term" style="margin:0;padding:12px 14px;background:#0d1117;color:#c9d1d9;font:13px/1.35 'DejaVu Sans Mono',monospace;min-height:${rows * 17.5}px">${screen.html(rows - 1)}</pre>
      </div></body></html>`);
    const el = await page.$('body > div');
    saveShot('live-view.png', (await el!.screenshot()) as Buffer);
    await page.close();
  });
});
