/**
 * The HTML report's inline style and script. The script reads the JSON embedded in
 * `#jobrun-data` and draws the summary, the timeline (one lane per worker slot, one
 * absolutely positioned bar per attempt) and the job table. Data only ever reaches
 * the page through `textContent`, never as markup.
 */

export const HTML_STYLE = `
:root { --ok:#2da44e; --fail:#cf222e; --timeout:#d4720f; --cancel:#8c959f; --skip:#bf8700;
  --fg:#1f2328; --muted:#656d76; --line:#d0d7de; --bg:#ffffff; --panel:#f6f8fa; --lane:26px; }
* { box-sizing: border-box; }
body { margin: 0; padding: 20px 24px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--fg); background: var(--bg); }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 0; }
.meta { color: var(--muted); font-size: 13px; margin-bottom: 10px; word-break: break-all; }
.chips { display: flex; gap: 8px; flex-wrap: wrap; margin-bottom: 18px; }
.chip { border-radius: 999px; padding: 2px 12px; font-weight: 600; color: #fff; background: var(--muted); }
.chip.succeeded, .chip.cached { background: var(--ok); } .chip.failed { background: var(--fail); }
.chip.timed_out { background: var(--timeout); } .chip.skipped { background: var(--skip); }
.chip.cancelled { background: var(--cancel); } .chip.total { background: var(--fg); }
.toolbar { display: flex; align-items: center; gap: 16px; margin: 8px 0; }
.legend { display: flex; gap: 12px; color: var(--muted); font-size: 12px; }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 4px; vertical-align: -2px; }
#timeline { display: flex; border: 1px solid var(--line); border-radius: 6px; max-height: 70vh; overflow-y: auto; background: var(--panel); }
#lanes { flex: none; width: 90px; border-right: 1px solid var(--line); padding-top: 22px; background: var(--bg); position: sticky; left: 0; }
#lanes div { height: var(--lane); line-height: var(--lane); padding: 0 8px; font-size: 12px; color: var(--muted);
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; border-bottom: 1px solid #eaeef2; }
#scroller { flex: 1; overflow-x: auto; position: relative; }
#axis { height: 22px; position: relative; border-bottom: 1px solid var(--line); background: var(--bg); }
#axis span { position: absolute; top: 3px; font-size: 11px; color: var(--muted); transform: translateX(-50%); white-space: nowrap; }
#axis span.first { transform: none; padding-left: 2px; }
#axis span.first::before { left: 0; }
#axis span::before { content: ""; position: absolute; left: 50%; top: 15px; height: 4px; border-left: 1px solid var(--line); }
#bars { position: relative; }
.lane-bg { position: absolute; left: 0; right: 0; height: var(--lane); border-bottom: 1px solid #eaeef2; }
.bar { position: absolute; height: calc(var(--lane) - 8px); border-radius: 3px; min-width: 2px; cursor: pointer;
  background: var(--ok); overflow: hidden; white-space: nowrap; font-size: 11px; line-height: calc(var(--lane) - 8px);
  color: #fff; padding: 0 4px; border: 1px solid rgba(0,0,0,.15); }
.bar[data-outcome=failed] { background: var(--fail); } .bar[data-outcome=timed_out] { background: var(--timeout); }
.bar[data-outcome=cancelled] { background: var(--cancel); }
.bar:hover, .bar.hl { outline: 2px solid var(--fg); z-index: 2; }
.dim .bar:not(.hl) { opacity: .25; }
#tip { position: fixed; z-index: 10; max-width: 520px; background: #24292f; color: #f6f8fa; border-radius: 6px;
  padding: 8px 10px; font-size: 12px; pointer-events: none; box-shadow: 0 4px 14px rgba(0,0,0,.25); }
#tip b, #detail b { display: block; font-size: 13px; margin-bottom: 2px; word-break: break-all; }
#tip pre, #detail pre { margin: 6px 0 0; white-space: pre-wrap; word-break: break-all; max-height: 220px; overflow: auto;
  font: 11px/1.35 ui-monospace, SFMono-Regular, Menlo, monospace; }
#tip pre { background: rgba(255,255,255,.08); padding: 4px 6px; border-radius: 4px; }
#detail { margin: 12px 0; padding: 10px 12px; border: 1px solid var(--line); border-radius: 6px; background: var(--panel); }
#detail pre { background: #fff; border: 1px solid var(--line); padding: 6px; border-radius: 4px; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eaeef2; }
th { color: var(--muted); font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr { cursor: pointer; } tbody tr:hover { background: var(--panel); }
.st { font-weight: 600; } .st.succeeded, .st.cached { color: var(--ok); } .st.failed { color: var(--fail); }
.st.timed_out { color: var(--timeout); } .st.skipped { color: var(--skip); } .st.cancelled { color: var(--cancel); }
#filter { padding: 3px 8px; border: 1px solid var(--line); border-radius: 6px; min-width: 240px; }
`;

