// floorgate technician page: session, router, live stream and the read-only views.
// Plain DOM, no build step. Untrusted text is only ever set through textContent.
'use strict';

const Fg = {
  session: null,     // {user, role, csrf}
  source: null,      // EventSource
  dashboard: null,
  egms: [],
  live: [],          // newest first, events seen on the live stream
  view: null,
  routeArg: null,
};

// h('tag.class', {attr: v, onclick: f}, child...) → element; strings become text nodes.
function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag);
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function dash(v) { return v === null || v === undefined || v === '' ? '—' : String(v); }
function tsOf(e) { return e.ts_gw_ms ?? e.ts_gw ?? e.ts_ms ?? null; }
function fmtTime(ms) {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(Number(ms));
  return isNaN(d) ? '—' : d.toLocaleString(undefined, { hour12: false });
}
function fmtAgo(ms) {
  if (ms === null || ms === undefined) return '—';
  const s = Math.max(0, Math.round((Date.now() - Number(ms)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  return `${Math.floor(s / 3600)}h ago`;
}
// Events per second or minute, one decimal below 10 (the backlog figures, over 60 s).
function fmtRate(v) { return v == null ? '—' : (Math.abs(v) < 10 ? v.toFixed(1) : String(Math.round(v))); }

function fmtDuration(s) {
  if (s === null || s === undefined) return '—';
  s = Math.floor(Number(s));
  const d = Math.floor(s / 86400), hh = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return d ? `${d}d ${hh}h ${m}m` : hh ? `${hh}h ${m}m` : `${m}m ${s % 60}s`;
}
function fmtBytes(b) {
  if (b === null || b === undefined) return '—';
  const u = ['B', 'KiB', 'MiB', 'GiB']; let i = 0; b = Number(b);
  while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
  return `${b.toFixed(i ? 1 : 0)} ${u[i]}`;
}
// A state badge: colour plus a symbol and a word, so it reads without colour.
function badge(kind, word) {
  const sym = { ok: '●', bad: '✖', warn: '▲' }[kind] || '○';
  return h('span.badge.' + kind, {}, `${sym} ${word}`);
}
function linkBadge(row) {
  const state = row.link ?? (row.link_up === true ? 'online' : row.link_up === false ? 'offline' : 'unknown');
  const kind = state === 'online' || state === 'up' ? 'ok' : state === 'offline' || state === 'down' ? 'bad' : 'warn';
  return badge(kind, state === 'up' ? 'online' : state === 'down' ? 'offline' : state);
}
function toast(msg) {
  const box = document.getElementById('toast');
  const el = h('div', {}, msg);
  box.append(el);
  setTimeout(() => el.remove(), 5000);
}

async function api(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: {} };
  if (method !== 'GET') opts.headers['X-CSRF-Token'] = Fg.session ? Fg.session.csrf : '';
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  if (res.status === 401 && path !== '/api/login') { showLogin('Your session ended; please sign in again.'); throw new Error('login required'); }
  let data = null;
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('json')) data = await res.json();
  return { status: res.status, ok: res.ok, data };
}

function showLogin(message) {
  Fg.session = null;
  if (Fg.source) { Fg.source.close(); Fg.source = null; }
  document.getElementById('nav').hidden = true;
  document.getElementById('session').hidden = true;
  document.getElementById('view').hidden = true;
  document.getElementById('login-view').hidden = false;
  document.getElementById('login-error').textContent = message || '';
  document.getElementById('login-user').focus();
}

function startSession(s) {
  Fg.session = s;
  document.getElementById('login-view').hidden = true;
  document.getElementById('nav').hidden = false;
  document.getElementById('session').hidden = false;
  document.getElementById('view').hidden = false;
  document.getElementById('who').textContent = `${s.user} (${s.role})`;
  connectLive();
  route();
}

function setLive(ok) {
  const el = document.getElementById('live');
  el.replaceWith(Object.assign(ok ? badge('ok', 'Live') : badge('warn', 'Reconnecting'), { id: 'live' }));
}

function connectLive() {
  if (Fg.source) Fg.source.close();
  const src = new EventSource('/api/events/stream');
  Fg.source = src;
  src.onopen = () => setLive(true);
  src.onerror = () => {
    setLive(false);
    if (src.readyState === EventSource.CLOSED) setTimeout(checkSession, 2000);
  };
  const parse = (e) => { try { return JSON.parse(e.data); } catch (x) { return null; } };
  src.addEventListener('dashboard', (e) => { Fg.dashboard = parse(e); if (Fg.view === 'dashboard') renderDashboard(); });
  src.addEventListener('egms', (e) => {
    const d = parse(e);
    if (!d) return;
    Fg.egms = d.egms || [];
    Fg.egmsPushes = (Fg.egmsPushes || 0) + 1;  // how many arrived (the browser test waits on it)
    if (Fg.view === 'egms') renderEgmTable();
    if (Fg.view === 'floor') renderFloor();
  });
  src.addEventListener('event', (e) => { const d = parse(e); if (d) onLiveEvent(d.event || d); });
  src.addEventListener('config', (e) => { const d = parse(e); if (d && d.message) toast(d.message); });
}

async function checkSession() {
  if (!Fg.session) return;
  try { const r = await api('GET', '/api/session'); if (r.ok) connectLive(); } catch (x) { /* login shown */ }
}

function onLiveEvent(ev) {
  if (Fg.view === 'floor') scheduleFloorRefresh();
  Fg.live.unshift(ev);
  Fg.live.length = Math.min(Fg.live.length, 50);
  const tbody = document.querySelector('[data-live-events]');
  if (!tbody) return;
  const filter = tbody.getAttribute('data-egm');
  if (filter && filter !== ev.egm) return;
  tbody.prepend(eventRow(ev, true));
  while (tbody.children.length > 50) tbody.lastChild.remove();
  const empty = document.getElementById('no-live');
  if (empty) empty.remove();
}

// Money: cents -> "$26.46" (the event's currency when it names one; USD otherwise).
function fmtMoney(cents, currency) {
  if (cents === null || cents === undefined || Number.isNaN(Number(cents))) return '—';
  const c = Number(cents);
  const sign = c < 0 ? '-' : '';
  const code = currency || 'USD';
  const sym = { USD: '$', EUR: '€', GBP: '£' }[code] || '';
  const units = (Math.abs(c) / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return sym ? `${sign}${sym}${units}` : `${sign}${units} ${code}`;
}
function denomOf(egmId) {
  const e = (Fg.egms || []).find((x) => x.id === egmId);
  return e && e.denomination_cents ? Number(e.denomination_cents) : null;
}
// A meter value in words: credits and cents as money (credits x the EGM's denomination),
// counts as numbers. Returns [value text, delta text or ''].
function fmtMeter(value, unit, delta, denom, currency) {
  const asCents = unit === 'cents' ? 1 : (unit === 'credits' && denom ? denom : null);
  if (asCents !== null) {
    const d = delta === undefined || delta === null ? '' : `${delta >= 0 ? '+' : ''}${fmtMoney(delta * asCents, currency)}`;
    return [fmtMoney(value * asCents, currency), d];
  }
  const n = (x) => Number(x).toLocaleString('en-US');
  const suffix = unit === 'credits' ? ' credits' : '';
  const d = delta === undefined || delta === null ? '' : `${delta >= 0 ? '+' : ''}${n(delta)}${suffix}`;
  return [`${n(value)}${suffix}`, d];
}
const meterName = (k) => k.replace(/_/g, ' ');
// An event's details in words (money as currency, meters by name), the raw JSON one click away.
function eventDetails(ev) {
  const a = ev.attrs;
  if (!a || typeof a !== 'object') return dash(a);
  const denom = denomOf(ev.egm) || (a.denomination_cents ? Number(a.denomination_cents) : null);
  const parts = [];
  for (const [k, v] of Object.entries(a)) {
    if (k === 'meters' && v && typeof v === 'object') {
      for (const [name, m] of Object.entries(v)) {
        if (!m || typeof m !== 'object') continue;
        const [val, d] = fmtMeter(m.value, m.unit, m.delta, denom, a.currency);
        parts.push(`${meterName(name)} ${val}${d ? ` (${d})` : ''}`);
      }
    } else if (/(^|_)cents$/.test(k) && typeof v === 'number') {
      parts.push(`${meterName(k.replace(/_?cents$/, '') || 'amount')} ${fmtMoney(v, a.currency)}`);
    } else if (typeof v !== 'object') {
      parts.push(`${k}=${v}`);
    }
  }
  return h('span', {}, h('span.readable', {}, parts.join(' · ')), ' ',
    h('details.raw', {}, h('summary', {}, 'raw'), h('code', {}, JSON.stringify(a))));
}

function eventRow(ev, fresh) {
  return h('tr' + (fresh ? '.fresh' : ''), { 'data-seq': ev.seq, 'data-type': ev.type },
    h('td.num', {}, dash(ev.seq)), h('td', {}, fmtTime(tsOf(ev))), h('td', {}, dash(ev.egm)),
    h('td', {}, dash(ev.class)), h('td', {}, dash(ev.type)), h('td.hide-narrow', {}, eventDetails(ev)));
}

// The EGM page's meters: name, value (money where the unit is credits or cents), raw value.
function meterTable(e) {
  const meters = e.meters || {};
  const units = e.meter_units || {};
  const denom = e.denomination_cents ? Number(e.denomination_cents) : (e.identity && e.identity.denomination_cents) || null;
  const names = Object.keys(meters);
  if (!names.length) return h('p.muted', {}, 'No meter snapshot yet.');
  return h('div.table-wrap', {}, h('table', { id: 'meters' },
    h('thead', {}, h('tr', {}, ['Meter', 'Value', 'Raw'].map((t) => h('th', {}, t)))),
    h('tbody', {}, names.map((n) => {
      const unit = units[n] || (/_cents$/.test(n) ? 'cents' : 'count');
      const [val] = fmtMeter(meters[n], unit, null, denom);
      return h('tr', { 'data-meter': n }, h('td', {}, meterName(n)), h('td.num', {}, val),
        h('td.num.muted', {}, `${Number(meters[n]).toLocaleString('en-US')} ${unit}`));
    }))));
}

function eventTable(rows, liveEgm) {
  const tbody = h('tbody', liveEgm === undefined ? {} : { 'data-live-events': true, 'data-egm': liveEgm || null },
    rows.map((e) => eventRow(e, false)));
  return h('div.table-wrap', {}, h('table', {},
    h('thead', {}, h('tr', {}, h('th', {}, 'Seq'), h('th', {}, 'Time'), h('th', {}, 'EGM'), h('th', {}, 'Class'),
      h('th', {}, 'Type'), h('th.hide-narrow', {}, 'Details'))), tbody));
}

const views = {};

// Each navigation has a number; a view that awaited the server renders only if no navigation
// came meanwhile (a slow answer for the floor must not replace the EGM page clicked since).
// Fg.staleAnswers counts the answers dropped so (the browser test waits on it).
function stale(seq) {
  if (seq === Fg.routeSeq) return false;
  Fg.staleAnswers = (Fg.staleAnswers || 0) + 1;
  return true;
}

function route() {
  if (!Fg.session) return;
  Fg.routeSeq = (Fg.routeSeq || 0) + 1;
  const hash = location.hash.replace(/^#\/?/, '') || 'floor';
  const [view, ...rest] = hash.split('/');
  Fg.view = views[view] ? view : 'floor';
  Fg.routeArg = rest.length ? decodeURIComponent(rest.join('/')) : null;
  for (const a of document.querySelectorAll('nav a')) {
    const on = a.dataset.view === Fg.view;
    a.classList.toggle('active', on);
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  views[Fg.view]().catch((e) => { if (e.message !== 'login required') toast(`Error: ${e.message}`); });
}

function setView(...children) {
  const v = document.getElementById('view');
  v.replaceChildren(...children);
}

views.dashboard = async () => {
  const seq = Fg.routeSeq;
  const [r, hist] = await Promise.all([api('GET', '/api/dashboard'), api('GET', '/api/history')]);
  if (stale(seq)) return;
  Fg.dashboard = r.data;
  Fg.history = hist.ok ? hist.data : null;
  Fg.historyAt = Date.now();
  renderDashboard();
};

// A small line chart drawn by the page (SVG, no library): one polyline per series over the
// last hour's points, the newest value of each series written beside its name, so colour is
// never the only way to tell the lines apart.
const SVGNS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  return el;
}
function lineChart(id, title, series, fmt) {
  const W = 320, H = 90, pad = 4;
  const all = series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined));
  const max = Math.max(1, ...all);
  const n = Math.max(2, ...series.map((s) => s.values.length));
  const x = (i) => pad + (i * (W - 2 * pad)) / (n - 1);
  const y = (v) => H - pad - (v / max) * (H - 2 * pad);
  const plot = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title });
  plot.append(svg('line', { x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, class: 'axis' }));
  const colours = ['#2563eb', '#d97706', '#059669', '#7c3aed', '#dc2626'];
  series.forEach((s, k) => {
    const pts = s.values.map((v, i) => (v === null || v === undefined ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean);
    // One sample so far (the first minute): a level line across the chart, not an invisible dot.
    if (pts.length === 1) pts.splice(0, 1, `${pad},${pts[0].split(',')[1]}`, `${W - pad},${pts[0].split(',')[1]}`);
    plot.append(svg('polyline', { points: pts.join(' '), fill: 'none', stroke: colours[k % colours.length], 'stroke-width': 2, 'data-series': s.name }));
  });
  const legend = h('ul.legend', {}, series.map((s, k) => {
    const last = [...s.values].reverse().find((v) => v !== null && v !== undefined);
    const swatch = h('span.swatch', {});
    swatch.style.background = colours[k % colours.length];  // CSSOM: allowed by the page's CSP
    return h('li', {}, swatch, `${s.name}: ${last === undefined ? '—' : fmt(last)}`);
  }));
  return h('div.chart-box', { id }, h('h3', {}, title, h('span.muted', {}, ` (max ${fmt(max)})`)), plot, legend);
}

