// floorgate technician page: the configuration and the web accounts. The forms are rendered
// from the daemon's JSON Schema of the configuration (GET /api/config/schema, made from the
// same key table the loader checks): a select for each choice, a number field with its range,
// list editors for buses, EGMs, consumers, routes and meter codes, the default as placeholder,
// one line of help under each field, advanced keys folded. Apply shows the YAML diff first;
// the daemon validates with its own validator and errors land beside their field.
'use strict';

const Cfg = {
  schema: null, doc: null, orig: null, yaml: '', paths: null, canEdit: false,
  tab: 'forms', formsOk: true, open: new Set(),
};

function pathParts(p) {
  const out = [];
  p.replace(/([^.[\]]+)|\[(\d+)\]/g, (m, key, idx) => { out.push(idx !== undefined ? Number(idx) : key); return m; });
  return out;
}
function getAt(obj, p) { return pathParts(p).reduce((o, k) => (o == null ? undefined : o[k]), obj); }
// Sets (or, for undefined, removes) the value at `p`, creating the mappings on the way.
function setAt(obj, p, v) {
  const parts = pathParts(p), last = parts.pop();
  let o = obj;
  for (const k of parts) {
    if (o[k] === null || typeof o[k] !== 'object') o[k] = {};
    o = o[k];
  }
  if (v === undefined) delete o[last]; else o[last] = v;
}

// The driver of the bus `path` is in (buses[i] or buses[i].egms[j]); null elsewhere.
function driverOf(path) {
  const m = /^buses\[(\d+)\]/.exec(path);
  if (!m) return null;
  const bus = (Cfg.doc.buses || [])[Number(m[1])];
  return bus && typeof bus.driver === 'string' ? bus.driver : null;
}
function applies(prop, path) {
  const d = prop['x-drivers'];
  const drv = driverOf(path);
  return !d || !drv || d.includes(drv);
}

function defaultText(prop) {
  if ('default' in prop) {
    const d = prop.default;
    if (Array.isArray(d)) return d.length ? d.join(', ') : 'none';
    if (d === '') return 'none';
    return String(d);
  }
  return prop['x-default-note'] || '';
}
function rangeText(prop) {
  if (prop.type !== 'integer') return '';
  if (prop.anyOf) { const r = prop.anyOf[1]; return `0 or ${r.minimum}–${r.maximum}`; }
  return `${prop.minimum}–${prop.maximum}`;
}
function bounds(prop) { return prop.anyOf ? { min: 0, max: prop.anyOf[1].maximum } : { min: prop.minimum, max: prop.maximum }; }

function edited(path, v, el) {
  setAt(Cfg.doc, path, v);
  if (el) clearFieldError(el);
}

// After a bus changes driver: the keys that do not apply to the new one (a serial port on a
// G2S bus, SAS addresses on G2S EGMs) go, so the file stays one the daemon accepts.
function dropOtherDriverKeys(busPath) {
  const bus = getAt(Cfg.doc, busPath);
  const busSchema = Cfg.schema.properties.buses.items;
  if (!bus || typeof bus.driver !== 'string') return;
  const strip = (obj, schema) => {
    for (const [k, prop] of Object.entries(schema.properties || {})) {
      if (prop['x-drivers'] && !prop['x-drivers'].includes(bus.driver)) delete obj[k];
    }
  };
  strip(bus, busSchema);
  for (const e of Array.isArray(bus.egms) ? bus.egms : []) if (e && typeof e === 'object') strip(e, busSchema.properties.egms.items);
}