export const HTML_SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('jobrun-data').textContent);
  var LANE = 26, LABELS = { succeeded: 'succeeded', cached: 'cached', failed: 'failed', timed_out: 'timed out', skipped: 'skipped', cancelled: 'cancelled' };
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = String(text); return e; }
  function dur(ms) {
    if (ms == null) return '–';
    if (ms < 1000) return Math.round(ms) + 'ms';
    var s = ms / 1000; if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + 's';
    var m = Math.floor(s / 60); if (m < 60) return m + 'm' + String(Math.floor(s % 60)).padStart(2, '0') + 's';
    return Math.floor(m / 60) + 'h' + String(m % 60).padStart(2, '0') + 'm';
  }

  function counted(n, noun) { return n + ' ' + noun + (n === 1 ? '' : 's'); }

  // Summary
  var head = document.getElementById('head');
  head.appendChild(el('h1', null, 'jobrun · ' + (data.manifest ? data.manifest.split('/').pop() : data.runId)));
  var why = data.interrupted ? ' · interrupted by ' + data.interrupted : data.halted ? ' · halted: ' + data.halted : '';
  head.appendChild(el('div', 'meta', (data.manifest ? data.manifest + ' · ' : '') + 'run ' + data.runId + ' · ' + data.host + ' · started ' + new Date(data.startedAt).toLocaleString() +
    ' · ' + dur(data.durationMs) + ' · ' + data.workersText + ' · exit code ' + data.exitCode + why));
  var chips = el('div', 'chips');
  chips.appendChild(el('span', 'chip total', counted(data.summary.total, 'job')));
  ['succeeded', 'cached', 'failed', 'timed_out', 'skipped', 'cancelled'].forEach(function (k) {
    if (data.summary[k]) chips.appendChild(el('span', 'chip ' + k, data.summary[k] + ' ' + LABELS[k]));
  });
  head.appendChild(chips);
  var legend = document.querySelector('.legend');
  [['succeeded', '--ok'], ['failed', '--fail'], ['timed out', '--timeout'], ['cancelled', '--cancel']].forEach(function (l) {
    var s = el('span'); var i = el('i'); i.style.background = 'var(' + l[1] + ')'; s.appendChild(i); s.appendChild(document.createTextNode(l[0])); legend.appendChild(s);
  });

  // Timeline: one lane per worker slot, one bar per attempt
  var attempts = [];
  data.jobs.forEach(function (job, j) { job.attempts.forEach(function (a) { attempts.push({ job: job, j: j, a: a }); }); });
  var workers = Array.from(new Set(attempts.map(function (x) { return x.a.worker; })));
  workers.sort(function (a, b) { return a.localeCompare(b, undefined, { numeric: true }); });
  var laneOf = {}; workers.forEach(function (w, i) { laneOf[w] = i; });
  var end = Math.max(data.durationMs, 1);
  attempts.forEach(function (x) { end = Math.max(end, x.a.start + x.a.duration); });
  var lanes = document.getElementById('lanes'), bars = document.getElementById('bars'), axis = document.getElementById('axis');
  var scroller = document.getElementById('scroller');
  workers.forEach(function (w, i) {
    lanes.appendChild(el('div', null, 'worker ' + w));
    var bg = el('div', 'lane-bg'); bg.style.top = (i * LANE) + 'px'; bars.appendChild(bg);
  });
  bars.style.height = (workers.length * LANE) + 'px';
  var barEls = attempts.map(function (x, i) {
    var b = el('div', 'bar', x.job.name);
    b.dataset.job = x.job.name; b.dataset.jobIndex = x.j; b.dataset.i = i; b.dataset.attempt = x.a.attempt; b.dataset.outcome = x.a.outcome;
    b.style.top = (laneOf[x.a.worker] * LANE + 4) + 'px';
    bars.appendChild(b); return b;
  });
  function layout() {
    var zoom = Number(document.getElementById('zoom').value);
    var width = Math.max(200, scroller.clientWidth - 12) * zoom;
    var scale = width / end;
    bars.style.width = axis.style.width = width + 'px';
    barEls.forEach(function (b, i) { var a = attempts[i].a; b.style.left = (a.start * scale) + 'px'; b.style.width = Math.max(2, a.duration * scale) + 'px'; });
    axis.textContent = '';
    var step = niceStep(end / Math.max(2, width / 110));
    for (var t = 0; t <= end; t += step) { var s = el('span', t === 0 ? 'first' : null, t === 0 ? '0s' : dur(t)); s.style.left = (t * scale) + 'px'; axis.appendChild(s); }
  }
  function niceStep(raw) {
    var steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000, 900000, 1800000, 3600000, 7200000];
    for (var i = 0; i < steps.length; i++) if (steps[i] >= raw) return steps[i];
    return Math.ceil(raw / 3600000) * 3600000;
  }
  document.getElementById('zoom').addEventListener('input', layout);
  window.addEventListener('resize', layout);
  layout();

  // Details: a tooltip on hover, a pinned panel on click
  function details(target, x, full) {
    target.textContent = '';
    var job = x.job, a = x.a;
    target.appendChild(el('b', null, job.name));
    var lines = [
      'status: ' + LABELS[job.status] + (job.allowFailure && job.status !== 'succeeded' && job.status !== 'cached' ? ' (allowed to fail)' : ''),
      a ? 'attempt ' + a.attempt + ' of ' + job.attempts.length + ' · worker ' + a.worker + ' · ' + LABELS[a.outcome] : 'never ran' + (job.reason ? ': ' + job.reason : ''),
      a ? 'duration ' + dur(a.duration) + ' · exit ' + (a.exit || '–') + ' · started +' + dur(a.start) : null,
      'pool: ' + (job.pool || '–')
    ];
    lines.forEach(function (l) { if (l) target.appendChild(el('div', null, l)); });
    var cmd = el('div'); cmd.appendChild(el('code', null, job.command)); target.appendChild(cmd);
    var tail = (a && a.tail) || job.tail;
    if (tail) target.appendChild(el('pre', null, full ? tail : tail.split('\n').slice(-8).join('\n')));
    if (job.result !== null && job.result !== undefined) {
      target.appendChild(el('div', null, 'result:'));
      target.appendChild(el('pre', 'result', full ? job.result : job.result.split('\n').slice(0, 8).join('\n')));
    }
  }
  var tip = document.getElementById('tip'), detail = document.getElementById('detail');
  bars.addEventListener('mouseover', function (ev) {
    var b = ev.target.closest('.bar'); if (!b) return;
    details(tip, attempts[Number(b.dataset.i)], false); tip.hidden = false;
  });
  bars.addEventListener('mousemove', function (ev) {
    var x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    var y = ev.clientY + 16; if (y + tip.offsetHeight > window.innerHeight) y = ev.clientY - tip.offsetHeight - 10;
    tip.style.left = x + 'px'; tip.style.top = y + 'px';
  });
  bars.addEventListener('mouseout', function (ev) { if (ev.target.closest('.bar')) tip.hidden = true; });
  function select(j, a) {
    var job = data.jobs[j];
    details(detail, { job: job, a: a || job.attempts[job.attempts.length - 1] }, true); detail.hidden = false;
    var timeline = document.getElementById('timeline'); timeline.classList.add('dim');
    barEls.forEach(function (b) { b.classList.toggle('hl', Number(b.dataset.jobIndex) === j); });
  }
  bars.addEventListener('click', function (ev) {
    var b = ev.target.closest('.bar'); if (!b) return; var x = attempts[Number(b.dataset.i)]; select(x.j, x.a);
  });

  // Job table, filterable
  var tbody = document.querySelector('#jobs tbody');
  var rows = data.jobs.map(function (job, j) {
    var tr = el('tr'); tr.dataset.job = job.name;
    tr.appendChild(el('td', 'st ' + job.status, LABELS[job.status]));
    tr.appendChild(el('td', null, job.name));
    tr.appendChild(el('td', null, job.pool || '–'));
    tr.appendChild(el('td', 'num', job.attempts.length));
    tr.appendChild(el('td', 'num', dur(job.durationMs)));
    tr.appendChild(el('td', null, job.exit || (job.reason || '–')));
    tr.addEventListener('click', function () { select(j); });
    tbody.appendChild(tr); return tr;
  });
  document.getElementById('filter').addEventListener('input', function (ev) {
    var q = ev.target.value.toLowerCase();
    rows.forEach(function (tr, j) { var job = data.jobs[j]; tr.hidden = q !== '' && (job.name + ' ' + job.status).toLowerCase().indexOf(q) === -1; });
  });
  document.body.dataset.ready = 'true';
})();
`;