function historyCard() {
  const hist = Fg.history;
  const points = (hist && hist.points) || [];
  if (!points.length) return h('div.card', { id: 'history' }, h('h2', {}, 'Last hour'), h('p.muted', {}, 'No samples yet.'));
  const names = [...new Set(points.flatMap((p) => Object.keys(p.consumers || {})))];
  const per = (key) => names.map((n) => ({ name: n, values: points.map((p) => (p.consumers && p.consumers[n] ? p.consumers[n][key] : null)) }));
  return h('div.card', { id: 'history' }, h('h2', {}, `Last hour (one point per minute, ${points.length} so far)`),
    h('div.charts', {},
      lineChart('chart-rate', 'Events / s', [{ name: 'events/s', values: points.map((p) => p.events_per_s) }], (v) => fmtRate(v)),
      lineChart('chart-unacked', 'Unacked per consumer', per('unacked'), (v) => String(Math.round(v))),
      lineChart('chart-age', 'Oldest unacked per consumer', per('oldest_unacked_age_s'), (v) => fmtDuration(Math.round(v)))));
}

function renderDashboard() {
  const d = Fg.dashboard || {};
  const gw = d.gateway || {}, br = d.broker || {}, st = d.store || {}, eg = d.egms || {};
  const rate = d.events_per_s ?? (d.rates ? d.rates.events_in_per_s : null);
  const alarms = d.alarms || [];
  const retentionBad = st.retention_alarm === true || (st.retention && st.retention !== 'ok');
  const online = eg.online ?? null, total = eg.total ?? null;
  const cards = h('div.grid', {},
    h('div.card', {}, h('h2', {}, 'Gateway'), h('div.big', {}, dash(gw.id)),
      h('div.muted', {}, `site ${dash(gw.site)} · up ${fmtDuration(gw.uptime_s)}`)),
    h('div.card', { id: 'broker-card' }, h('h2', {}, 'MQTT broker'),
      br.connected ? badge('ok', 'Connected') : badge('bad', 'Disconnected'),
      h('div.muted', {}, br.url || (br.host ? `${br.host}:${dash(br.port)}` : '')),
      br.last_error && !br.connected ? h('div.error', {}, br.last_error) : null),
    h('div.card', {}, h('h2', {}, 'Events / s'), h('div.big', { id: 'rate' }, rate === null || rate === undefined ? '—' : Number(rate).toFixed(1))),
    h('div.card', {}, h('h2', {}, 'EGMs online'), h('div.big', { id: 'egms-online' }, `${dash(online)} / ${dash(total)}`),
      online !== null && total !== null ? (online === total ? badge('ok', 'All online') : badge('bad', `${total - online} offline`)) : null),
    h('div.card', {}, h('h2', {}, 'Store'), h('div.big', {}, fmtBytes(st.bytes ?? st.size_bytes)),
      h('div.muted', {}, `${dash(st.rows ?? st.events)} events · seq ${dash(st.first_seq ?? st.oldest_seq)}–${dash(st.last_seq ?? st.newest_seq)}`),
      retentionBad ? badge('bad', 'Retention alarm') : badge('ok', 'Retention ok')));
  const alarmCard = h('div.card', { id: 'alarms' }, h('h2', {}, 'Alarms'),
    alarms.length ? h('ul', {}, alarms.map((a) => h('li', {}, badge('bad', 'ALARM'), ' ', typeof a === 'string' ? a : dash(a.message)))) : h('p', {}, badge('ok', 'None'), ' No alarms'));
  const consumers = d.consumers || [];
  const ctable = h('div.card', {}, h('h2', {}, 'Consumers'), h('div.table-wrap', {}, h('table', { id: 'consumers' },
    h('thead', {}, h('tr', {}, ['Consumer', 'Required', 'Unacked', 'Oldest unacked', 'Acked up to', 'In flight', 'In /s', 'Done /s', 'Backlog /min', 'Clears in'].map((t) => h('th', {}, t)))),
    h('tbody', {}, consumers.map((c) => h('tr', {}, h('td', {}, dash(c.name)), h('td', {}, c.required ? 'yes' : 'no'),
      h('td.num', {}, dash(c.unacked)), h('td.num', {}, c.oldest_unacked_age_s == null ? '—' : fmtDuration(c.oldest_unacked_age_s)),
      h('td.num', {}, dash(c.acked_upto ?? c.acked_seq)), h('td.num', {}, dash(c.inflight)),
      h('td.num', {}, fmtRate(c.incoming_per_s)), h('td.num', {}, fmtRate(c.acked_per_s)),
      h('td.num', {}, c.backlog_growth_per_min == null ? '—' : (c.backlog_growth_per_min > 0 ? '+' : '') + fmtRate(c.backlog_growth_per_min)),
      h('td.num', {}, c.drain_eta_s == null ? (c.backlog_growth_per_min > 0 ? 'growing' : '—') : fmtDuration(Math.round(c.drain_eta_s)))))))));
  // The device key (docs/audit.md): what an auditor compares with the copy they hold.
  const key = d.device_key;
  const keyCard = h('div.card', { id: 'device-key' }, h('h2', {}, 'Audit: device key'),
    key ? [h('div.muted', {}, `key id ${dash(key.id)} · chain signed up to seq ${dash(key.signed_seq)}`),
      h('pre.pem', {}, dash(key.public_pem))]
      : h('p', {}, badge('bad', 'No key'), ' Chain heads are not signed (see the log).'));
  const liveCard = h('div.card', {}, h('h2', {}, 'Live events'),
    Fg.live.length ? null : h('p.muted', { id: 'no-live' }, 'Waiting for events…'), eventTable(Fg.live.slice(0, 15), ''));
  // The plots follow the dashboard's own refreshes, fetched again at most once a minute.
  const havePoints = Fg.history && Fg.history.points && Fg.history.points.length > 0;
  if (Fg.historyAt && Date.now() - Fg.historyAt > (havePoints ? 60000 : 5000)) {
    Fg.historyAt = Date.now();
    api('GET', '/api/history').then((r) => {
      if (!r.ok) return;
      Fg.history = r.data;
      const old = document.getElementById('history');
      if (old) old.replaceWith(historyCard());
    });
  }
  setView(h('h1', {}, 'Dashboard'), cards, alarmCard, ctable, historyCard(), liveCard, keyCard);
}

