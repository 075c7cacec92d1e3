// floorgate technician page: the configuration view. Forms are generated from the YAML file
// itself (FgYaml), so they follow whatever keys the daemon's configuration has; submitting
// writes a complete new YAML document that the daemon validates with its own validator.
'use strict';

const Cfg = { doc: null, yaml: '', paths: null, canEdit: false, tab: 'forms', formsOk: true };

function pathParts(p) {
  const out = [];
  p.replace(/([^.[\]]+)|\[(\d+)\]/g, (m, key, idx) => { out.push(idx !== undefined ? Number(idx) : key); return m; });
  return out;
}
function getAt(obj, p) { return pathParts(p).reduce((o, k) => (o == null ? undefined : o[k]), obj); }
function setAt(obj, p, v) {
  const parts = pathParts(p), last = parts.pop();
  const parent = parts.reduce((o, k) => o[k], obj);
  parent[last] = v;
}
function isScalar(v) { return v === null || typeof v !== 'object'; }
function isScalarList(v) { return Array.isArray(v) && v.every(isScalar); }
function isFlat(o) { return o && !Array.isArray(o) && typeof o === 'object' && Object.values(o).every((v) => isScalar(v) || isScalarList(v)); }

function convert(input) {
  const kind = input.dataset.kind;
  if (kind === 'bool') return input.checked;
  const raw = input.value;
  if (kind === 'number') { if (raw.trim() === '') return null; const n = Number(raw); return Number.isFinite(n) ? n : raw; }
  if (kind === 'list') {
    return raw.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => (/^-?\d+$/.test(s) ? Number(s) : s));
  }
  if (kind === 'null' && raw === '') return null;
  return raw;
}

function fieldInput(value, path) {
  const attrs = { 'data-path': path, 'aria-label': path, disabled: !Cfg.canEdit };
  let kind = 'text';
  if (typeof value === 'boolean') kind = 'bool';
  else if (typeof value === 'number') kind = 'number';
  else if (Array.isArray(value)) kind = 'list';
  else if (value === null) kind = 'null';
  attrs['data-kind'] = kind;
  let el;
  if (kind === 'bool') el = h('input', { ...attrs, type: 'checkbox', checked: value === true });
  else if (kind === 'number') el = h('input', { ...attrs, type: 'number', step: 'any', value: String(value) });
  else if (kind === 'list') el = h('input', { ...attrs, value: value.join(', '), placeholder: 'comma, separated' });
  else el = h('input', { ...attrs, value: value === null ? '' : String(value) });
  el.addEventListener(kind === 'bool' ? 'change' : 'input', () => { setAt(Cfg.doc, path, convert(el)); clearFieldError(el); });
  return el;
}

function newItem(arr, key) {
  if (!arr.length) return key === 'egms' ? { id: '', address: null } : { name: '' };
  const item = JSON.parse(JSON.stringify(arr[arr.length - 1]));
  for (const k of Object.keys(item)) {
    if (k === 'id' || k === 'name') item[k] = '';
    if (k === 'address' && typeof item[k] === 'number') item[k] = Math.max(...arr.map((x) => Number(x.address) || 0)) + 1;
  }
  return item;
}

function addButton(arr, path, key) {
  const label = key === 'egms' ? 'Add EGM' : key === 'buses' ? 'Add bus' : key === 'consumers' ? 'Add consumer' : `Add to ${key}`;
  return h('button', { type: 'button', 'data-add': path, disabled: !Cfg.canEdit, onclick: () => { arr.push(newItem(arr, key)); renderForm(); } }, label);
}
function removeButton(arr, i, path) {
  return h('button.danger', { type: 'button', 'data-remove': path, 'aria-label': `Remove ${path}`, disabled: !Cfg.canEdit,
    onclick: () => { arr.splice(i, 1); renderForm(); } }, 'Remove');
}