// One input for a leaf key, by its schema.
function leafInput(key, prop, path, value, required) {
  const common = { id: `f-${path}`, 'data-path': path, disabled: !Cfg.canEdit, 'aria-describedby': `h-${path}` };
  const def = defaultText(prop);
  if (prop['x-secret']) return h('span.muted', { 'data-path': path }, value ? '(set — change it under Users)' : '(not set)');
  if (prop.enum || prop.type === 'boolean') {
    const choices = prop.enum || [true, false];
    const sel = h('select', common,
      h('option', { value: '' }, required ? '— choose —' : `default (${def || 'unset'})`),
      choices.map((c) => h('option', { value: String(c), selected: value !== undefined && String(value) === String(c) },
        prop.type === 'boolean' ? (c ? 'yes' : 'no') : String(c))));
    sel.addEventListener('change', () => {
      const raw = sel.value;
      const v = raw === '' ? undefined : prop.type === 'boolean' ? raw === 'true' : raw;
      edited(path, v, sel);
      if (key === 'driver') { dropOtherDriverKeys(path.slice(0, -'.driver'.length)); renderForm(); }
    });
    return sel;
  }
  if (prop.type === 'integer') {
    const b = bounds(prop);
    const el = h('input', { ...common, type: 'number', inputmode: 'numeric', step: '1', min: String(b.min), max: String(b.max),
      placeholder: def ? `default ${def}` : (prop.examples ? `e.g. ${prop.examples[0]}` : ''), value: value === undefined || value === null ? '' : String(value) });
    el.addEventListener('input', () => {
      const raw = el.value.trim();
      edited(path, raw === '' ? undefined : (/^-?\d+$/.test(raw) ? Number(raw) : raw), el);
    });
    return el;
  }
  if (prop.type === 'array' && prop.items && prop.items.enum) return checkList(prop, path, value);
  if (prop.type === 'array') return chipList(key, prop, path, value);
  const el = h('input', { ...common, value: value === undefined || value === null ? '' : String(value),
    placeholder: def && def !== 'none' ? `default ${def}` : (prop.examples ? `e.g. ${prop.examples[0]}` : ''),
    maxlength: prop.maxLength ? String(prop.maxLength) : undefined });
  el.addEventListener('input', () => edited(path, el.value === '' ? undefined : el.value, el));
  return el;
}

// A list of choices (event classes): one checkbox each.
function checkList(prop, path, value) {
  const chosen = Array.isArray(value) ? value : [];
  return h('span.checks', { 'data-path': path, role: 'group' }, prop.items.enum.map((c) => {
    const box = h('input', { type: 'checkbox', value: c, checked: chosen.includes(c), disabled: !Cfg.canEdit,
      'data-choice': `${path}=${c}` });
    box.addEventListener('change', () => {
      const now = new Set(Array.isArray(getAt(Cfg.doc, path)) ? getAt(Cfg.doc, path) : []);
      if (box.checked) now.add(c); else now.delete(c);
      edited(path, prop.items.enum.filter((x) => now.has(x)));
    });
    return h('label.check', {}, box, ` ${c}`);
  }));
}

function fmtCode(c) {
  if (typeof c === 'number') return `0x${c.toString(16).toUpperCase().padStart(2, '0')}`;
  return String(c);
}

// A list of strings (types, EGM ids, brokers, host names) or meter codes: chips and an Add box.
function chipList(key, prop, path, value) {
  const codes = prop['x-kind'] === 'meter-codes';
  const list = Array.isArray(value) ? value : null;
  const shown = list || (codes && Array.isArray(prop.default) ? prop.default : []);
  const box = h('span.chips', { 'data-list': path });
  const redraw = () => {
    const cur = Array.isArray(getAt(Cfg.doc, path)) ? getAt(Cfg.doc, path) : shown;
    box.replaceChildren(...cur.map((v, i) => h('span.chip', {},
      codes ? fmtCode(v) : String(v),
      Cfg.canEdit ? h('button', { type: 'button', 'aria-label': `Remove ${codes ? fmtCode(v) : v}`, onclick: () => {
        const next = cur.slice(); next.splice(i, 1); edited(path, next); redraw();
      } }, '×') : null)));
    if (!list && !Array.isArray(getAt(Cfg.doc, path)) && cur.length === 0) box.append(h('span.muted', {}, 'none'));
  };
  redraw();
  const input = h('input', { 'data-path': path, id: `f-${path}`, disabled: !Cfg.canEdit, size: '14',
    placeholder: codes ? 'e.g. 0x1C' : (prop.examples ? `e.g. ${prop.examples[0]}` : 'add…'),
    list: key === 'egms' ? 'egm-ids' : undefined, 'aria-label': `Add to ${key}` });
  const add = () => {
    const raw = input.value.trim();
    if (!raw) return;
    const cur = Array.isArray(getAt(Cfg.doc, path)) ? getAt(Cfg.doc, path).slice() : shown.slice();
    cur.push(codes && /^\d+$/.test(raw) ? Number(raw) : raw);
    edited(path, cur, input);
    input.value = '';
    redraw();
  };
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); add(); } });
  return h('span.chip-editor', {}, box, h('span.chip-add', {}, input,
    h('button', { type: 'button', disabled: !Cfg.canEdit, 'data-add-to': path, onclick: add }, 'Add')));
}