// The floor view (the landing page): machines grouped by bank, one tile each with what a floor
// crew acts on. Every state is written in words (and an icon); colour only repeats it.
views.floor = async () => {
  const seq = Fg.routeSeq;
  const r = await api('GET', '/api/egms');
  if (stale(seq)) return;
  Fg.egms = (r.data && r.data.egms) || [];
  renderFloor();
};

let floorRefresh = null;
function scheduleFloorRefresh() {
  if (floorRefresh) return;
  floorRefresh = setTimeout(async () => {
    floorRefresh = null;
    if (Fg.view !== 'floor') return;
    const r = await api('GET', '/api/egms');
    if (r.ok && Fg.view === 'floor') { Fg.egms = (r.data && r.data.egms) || []; renderFloor(); }
  }, 300);
}

// [state key, words, severity] for one EGM, most urgent first.
function egmStates(e) {
  const c = e.conditions || {};
  const out = [];
  const online = e.link_up ?? (e.link === 'online');
  if (!online) out.push(['offline', '✖ No link', 'bad']);
  for (const d of c.doors_open || []) out.push(['door-open', `▲ Door open (${d.replace(/_/g, ' ')})`, 'bad']);
  if (c.handpay_pending) out.push(['handpay', '$ Handpay waiting', 'warn']);
  if (c.tilt) out.push(['tilt', `⚠ Tilt: ${c.tilt.replace(/^tilt\./, '').replace(/_/g, ' ')}`, 'bad']);
  if (c.stacker_full) out.push(['stacker-full', '▣ Stacker full', 'warn']);
  if (!out.length) out.push(['ok', '✔ OK', 'ok']);
  return out;
}