function renderTable(arr, path, key) {
  const cols = [];
  for (const o of arr) for (const k of Object.keys(o)) if (!cols.includes(k)) cols.push(k);
  if (!cols.length) cols.push(...Object.keys(newItem([], key)));
  const rows = arr.map((o, i) => h('tr', { 'data-row': `${path}[${i}]` },
    cols.map((c) => h('td.cell', {}, fieldInput(o[c] === undefined ? (c === 'id' || c === 'name' ? '' : null) : o[c], `${path}[${i}].${c}`))),
    h('td', {}, removeButton(arr, i, `${path}[${i}]`))));
  return h('div', {}, h('div.table-wrap', {}, h('table', { 'data-table': path },
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', {}, c)), h('th', {}, ''))), h('tbody', {}, rows))),
  h('p', {}, addButton(arr, path, key)));
}

function renderNode(value, path, key) {
  if (isScalar(value) || isScalarList(value) && !(Array.isArray(value) && value.length === 0 && key === 'egms')) {
    return h('label', {}, key, fieldInput(value, path));
  }
  if (Array.isArray(value)) {
    if (value.every(isFlat)) return h('fieldset', { 'data-section': path }, h('legend', {}, key), renderTable(value, path, key));
    return h('fieldset', { 'data-section': path }, h('legend', {}, key),
      value.map((item, i) => {
        const p = `${path}[${i}]`;
        const title = item && (item.id || item.name) ? `${key} ${i + 1}: ${item.id || item.name}` : `${key} ${i + 1}`;
        return h('fieldset', { 'data-section': p }, h('legend', {}, title), renderObjectBody(item, p), removeButton(value, i, p));
      }), addButton(value, path, key));
  }
  return h('fieldset', { 'data-section': path }, h('legend', {}, key), renderObjectBody(value, path));
}

function renderObjectBody(obj, path) {
  const simple = [], complex = [];
  for (const [k, v] of Object.entries(obj)) {
    const p = path ? `${path}.${k}` : k;
    const el = renderNode(v, p, k);
    (el.tagName === 'LABEL' ? simple : complex).push(el);
  }
  return h('div', {}, simple.length ? h('div.fields', {}, simple) : null, complex);
}

function renderForm() {
  const box = document.getElementById('config-form');
  if (!box) return;
  if (!Cfg.formsOk) { box.replaceChildren(h('p', {}, 'This file uses YAML the form editor does not read; use the YAML tab.')); return; }
  const order = ['gateway', 'mqtt', 'buses', 'consumers'];
  const keys = [...order.filter((k) => k in Cfg.doc), ...Object.keys(Cfg.doc).filter((k) => !order.includes(k))];
  box.replaceChildren(...keys.map((k) => renderNode(Cfg.doc[k], k, k)));
}

function clearFieldError(input) {
  input.removeAttribute('aria-invalid');
  const next = input.nextElementSibling;
  if (next && next.classList.contains('field-error')) next.remove();
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

function showResult(r, okText) {
  const status = document.getElementById('config-status');
  clearErrors();
  const data = r.data || {};
  if (r.ok && data.ok !== false) {
    status.className = 'ok';
    status.textContent = `✔ ${data.message || okText}`;
    return true;
  }
  status.className = 'bad';
  status.textContent = `✖ ${data.message || data.error || `Request failed (${r.status})`}`;
  const list = document.getElementById('config-errors');
  for (const err of data.errors || []) {
    const field = Cfg.tab === 'forms' ? fieldFor(err) : null;
    const where = err.line ? `line ${err.line}${err.column ? `, column ${err.column}` : ''}` : '';
    if (field) {
      field.setAttribute('aria-invalid', 'true');
      field.after(h('span.field-error', { role: 'alert' }, err.message));
      field.scrollIntoView({ block: 'center' });
    }
    list.append(h('li', {}, [err.path, where].filter(Boolean).join(' · ') + (err.path || where ? ': ' : ''), err.message));
  }
  return false;
}

function currentYaml() {
  if (Cfg.tab === 'forms' && Cfg.formsOk) {
    const out = FgYaml.emitYaml(Cfg.doc);
    Cfg.paths = out.paths;
    return out.text;
  }
  Cfg.paths = null;
  return document.getElementById('config-yaml').value;
}

async function submitConfig(kind) {
  const yaml = currentYaml();
  const r = await api('POST', `/api/config/${kind}`, { yaml });
  const ok = showResult(r, kind === 'apply' ? 'Applied' : 'Valid');
  if (ok && kind === 'apply') await loadConfig(true);
}

function selectTab(tab) {
  if (tab === Cfg.tab) return;
  if (tab === 'yaml') {
    document.getElementById('config-yaml').value = Cfg.formsOk ? FgYaml.emitYaml(Cfg.doc).text : Cfg.yaml;
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
  const r = await api('GET', '/api/config');
  const d = r.data || {};
  Cfg.yaml = d.yaml || '';
  Cfg.canEdit = d.can_edit === true;
  try { Cfg.doc = FgYaml.parseYaml(Cfg.yaml); Cfg.formsOk = Cfg.doc !== null && typeof Cfg.doc === 'object' && !Array.isArray(Cfg.doc); } catch (e) { Cfg.formsOk = false; }
  if (!Cfg.formsOk) Cfg.tab = 'yaml';
  const yamlBox = document.getElementById('config-yaml');
  if (yamlBox) yamlBox.value = Cfg.yaml;
  if (!keepStatus) clearErrors();
  renderForm();
}

views.config = async () => {
  Cfg.tab = 'forms';
  const tech = Fg.session && Fg.session.role === 'technician';
  setView(h('h1', {}, 'Configuration'),
    h('div.toolbar', {},
      h('button', { type: 'button', id: 'config-validate', onclick: () => submitConfig('validate') }, 'Validate'),
      h('button.primary', { type: 'button', id: 'config-apply', disabled: !tech, onclick: () => submitConfig('apply') }, 'Apply'),
      h('button', { type: 'button', id: 'config-rollback', disabled: !tech, onclick: async () => {
        const r = await api('POST', '/api/config/rollback');
        if (showResult(r, 'Rolled back')) await loadConfig(true);
      } }, 'Roll back to previous'),
      tech ? null : h('span.muted', {}, 'Viewers can validate but not apply.')),
    // Technicians set a web account's password here; the server hashes it (the hash is all
    // the configuration file keeps, and viewers only ever see "(set)").
    tech ? h('form.toolbar', { id: 'password-form', onsubmit: async (e) => {
      e.preventDefault();
      const user = document.getElementById('pw-user').value.trim();
      const box = document.getElementById('pw-new');
      const r = await api('POST', '/api/users/password', { user, password: box.value });
      box.value = '';
      // Setting a password ends that account's sessions: for one's own account the reload
      // meets a 401, and api() has already shown the login view.
      if (showResult(r, 'Password set')) {
        await loadConfig(true).catch((err) => { if (err.message !== 'login required') throw err; });
      }
    } },
      h('input', { id: 'pw-user', required: true, autocomplete: 'username', placeholder: 'account', 'aria-label': 'Account whose password to set' }),
      h('input', { id: 'pw-new', type: 'password', required: true, minlength: '8', autocomplete: 'new-password', placeholder: 'new password (8+ characters)', 'aria-label': 'New password' }),
      h('button', { type: 'submit', id: 'pw-set' }, 'Set password')) : null,
    h('p', { id: 'config-status', role: 'status' }),
    h('ul.error', { id: 'config-errors' }),
    h('div.tabs', { role: 'tablist' },
      h('button', { type: 'button', role: 'tab', 'data-tab': 'forms', 'aria-selected': 'true', onclick: () => selectTab('forms') }, 'Forms'),
      h('button', { type: 'button', role: 'tab', 'data-tab': 'yaml', 'aria-selected': 'false', onclick: () => selectTab('yaml') }, 'YAML')),
    h('form', { id: 'config-form', onsubmit: (e) => e.preventDefault() }),
    h('textarea.yaml', { id: 'config-yaml', hidden: true, spellcheck: 'false', readonly: !tech, 'aria-label': 'Configuration YAML' }));
  await loadConfig(false);
  if (!Cfg.formsOk) { Cfg.tab = 'forms'; selectTab('yaml'); }
};