function leafField(key, prop, path, value, required) {
  const help = [prop.description, rangeText(prop) && `range ${rangeText(prop)}`,
    defaultText(prop) && !required && `default ${defaultText(prop)}`].filter(Boolean).join(' · ');
  return h('div.field', { 'data-field': path },
    h('label', { for: `f-${path}` }, key, required ? h('span.req', { title: 'required' }, ' (required)') : null),
    leafInput(key, prop, path, value, required),
    h('small.help', { id: `h-${path}` }, help));
}

function isLeaf(prop) { return !(prop.type === 'object' || (prop.type === 'array' && prop.items && prop.items.type === 'object')); }

function itemTitle(key, item, i) {
  if (!item || typeof item !== 'object') return `${key} ${i + 1}`;
  const name = item.id || item.name || '(new)';
  if (key === 'buses') return `Bus ${name} · ${item.driver || 'driver?'} · ${(item.egms || []).length} EGMs`;
  if (key === 'egms') return `EGM ${name}${item.address !== undefined ? ` · address ${item.address}` : ''}${item.bank ? ` · ${item.bank}` : ''}`;
  if (key === 'consumers') return `Consumer ${name}`;
  return `${key} ${name}`;
}

function newItem(key, path) {
  if (key === 'egms') {
    const drv = driverOf(path);
    if (drv === 'g2s') return { id: '', g2s_egm_id: '', url: '' };
    const used = (getAt(Cfg.doc, path) || []).map((e) => Number(e.address) || 0);
    return { id: '', address: Math.max(0, ...used) + 1 };
  }
  if (key === 'buses') return { id: '', driver: 'sas-serial', port: '', egms: [] };
  return key === 'consumers' ? { name: '' } : {};
}

// A list of mappings: one folding item each, Remove on each, Add at the end.
function listEditor(key, prop, path, value) {
  const arr = Array.isArray(value) ? value : [];
  const items = arr.map((item, i) => {
    const p = `${path}[${i}]`;
    const d = h('details.item', { 'data-item': p, open: Cfg.open.has(p) },
      h('summary', {}, itemTitle(key, item, i)),
      renderObject(prop.items, item || {}, p),
      h('button.danger', { type: 'button', 'data-remove': p, disabled: !Cfg.canEdit, onclick: () => {
        arr.splice(i, 1); Cfg.open.clear(); renderForm();
      } }, `Remove ${itemTitle(key, item, i)}`));
    d.addEventListener('toggle', () => { if (d.open) Cfg.open.add(p); else Cfg.open.delete(p); });
    return d;
  });
  const label = { egms: 'Add EGM', buses: 'Add bus', consumers: 'Add consumer' }[key] || `Add to ${key}`;
  return h('fieldset', { 'data-section': path },
    h('legend', {}, key),
    h('small.help', {}, prop.description || ''),
    items,
    h('p', {}, h('button', { type: 'button', 'data-add': path, disabled: !Cfg.canEdit, onclick: () => {
      let list = getAt(Cfg.doc, path);
      if (!Array.isArray(list)) { list = []; setAt(Cfg.doc, path, list); }
      list.push(newItem(key, path));
      Cfg.open.add(`${path}[${list.length - 1}]`);
      renderForm();
      const first = document.querySelector(`[data-item="${CSS.escape(`${path}[${list.length - 1}]`)}"] input:not([disabled])`);
      if (first) first.focus();
    } }, label)));
}