function renderFloor() {
  const banks = new Map();
  for (const e of Fg.egms) {
    const bank = e.bank || e.location || 'No bank set';
    if (!banks.has(bank)) banks.set(bank, []);
    banks.get(bank).push(e);
  }
  const count = (key) => Fg.egms.filter((e) => egmStates(e).some(([k]) => k === key)).length;
  const summary = [['offline', 'no link'], ['door-open', 'door open'], ['handpay', 'handpay waiting'], ['tilt', 'tilt'], ['stacker-full', 'stacker full']]
    .map(([k, words]) => [count(k), words]).filter(([n]) => n > 0).map(([n, words]) => `${n} ${words}`);
  const sections = [...banks.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([bank, egms]) =>
    h('section.bank', { 'data-bank': bank }, h('h2', {}, `${bank} (${egms.length})`),
      h('div.tiles', {}, egms.map((e) => {
        const states = egmStates(e);
        const worst = states.some(([, , s]) => s === 'bad') ? 'bad' : (states.some(([, , s]) => s === 'warn') ? 'warn' : 'ok');
        const c = e.conditions || {};
        return h(`a.tile.${worst}`, { href: `#/egms/${encodeURIComponent(e.id)}`, 'data-egm': e.id, 'data-state': states.map(([k]) => k).join(' ') },
          h('div.tile-id', {}, e.id),
          h('ul.tile-state', {}, states.map(([, words]) => h('li', {}, words))),
          h('div.muted', {}, c.last_event_type ? `${c.last_event_type} · ${fmtAgo(c.last_event_ms)}` : 'no event yet'));
      }))));
  const fresh = [h('h1', {}, 'Floor'),
    h('p', { id: 'floor-summary' }, summary.length ? summary.join(' · ') : `All ${Fg.egms.length} machines OK`),
    ...(Fg.egms.length ? sections : [h('p.muted', {}, 'No EGMs configured.')])];
  if (!patchFloor(fresh)) setView(...fresh);
}

// The floor is pushed again every few seconds. Replacing its tiles would lose a tap that spans
// a push (the press on the old tile, the release on the new one: no click). With the same
// banks and machines on screen, each tile element stays and only its state and words change.
function patchFloor(fresh) {
  const view = document.getElementById('view');
  const summary = document.getElementById('floor-summary');
  if (!summary || !view.contains(summary)) return false;
  const ids = (root, sel, key) => [...root.querySelectorAll(sel)].map((el) => el.dataset[key]).join('\n');
  const wrap = h('div', {}, ...fresh);
  if (ids(view, 'a.tile', 'egm') !== ids(wrap, 'a.tile', 'egm') ||
      ids(view, 'section.bank', 'bank') !== ids(wrap, 'section.bank', 'bank')) return false;
  summary.textContent = wrap.querySelector('#floor-summary').textContent;
  const oldHeads = view.querySelectorAll('section.bank > h2');
  wrap.querySelectorAll('section.bank > h2').forEach((n, i) => { oldHeads[i].textContent = n.textContent; });
  const oldTiles = view.querySelectorAll('a.tile');
  wrap.querySelectorAll('a.tile').forEach((n, i) => {
    const t = oldTiles[i];
    t.className = n.className;
    t.setAttribute('href', n.getAttribute('href'));
    t.dataset.state = n.dataset.state;
    t.replaceChildren(...n.childNodes);
  });
  return true;
}