// The fields of one mapping: its everyday keys, then its sections, then "Advanced" folded.
function renderObject(schema, value, path) {
  const normal = [], nested = [], advanced = [];
  const required = schema.required || [];
  for (const [key, prop] of Object.entries(schema.properties || {})) {
    const p = path ? `${path}.${key}` : key;
    if (!applies(prop, p)) continue;
    if (path === 'web' && key === 'users') {
      nested.push(h('p.muted', {}, 'Web accounts are managed under ', h('a', { href: '#/users' }, 'Users'), '.'));
      continue;
    }
    const v = value ? value[key] : undefined;
    let el;
    if (isLeaf(prop)) el = leafField(key, prop, p, v, required.includes(key));
    else if (prop.type === 'array') el = listEditor(key, prop, p, v);
    else {
      el = h('fieldset', { 'data-section': p }, h('legend', {}, key), h('small.help', {}, prop.description || ''),
        renderObject(prop, v || {}, p));
    }
    if (prop['x-advanced']) advanced.push(el);
    else (isLeaf(prop) ? normal : nested).push(el);
  }
  // Keys the schema does not know (a pasted file, a typo): shown so they can be seen and
  // removed; the daemon refuses them.
  for (const [key, v] of Object.entries(value || {})) {
    if ((schema.properties || {})[key] || (v !== null && typeof v === 'object')) continue;
    const p = path ? `${path}.${key}` : key;
    normal.push(h('div.field.unknown', { 'data-field': p },
      h('label', { for: `f-${p}` }, key),
      h('span.chip-add', {}, h('input', { id: `f-${p}`, 'data-path': p, value: String(v), disabled: true }),
        h('button', { type: 'button', disabled: !Cfg.canEdit, 'data-remove-key': p, onclick: () => { edited(p, undefined); renderForm(); } }, 'Remove')),
      h('small.help', {}, '⚠ not a configuration key here: the daemon will refuse it')));
  }
  const adv = advanced.length
    ? h('details.advanced', { 'data-advanced': path || 'top', open: Cfg.open.has(`adv:${path}`) },
      h('summary', {}, `Advanced settings (${advanced.length})`), h('div.fields', {}, advanced))
    : null;
  if (adv) adv.addEventListener('toggle', () => { if (adv.open) Cfg.open.add(`adv:${path}`); else Cfg.open.delete(`adv:${path}`); });
  return h('div', {}, normal.length ? h('div.fields', {}, normal) : null, nested, adv);
}

function renderForm() {
  const box = document.getElementById('config-form');
  if (!box) return;
  if (!Cfg.formsOk || !Cfg.schema) {
    box.replaceChildren(h('p', {}, 'This file uses YAML the form editor does not read; use the YAML tab.'));
    return;
  }
  const ids = [];
  for (const b of Cfg.doc.buses || []) for (const e of (b && b.egms) || []) if (e && e.id) ids.push(e.id);
  box.replaceChildren(
    h('datalist', { id: 'egm-ids' }, ids.map((id) => h('option', { value: id }))),
    renderObject(Cfg.schema, Cfg.doc, ''));
}

function clearFieldError(input) {
  input.removeAttribute('aria-invalid');
  const holder = input.closest('.field') || input.parentElement;
  for (const e of holder.querySelectorAll('.field-error')) e.remove();
}