views.egms = async () => {
  if (Fg.routeArg) return renderEgmDetail(Fg.routeArg);
  const seq = Fg.routeSeq;
  const r = await api('GET', '/api/egms');
  if (stale(seq)) return;
  Fg.egms = (r.data && r.data.egms) || [];
  setView(h('h1', {}, 'EGMs'), h('div.table-wrap', { id: 'egm-table' }));
  renderEgmTable();
};

function renderEgmTable() {
  const wrap = document.getElementById('egm-table');
  if (!wrap) return;
  const rows = Fg.egms.map((e) => h('tr', { 'data-egm': e.id },
    h('td', {}, h('a', { href: `#/egms/${encodeURIComponent(e.id)}` }, dash(e.id))),
    h('td', {}, dash(e.bus)), h('td.hide-narrow', {}, dash(e.port ?? e.endpoint)), h('td.num', {}, dash(e.address)),
    h('td', {}, linkBadge(e)), h('td', {}, fmtAgo(e.last_poll_ms)),
    h('td', {}, e.last_event_type ? `${e.last_event_type} · ${fmtAgo(e.last_event_ms)}` : fmtAgo(e.last_event_ms)),
    h('td.hide-narrow', {}, e.counters ? Object.entries(e.counters).map(([k, v]) => `${k} ${v}`).join(', ') : '—')));
  const online = Fg.egms.filter((e) => (e.link ?? (e.link_up ? 'online' : 'offline')) === 'online').length;
  wrap.replaceChildren(h('p', { id: 'egm-summary' }, `${online} of ${Fg.egms.length} online`),
    h('table', {}, h('thead', {}, h('tr', {}, ['EGM', 'Bus', 'Port', 'Address', 'Link', 'Last poll', 'Last event', 'Counters']
      .map((t, i) => h(i === 2 || i === 7 ? 'th.hide-narrow' : 'th', {}, t)))), h('tbody', {}, rows)));
}