function clearErrors() {
  for (const el of document.querySelectorAll('.field-error')) el.remove();
  for (const el of document.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  const list = document.getElementById('config-errors');
  if (list) list.replaceChildren();
}

// The form field for an error: by its path, else by the line the form wrote it on.
function fieldFor(err) {
  let p = err.path || (Cfg.paths && err.line > 0 ? Cfg.paths[err.line - 1] : '');
  while (p) {
    const el = document.querySelector(`#config-form [data-path="${CSS.escape(p)}"]`);
    if (el) return el;
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    if (cut <= 0) break;
    p = p.slice(0, cut);
  }
  return null;
}

function setStatus(id, ok, text) {
  const status = document.getElementById(id);
  if (!status) return;
  status.className = ok ? 'ok' : 'bad';
  status.textContent = `${ok ? '✔' : '✖'} ${text}`;
}

function showResult(r, okText) {
  clearErrors();
  const data = r.data || {};
  if (r.ok && data.ok !== false) { setStatus('config-status', true, data.message || okText); return true; }
  setStatus('config-status', false, data.message || data.error || `Request failed (${r.status})`);
  const list = document.getElementById('config-errors');
  let first = null;
  for (const err of data.errors || []) {
    const field = Cfg.tab === 'forms' ? fieldFor(err) : null;
    const where = err.line ? `line ${err.line}${err.column ? `, column ${err.column}` : ''}` : '';
    if (field) {
      for (let d = field.closest('details'); d; d = d.parentElement.closest('details')) d.open = true;
      field.setAttribute('aria-invalid', 'true');
      field.after(h('span.field-error', { role: 'alert' }, err.message));
      first = first || field;
    }
    list.append(h('li', {}, [err.path, where].filter(Boolean).join(' · ') + (err.path || where ? ': ' : ''), err.message));
  }
  if (first) first.scrollIntoView({ block: 'center' });
  return false;
}

function currentYaml() {
  if (Cfg.tab === 'forms' && Cfg.formsOk) {
    const out = FgYaml.emitYaml(JSON.parse(JSON.stringify(Cfg.doc)));
    Cfg.paths = out.paths;
    return out.text;
  }
  Cfg.paths = null;
  return document.getElementById('config-yaml').value;
}

// Line diff (longest common subsequence) of two texts: [[' '|'-'|'+', line], ...].
function lineDiff(before, after) {
  const a = before.replace(/\n$/, '').split('\n'), b = after.replace(/\n$/, '').split('\n');
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const A = a.slice(pre, a.length - suf), B = b.slice(pre, b.length - suf);
  const out = a.slice(0, pre).map((l) => [' ', l]);
  if (A.length * B.length > 4e6) {  // too big to align: all out, all in
    out.push(...A.map((l) => ['-', l]), ...B.map((l) => ['+', l]));
  } else {
    const n = A.length, m = B.length, L = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = A[i] === B[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    let i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && A[i] === B[j]) { out.push([' ', A[i]]); i++; j++; } else if (j < m && (i === n || L[i][j + 1] >= L[i + 1][j])) { out.push(['+', B[j++]]); } else { out.push(['-', A[i++]]); }
    }
  }
  out.push(...a.slice(a.length - suf).map((l) => [' ', l]));
  return out;
}

// The changed lines with three lines of context around them; '…' where lines are left out.
function renderDiff(diff) {
  const keep = diff.map(() => false);
  diff.forEach(([op], i) => { if (op !== ' ') for (let k = Math.max(0, i - 3); k <= Math.min(diff.length - 1, i + 3); k++) keep[k] = true; });
  const rows = [];
  let skipped = false;
  diff.forEach(([op, text], i) => {
    if (!keep[i]) { if (!skipped) rows.push(h('span.skip', {}, '…\n')); skipped = true; return; }
    skipped = false;
    rows.push(h(`span.${op === '+' ? 'add' : op === '-' ? 'del' : 'ctx'}`, {}, `${op} ${text}\n`));
  });
  return h('pre.diff', { id: 'config-diff-lines' }, rows);
}

function closeReview() {
  const box = document.getElementById('config-review');
  if (box) { box.hidden = true; box.replaceChildren(); }
}

// Apply: validate, then show what will change (YAML before/after as a diff), then apply.
async function reviewAndApply() {
  const yaml = currentYaml();
  const paths = Cfg.paths;
  const r = await api('POST', '/api/config/validate', { yaml });
  if (!showResult(r, 'Valid')) return;
  setStatus('config-status', true, 'Valid; review the change below, then apply it');
  const before = Cfg.tab === 'forms' && Cfg.formsOk ? FgYaml.emitYaml(Cfg.orig).text : Cfg.yaml;
  const diff = lineDiff(before, yaml);
  const changed = diff.filter(([op]) => op !== ' ').length;
  const box = document.getElementById('config-review');
  if (!changed) { setStatus('config-status', true, 'Nothing to apply: the configuration is unchanged'); return; }
  const added = diff.filter(([op]) => op === '+').length, removed = changed - added;
  box.replaceChildren(
    h('h2', {}, 'Review the change'),
    h('p', {}, `${added} line${added === 1 ? '' : 's'} added (+), ${removed} removed (−). Nothing is changed until you apply.`),
    renderDiff(diff),
    h('div.toolbar', {},
      h('button.primary', { type: 'button', id: 'config-confirm', onclick: async () => {
        Cfg.paths = paths;
        const status = document.getElementById('config-status');
        status.className = 'busy';
        status.textContent = 'Applying…';
        const res = await api('POST', '/api/config/apply', { yaml });
        const ok = showResult(res, 'Applied');
        closeReview();
        if (ok) await loadConfig(true);
      } }, 'Apply these changes'),
      h('button', { type: 'button', id: 'config-cancel', onclick: closeReview }, 'Keep editing')));
  box.hidden = false;
  box.scrollIntoView({ block: 'start' });
}