function kvList(obj) {
  const entries = Object.entries(obj || {}).filter(([, v]) => v === null || typeof v !== 'object');
  if (!entries.length) return h('p.muted', {}, 'None reported yet');
  // Wall-clock times (ms since the epoch) read as a time and an age, not a 13-digit number.
  const show = (k, v) => (/_ms$/.test(k) && typeof v === 'number' && v > 1e12 ? `${fmtTime(v)} (${fmtAgo(v)})` : dash(v));
  return h('dl.kv', {}, entries.flatMap(([k, v]) => [h('dt', {}, k.replace(/_/g, ' ')), h('dd', {}, show(k, v))]));
}

async function renderEgmDetail(id) {
  const seq = Fg.routeSeq;
  const r = await api('GET', `/api/egms/${encodeURIComponent(id)}`);
  if (stale(seq)) return;
  if (r.status === 404) return setView(h('h1', {}, 'EGM not found'), h('p', {}, `No EGM "${id}" is configured.`));
  const e = r.data;
  const summary = Object.fromEntries(Object.entries(e).filter(([k, v]) => !['identity', 'meters', 'recent_events', 'counters'].includes(k) && (v === null || typeof v !== 'object')));
  setView(h('p', {}, h('a', { href: '#/egms' }, '← All EGMs')), h('h1', {}, `EGM ${id} `, linkBadge(e)),
    h('div.grid', {}, h('div.card.wide', {}, h('h2', {}, 'Status'), kvList(summary)),
      h('div.card', {}, h('h2', {}, 'Identity'), kvList(e.identity)),
      h('div.card', {}, h('h2', {}, 'Counters'), kvList(e.counters))),
    h('div.card', {}, h('h2', {}, 'Meters'), meterTable(e)),
    h('div.card', {}, h('h2', {}, 'Recent events'), eventTable(e.recent_events || [], id)));
}