function selectTab(tab) {
  if (tab === Cfg.tab) return;
  closeReview();
  if (tab === 'yaml') {
    document.getElementById('config-yaml').value = Cfg.formsOk ? currentYaml() : Cfg.yaml;
  } else {
    try { Cfg.doc = FgYaml.parseYaml(document.getElementById('config-yaml').value); Cfg.formsOk = true; } catch (e) {
      showResult({ ok: false, status: 0, data: { message: `The YAML cannot be shown as forms: ${e.message}` } });
      return;
    }
    renderForm();
  }
  Cfg.tab = tab;
  for (const b of document.querySelectorAll('.tabs button')) b.setAttribute('aria-selected', String(b.dataset.tab === tab));
  document.getElementById('config-form').hidden = tab !== 'forms';
  document.getElementById('config-yaml').hidden = tab !== 'yaml';
}

async function loadConfig(keepStatus) {
  const [r, s] = await Promise.all([api('GET', '/api/config'), Cfg.schema ? null : api('GET', '/api/config/schema')]);
  if (s) Cfg.schema = s.ok ? s.data : null;
  const d = r.data || {};
  Cfg.yaml = d.yaml || '';
  Cfg.canEdit = d.can_edit === true;
  try {
    Cfg.doc = FgYaml.parseYaml(Cfg.yaml);
    Cfg.formsOk = Cfg.doc !== null && typeof Cfg.doc === 'object' && !Array.isArray(Cfg.doc);
  } catch (e) { Cfg.formsOk = false; }
  Cfg.orig = Cfg.formsOk ? JSON.parse(JSON.stringify(Cfg.doc)) : null;
  if (!Cfg.formsOk) Cfg.tab = 'yaml';
  const yamlBox = document.getElementById('config-yaml');
  if (yamlBox) yamlBox.value = Cfg.yaml;
  if (!keepStatus) clearErrors();
  renderForm();
}

views.config = async () => {
  Cfg.tab = 'forms';
  Cfg.open.clear();
  const tech = Fg.session && Fg.session.role === 'technician';
  setView(h('h1', {}, 'Configuration'),
    h('div.toolbar', {},
      h('button', { type: 'button', id: 'config-validate', onclick: async () => {
        closeReview();
        showResult(await api('POST', '/api/config/validate', { yaml: currentYaml() }), 'Valid');
      } }, 'Validate'),
      h('button.primary', { type: 'button', id: 'config-apply', disabled: !tech, onclick: reviewAndApply }, 'Review and apply…'),
      h('button', { type: 'button', id: 'config-rollback', disabled: !tech, onclick: async () => {
        closeReview();
        const r = await api('POST', '/api/config/rollback');
        if (showResult(r, 'Rolled back')) await loadConfig(true);
      } }, 'Roll back to previous'),
      tech ? null : h('span.muted', {}, 'Viewers can validate but not apply.')),
    h('p', { id: 'config-status', role: 'status' }),
    h('ul.error', { id: 'config-errors' }),
    h('section.card', { id: 'config-review', hidden: true, 'aria-live': 'polite' }),
    h('div.tabs', { role: 'tablist' },
      h('button', { type: 'button', role: 'tab', 'data-tab': 'forms', 'aria-selected': 'true', onclick: () => selectTab('forms') }, 'Forms'),
      h('button', { type: 'button', role: 'tab', 'data-tab': 'yaml', 'aria-selected': 'false', onclick: () => selectTab('yaml') }, 'YAML')),
    h('form', { id: 'config-form', onsubmit: (e) => e.preventDefault() }),
    h('textarea.yaml', { id: 'config-yaml', hidden: true, spellcheck: 'false', readonly: !tech, 'aria-label': 'Configuration YAML' }));
  await loadConfig(false);
  if (!Cfg.formsOk) { Cfg.tab = 'forms'; selectTab('yaml'); }
};

// Web accounts: list, add, set a password (hashed by the daemon), change a role, remove. Each
// change is a configuration change of its own, audited like any other.
async function usersAction(path, body, okText) {
  const status = document.getElementById('users-status');
  status.className = 'busy';
  status.textContent = 'Saving…';
  const r = await api('POST', path, body);
  const data = r.data || {};
  const ok = r.ok && data.ok !== false;
  // Redraw the table first, then say "done": a status that reads ok always stands beside the
  // fresh rows, so nobody (a technician or a test) types into a row that is about to be replaced.
  if (ok) await views.users(true).catch((e) => { if (e.message !== 'login required') throw e; });
  setStatus('users-status', ok, ok ? (data.message || okText) : (data.message || data.error || `Request failed (${r.status})`));
  return ok;
}

function roleSelect(attrs, value) {
  return h('select', attrs, ['viewer', 'technician'].map((r) => h('option', { value: r, selected: r === value }, r)));
}

views.users = async (keepStatus) => {
  const r = await api('GET', '/api/users');
  const d = r.data || {};
  const tech = d.can_edit === true;
  const status = keepStatus === true && document.getElementById('users-status');
  const kept = status ? [status.className, status.textContent] : null;
  const rows = (d.users || []).map((u) => {
    const pw = h('input', { type: 'password', minlength: '8', autocomplete: 'new-password', placeholder: 'new password (8+)',
      'aria-label': `New password for ${u.name}`, 'data-password-for': u.name });
    const role = roleSelect({ 'aria-label': `Role of ${u.name}`, 'data-role-for': u.name, disabled: !tech }, u.role);
    role.addEventListener('change', () => usersAction('/api/users/role', { user: u.name, role: role.value }, 'Role changed'));
    return h('tr', { 'data-user': u.name },
      h('td', {}, u.name, u.name === Fg.session.user ? h('span.muted', {}, ' (you)') : null),
      h('td', {}, role),
      tech ? h('td', {}, h('form.inline', { onsubmit: async (e) => {
        e.preventDefault();
        const value = pw.value;
        pw.value = '';
        await usersAction('/api/users/password', { user: u.name, password: value }, 'Password set');
      } }, pw, h('button', { type: 'submit', 'data-set-password': u.name }, 'Set password'))) : null,
      tech ? h('td', {}, h('button.danger', { type: 'button', 'data-remove-user': u.name, onclick: () => {
        if (window.confirm(`Remove the account ${u.name}?`)) usersAction('/api/users/remove', { user: u.name }, 'Removed');
      } }, 'Remove')) : null);
  });
  const addForm = tech ? h('form.card', { id: 'user-add', onsubmit: async (e) => {
    e.preventDefault();
    const f = e.target;
    const body = { name: f.elements.name.value.trim(), role: f.elements.role.value, password: f.elements.password.value };
    f.elements.password.value = '';
    await usersAction('/api/users', body, 'Account added');
  } },
  h('h2', {}, 'Add an account'),
  h('div.fields', {},
    h('label', {}, 'Name', h('input', { name: 'name', id: 'user-add-name', required: true, pattern: '[A-Za-z0-9_\\-]{1,64}', autocomplete: 'off' }),
      h('small.help', {}, '1–64 characters from A–Z a–z 0–9 - _')),
    h('label', {}, 'Role', roleSelect({ name: 'role', id: 'user-add-role' }, 'viewer'),
      h('small.help', {}, 'viewer: read only; technician: may also change the configuration')),
    h('label', {}, 'Password', h('input', { name: 'password', id: 'user-add-password', type: 'password', required: true, minlength: '8', autocomplete: 'new-password' }),
      h('small.help', {}, '8 or more characters; only its hash is stored'))),
  h('button.primary', { type: 'submit', id: 'user-add-submit' }, 'Add account')) : null;
  setView(h('h1', {}, 'Users'),
    h('p', { id: 'users-status', role: 'status' }),
    h('div.table-wrap', {}, h('table', { id: 'users' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Account'), h('th', {}, 'Role'), tech ? h('th', {}, 'Password') : null, tech ? h('th', {}, '') : null)),
      h('tbody', {}, rows))),
    tech ? null : h('p.muted', {}, 'Only technicians can change accounts.'),
    addForm);
  if (kept) { const s = document.getElementById('users-status'); s.className = kept[0]; s.textContent = kept[1]; }
};