views.events = async () => {
  const form = h('form.toolbar', { id: 'event-filter' },
    h('label', {}, 'EGM', h('input', { name: 'egm', placeholder: 'any' })),
    h('label', {}, 'Type', h('input', { name: 'type', placeholder: 'e.g. door.*' })),
    h('label', {}, 'Class', h('select', { name: 'class' }, ['', 'financial', 'security', 'fault', 'operational', 'telemetry'].map((c) => h('option', { value: c }, c || 'any')))),
    h('label', {}, 'From', h('input', { name: 'since', type: 'datetime-local' })),
    h('label', {}, 'To', h('input', { name: 'until', type: 'datetime-local' })),
    h('button.primary', { type: 'submit' }, 'Filter'),
    h('a', { id: 'csv-link', href: '/api/events.csv', download: 'floorgate-events.csv' }, 'Export CSV'));
  const result = h('div', { id: 'event-results' });
  const load = async () => {
    const q = new URLSearchParams();
    const f = new FormData(form);
    for (const k of ['egm', 'type', 'class']) if (f.get(k)) q.set(k, f.get(k));
    for (const k of ['since', 'until']) if (f.get(k)) q.set(k, String(new Date(f.get(k)).getTime()));
    q.set('limit', '500');
    document.getElementById('csv-link').href = `/api/events.csv?${q}`;
    const r = await api('GET', `/api/events?${q}`);
    const rows = (r.data && r.data.events) || [];
    result.replaceChildren(h('p', {}, `${rows.length} events (newest first)`), eventTable(rows));
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
  setView(h('h1', {}, 'Events'), form, result);
  await load();
};

views.audit = async () => {
  const seq = Fg.routeSeq;
  const r = await api('GET', '/api/audit');
  if (stale(seq)) return;
  const rows = (r.data && r.data.audit) || [];
  setView(h('h1', {}, 'Configuration audit'), rows.length ? h('div.table-wrap', {}, h('table', { id: 'audit' },
    h('thead', {}, h('tr', {}, ['Time', 'Who', 'What', 'Details'].map((t) => h('th', {}, t)))),
    h('tbody', {}, rows.map((a) => {
      const at = a.attrs || {};
      return h('tr', {}, h('td', {}, fmtTime(tsOf(a))), h('td', {}, dash(a.user ?? at.user)),
        h('td', {}, dash(at.action ?? a.action ?? a.type)), h('td', {}, dash(a.summary ?? at.summary ?? at.what ?? at.change)));
    })))) : h('p', {}, 'No configuration changes recorded yet.'));
};

document.addEventListener('DOMContentLoaded', async () => {
  document.getElementById('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const user = document.getElementById('login-user').value;
    const password = document.getElementById('login-password').value;
    const r = await api('POST', '/api/login', { user, password });
    if (r.ok) { document.getElementById('login-password').value = ''; startSession(r.data); return; }
    document.getElementById('login-error').textContent =
      r.status === 429 ? 'Too many failed attempts; wait a minute and try again.' : 'Wrong user name or password.';
  });
  document.getElementById('logout').addEventListener('click', async () => {
    try { await api('POST', '/api/logout'); } catch (x) { /* already out */ }
    showLogin('You are signed out.');
  });
  window.addEventListener('hashchange', route);
  const r = await fetch('/api/session', { credentials: 'same-origin' });
  if (r.ok) startSession(await r.json()); else showLogin('');
});
