// Browser scenario for the floorgate technician page, in headless Debian Chromium.
// Target: FLOORGATE_WEB_URL (a real floorgate), else a floorgate-web-demo child
// (FLOORGATE_WEB_DEMO = its path). Env: FLOORGATE_WEB_USER / FLOORGATE_WEB_PASSWORD,
// FLOORGATE_EXPECT_EGMS (8), FLOORGATE_DOOR_CMD (shell command that opens a slot door in the
// simulator) and FLOORGATE_DOOR_EGM (the EGM it opens), FLOORGATE_NEW_EGM_ID /
// FLOORGATE_NEW_EGM_ADDRESS (the EGM to add; the simulator must answer at that address),
// FLOORGATE_BAD_ADDRESS (300). Screenshots go to tests/browser/artifacts/ and, for two of
// them, docs/.
import { chromium } from 'playwright-core';
import { spawn, execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, copyFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.join(here, 'artifacts');
const docs = path.join(here, '..', '..', 'docs');
mkdirSync(artifacts, { recursive: true });
const env = process.env;
const user = env.FLOORGATE_WEB_USER || 'tech';
const password = env.FLOORGATE_WEB_PASSWORD || 'tech-pass';
const expectEgms = Number(env.FLOORGATE_EXPECT_EGMS || 8);
const doorEgm = env.FLOORGATE_DOOR_EGM || 'bank1-03';
const newEgmId = env.FLOORGATE_NEW_EGM_ID || 'bank1-05';
const newEgmAddress = env.FLOORGATE_NEW_EGM_ADDRESS || '5';
const badAddress = env.FLOORGATE_BAD_ADDRESS || '300';
const T = 30000;

let demo = null;
async function startDemo() {
  const bin = env.FLOORGATE_WEB_DEMO;
  assert.ok(bin, 'set FLOORGATE_WEB_URL or FLOORGATE_WEB_DEMO');
  demo = spawn(bin, ['--port', '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    demo.stdout.on('data', (d) => { out += d; const m = out.match(/listening (\d+)/); if (m) resolve(m[1]); });
    demo.on('exit', (c) => reject(new Error(`demo server exited ${c}`)));
    setTimeout(() => reject(new Error('demo server did not start')), 15000);
  });
  return `http://127.0.0.1:${port}`;
}

function openDoor() {
  if (env.FLOORGATE_DOOR_CMD) execSync(env.FLOORGATE_DOOR_CMD, { stdio: 'inherit' });
  else demo.stdin.write(`door ${doorEgm}\n`);
}

const steps = [];
async function step(name, fn) {
  const t0 = Date.now();
  try { await fn(); steps.push(`ok   ${name} (${Date.now() - t0} ms)`); console.log(`ok   ${name}`); } catch (e) {
    console.log(`FAIL ${name}: ${e.message}`);
    if (pageErrors.length) console.log(`page errors: ${pageErrors.join('; ')}`);
    throw e;
  }
}

let failed = false;
const pageErrors = [];
let context = null;
const profile = mkdtempSync(path.join(tmpdir(), 'floorgate-chromium-'));
try {
  const base = env.FLOORGATE_WEB_URL || await startDemo();
  // A fresh profile directory per run (playwright passes it as --user-data-dir).
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    timeout: 120000,
    viewport: { width: 1366, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(T);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const shot = async (name, toDocs) => {
    const file = path.join(artifacts, name);
    await page.screenshot({ path: file, fullPage: true });
    if (toDocs) copyFileSync(file, path.join(docs, name));
  };

  await step('wrong password is refused', async () => {
    await page.goto(base);
    await page.fill('#login-user', user);
    await page.fill('#login-password', 'definitely-wrong');
    await page.click('#login-submit');
    await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0);
    assert.match(await page.textContent('#login-error'), /Wrong user name or password/);
  });

  await step('log in', async () => {
    await page.fill('#login-password', password);
    await page.click('#login-submit');
    await page.waitForSelector('#nav:not([hidden])');
    await page.waitForSelector('#live:has-text("Live")');
  });

  await step(`the floor view is the landing page: ${expectEgms} tiles by bank`, async () => {
    await page.waitForSelector('#floor-summary');
    await page.waitForFunction((n) => document.querySelectorAll('a.tile[data-egm]').length === n, expectEgms);
    assert.ok((await page.$$('section.bank')).length >= 1);
  });

  await step(`dashboard shows ${expectEgms} EGMs online`, async () => {
    await page.click('nav a[data-view="dashboard"]');
    await page.waitForFunction((n) => (document.getElementById('egms-online') || {}).textContent === `${n} / ${n}`, expectEgms);
    await page.waitForSelector('#broker-card:has-text("Connected")');
    // Backlog arithmetic per consumer (docs/mqtt.md, Health): the columns and one row each.
    const heads = await page.$$eval('#consumers th', (ths) => ths.map((t) => t.textContent));
    for (const col of ['In /s', 'Done /s', 'Backlog /min', 'Clears in']) assert.ok(heads.includes(col), `no ${col} column`);
    await page.waitForFunction(() => document.querySelectorAll('#consumers tbody tr').length >= 1);
    await shot('web-dashboard.png', true);
  });

  if (env.FLOORGATE_DEVICE_PUB) {
    await step('dashboard shows the device public key an auditor checks', async () => {
      const pem = readFileSync(env.FLOORGATE_DEVICE_PUB, 'utf8').trim();
      await page.waitForSelector('#device-key pre.pem');
      const shown = (await page.textContent('#device-key pre.pem')).trim();
      assert.equal(shown, pem);
      assert.match(await page.textContent('#device-key'), /key id [0-9a-f]{16}/);
    });

    await step('dashboard plots the last hour from /api/history', async () => {
      const hist = await page.evaluate(async () => (await fetch('/api/history')).json());
      assert.equal(hist.step_s, 60);
      assert.ok(hist.points.length >= 1, 'no history point');
      const last = hist.points[hist.points.length - 1];
      assert.equal(typeof last.events_per_s, 'number');
      const names = Object.keys(last.consumers).sort();
      assert.ok(names.length >= 1, 'no consumer in the history');
      await page.waitForSelector('#chart-rate svg.chart polyline', { state: 'attached' });
      assert.match(await page.textContent('#chart-rate'), /events\/s: /);
      const series = await page.$$eval('#chart-unacked polyline', (p) => p.map((x) => x.getAttribute('data-series')));
      assert.deepEqual(series.sort(), names);
    });
  }

  await step(`EGM list has ${expectEgms} rows, all online`, async () => {
    await page.click('nav a[data-view="egms"]');
    await page.waitForFunction((n) => document.querySelectorAll('tr[data-egm]').length === n, expectEgms);
    await page.waitForFunction((n) => (document.getElementById('egm-summary') || {}).textContent === `${n} of ${n} online`, expectEgms);
    await shot('web-egms.png', false);
  });

  await step('slot door opens in the simulator and appears live', async () => {
    await page.click('nav a[data-view="dashboard"]');
    await page.waitForSelector('[data-live-events]', { state: 'attached' });
    await page.evaluate(() => { window.__noReload = true; });
    openDoor();
    await page.waitForSelector(`[data-live-events] tr[data-type="door.opened"]:has-text("${doorEgm}")`);
    assert.equal(await page.evaluate(() => window.__noReload), true, 'page was reloaded');
    await shot('web-live-door.png', false);
  });

  await step('floor view: the open door is found within one screen, in words', async () => {
    for (const size of [{ width: 1024, height: 768 }, { width: 390, height: 844 }]) {
      await page.setViewportSize(size);
      await page.click('nav a[data-view="floor"]');
      const tile = `a.tile[data-egm="${doorEgm}"]`;
      await page.waitForSelector(`${tile}[data-state~="door-open"]`);
      assert.match(await page.textContent(tile), /Door open/);
      assert.match(await page.textContent('#floor-summary'), /[0-9]+ door open/);
      // The live push may replace the tile between two looks: wait (bounded) for a laid-out
      // tile whose bottom is on the first screen; a tile below it never passes.
      const onFirstScreen = await page.waitForFunction(({ sel, h }) => {
        const el = document.querySelector(sel);
        if (!el) return false;
        const r = el.getBoundingClientRect();
        return r.height > 0 && r.bottom <= h;
      }, { sel: tile, h: size.height }, { timeout: 5000 }).then(() => true, () => false);
      assert.ok(onFirstScreen, `tile below the first screen at ${size.width}x${size.height}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `horizontal scrolling of ${overflow}px at ${size.width}x${size.height}`);
      if (size.width === 1024) await shot('web-floor.png', true);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    // A push redraws the floor's words, not its tiles: a tap that spans a push (pressed on one
    // tile element, released on its replacement) would be no click at all.
    const tile = `a.tile[data-egm="${doorEgm}"]`;
    const pushes = await page.evaluate((sel) => { window.__tile = document.querySelector(sel); return Fg.egmsPushes || 0; }, tile);
    await page.waitForFunction((n) => (Fg.egmsPushes || 0) >= n + 2, pushes);
    assert.equal(await page.evaluate((sel) => window.__tile.isConnected && window.__tile === document.querySelector(sel), tile), true,
      'a push replaced the tile element');
    await page.click(tile);
    await page.waitForSelector('h1:has-text("EGM")');
  });

  await step('EGM detail shows identity and recent events', async () => {
    await page.goto(`${base}/#/egms/${encodeURIComponent(doorEgm)}`);
    await page.waitForSelector('h1:has-text("EGM")');
    await page.waitForSelector('tr[data-type="door.opened"]');
    // Details in words; the raw attributes one click away.
    assert.match(await page.textContent('tr[data-type="door.opened"]'), /door=main/);
    assert.doesNotMatch(await page.textContent('#view'), /\[object /, 'an element printed as text');
    // The technician's handheld and the bank's touch screen: no sideways scrolling.
    for (const size of [{ width: 390, height: 844 }, { width: 1024, height: 768 }]) {
      await page.setViewportSize(size);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `the EGM page scrolls sideways by ${overflow}px at ${size.width}x${size.height}`);
    }
    await shot('web-egm.png', true);
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.click('tr[data-type="door.opened"] details.raw summary');
    assert.match(await page.textContent('tr[data-type="door.opened"] details.raw code'), /"door":"main"/);
    if (!env.FLOORGATE_DEVICE_PUB) {
      // The demo backend's coin-in meter (cents): read as currency, raw value beside it.
      assert.match(await page.textContent('#meters tr[data-meter="coin_in_cents"]'), /\$1,234\.56.*123,456 cents/);
    }
  });

  await step('a slow answer does not draw over the page clicked since', async () => {
    // The floor's /api/egms is held until the technician has opened an EGM page; then it
    // arrives, is dropped as stale (the counter moves), and the EGM page stays.
    let release = null;
    const held = new Promise((resolve) => { release = resolve; });
    let holding = null;
    const arrived = new Promise((resolve) => { holding = resolve; });
    await page.route('**/api/egms', async (r) => { holding(); await held; await r.continue(); });
    try {
      const dropped = await page.evaluate(() => Fg.staleAnswers || 0);
      await page.click('nav a[data-view="floor"]');
      await arrived;
      await page.evaluate((id) => { location.hash = `#/egms/${encodeURIComponent(id)}`; }, doorEgm);
      await page.waitForSelector(`h1:has-text("EGM ${doorEgm}")`);
      release();
      await page.waitForFunction((n) => (Fg.staleAnswers || 0) > n, dropped);
      assert.match(await page.textContent('#view h1'), new RegExp(`EGM ${doorEgm}`));
      assert.equal((await page.$$('a.tile[data-egm]')).length, 0, 'the floor was drawn over the EGM page');
    } finally {
      release();
      await page.unroute('**/api/egms');
    }
  });

  // The forms come from the configuration's JSON Schema: selects for choices, number fields
  // with their range, list editors; Apply shows the YAML diff before anything changes.
  const egmCount = () => page.$$eval('details[data-item^="buses[0].egms["]', (els) => els.length);
  async function addEgm() {
    await page.click('nav a[data-view="config"]');
    await page.waitForSelector('#config-form [data-section="buses"]');
    const bus = page.locator('details[data-item="buses[0]"]');
    if (!(await bus.getAttribute('open') !== null)) await bus.locator('> summary').click();
    const n = await egmCount();
    await page.click('button[data-add="buses[0].egms"]');
    const p = `buses[0].egms[${n}]`;
    await page.waitForSelector(`details[data-item="${p}"][open]`);
    return p;
  }

  await step(`add EGM ${newEgmId} with poll period and bank from the form, review the diff, apply`, async () => {
    const p = await addEgm();
    // A select for each choice, a number field with its range, checkboxes for event classes.
    assert.equal(await page.$eval('select[data-path="buses[0].driver"]', (e) => e.value), 'sas-serial');
    assert.deepEqual(await page.$$eval('select[data-path="buses[0].driver"] option', (o) => o.map((x) => x.value).filter(Boolean)),
      ['sas-serial', 'sas-tcp', 'g2s']);
    await page.waitForSelector('select[data-path="buses[0].link"]');
    const poll = page.locator(`input[data-path="${p}.poll_period_ms"]`);
    assert.equal(await poll.getAttribute('type'), 'number');
    assert.equal(await poll.getAttribute('min'), '40');
    assert.equal(await poll.getAttribute('max'), '200');
    assert.match(await poll.getAttribute('placeholder'), /default 200/);
    assert.match(await page.textContent(`[data-field="${p}.poll_period_ms"] .help`), /range 40–200/);
    await page.waitForSelector('input[data-choice="consumers[0].route.classes=financial"]', { state: 'attached' });
    await page.fill(`input[data-path="${p}.id"]`, newEgmId);
    await page.fill(`input[data-path="${p}.address"]`, newEgmAddress);
    await poll.fill('100');
    await page.fill(`input[data-path="${p}.bank"]`, 'bank-new');
    await page.click('#config-apply');
    await page.waitForSelector('#config-review:not([hidden]) #config-diff-lines');
    const added = await page.$$eval('#config-diff-lines .add', (l) => l.map((x) => x.textContent.trim()));
    for (const want of [`id: ${newEgmId}`, `address: ${newEgmAddress}`, 'poll_period_ms: 100', 'bank: bank-new']) {
      assert.ok(added.some((l) => l.includes(want)), `the diff does not add "${want}": ${added.join(' | ')}`);
    }
    assert.equal(await page.$$eval('#config-diff-lines .del', (l) => l.length), 0, 'an addition removes nothing');
    await shot('web-config.png', true);
    await page.click('#config-confirm');
    await page.waitForSelector('#config-status.ok:has-text("Applied")');
    // The change is in the file the daemon now runs from.
    const yaml = await page.evaluate(async () => (await (await fetch('/api/config')).json()).yaml);
    const at = yaml.indexOf(newEgmId);
    assert.ok(at > 0, 'the new EGM is not in the YAML');
    assert.match(yaml.slice(at, at + 400), /poll_period_ms: 100[\s\S]*bank: "?bank-new/);
    await page.click('nav a[data-view="egms"]');
    await page.waitForSelector(`tr[data-egm="${newEgmId}"]:has-text("online")`, { timeout: 60000 });
  });

  await step('invalid address shows the error beside the field', async () => {
    const p = await addEgm();
    await page.fill(`input[data-path="${p}.id"]`, 'bad-egm-1');
    await page.fill(`input[data-path="${p}.address"]`, badAddress);
    await page.click('#config-apply');
    await page.waitForSelector('#config-status.bad');
    assert.ok(await page.locator('#config-review').isHidden(), 'no review of an invalid file');
    const err = page.locator(`input[data-path="${p}.address"][aria-invalid="true"] + .field-error`);
    await err.waitFor();
    assert.ok((await err.textContent()).length > 0);
    await shot('web-config-error.png', true);
  });

  await step('roll back removes the added EGM', async () => {
    await page.click('#config-rollback');
    await page.waitForSelector('#config-status.ok:has-text("Rolled back")');
    await page.click('nav a[data-view="egms"]');
    await page.waitForFunction((n) => document.querySelectorAll('tr[data-egm]').length === n, expectEgms);
    assert.equal(await page.locator(`tr[data-egm="${newEgmId}"]`).count(), 0);
  });

  await step('changing a bus driver shows that driver\'s keys and drops the old ones', async () => {
    await page.click('nav a[data-view="config"]');
    await page.waitForSelector('#config-form [data-section="buses"]');
    const bus = page.locator('details[data-item="buses[0]"]');
    if (await bus.getAttribute('open') === null) await bus.locator('> summary').click();
    await page.waitForSelector('select[data-path="buses[0].link"]');
    await page.selectOption('select[data-path="buses[0].driver"]', 'g2s');
    await page.waitForSelector('input[data-path="buses[0].listen_port"]');
    assert.equal(await page.locator('select[data-path="buses[0].link"]').count(), 0);
    await page.click('.tabs button[data-tab="yaml"]');
    const yaml = await page.inputValue('#config-yaml');
    // The first bus: from "buses:" to the next item of that list or the next top-level key.
    const lines = yaml.slice(yaml.indexOf('buses:')).split('\n');
    const end = lines.findIndex((l, i) => i > 1 && (/^  - /.test(l) || /^\S/.test(l)));
    const busText = lines.slice(0, end < 0 ? lines.length : end).join('\n');
    assert.match(busText, /driver: g2s/);
    assert.doesNotMatch(busText.slice(0, busText.indexOf('egms:')), /\n\s+(port|link):/, 'the serial keys stay');
    assert.doesNotMatch(busText, /\n\s+address:/, 'SAS addresses stay on G2S EGMs');
  });

  await step('audit lists the changes', async () => {
    await page.click('nav a[data-view="audit"]');
    await page.waitForSelector('#audit tbody tr');
    assert.ok(await page.locator('#audit tbody tr').count() >= 2);
  });

  await step('events page filters and offers CSV', async () => {
    await page.click('nav a[data-view="events"]');
    await page.fill('#event-filter input[name="type"]', 'door.opened');
    await page.click('#event-filter button[type="submit"]');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#event-results tr[data-type]')];
      return rows.length > 0 && rows.every((r) => r.dataset.type === 'door.opened');
    });
    const href = await page.getAttribute('#csv-link', 'href');
    const csv = await page.evaluate(async (u) => (await fetch(u)).text(), href);
    assert.match(csv, /^seq,time_utc,egm/);
    assert.match(csv, /door\.opened/);
  });

  await step('tablet width: no horizontal scrolling, state readable as text', async () => {
    await page.setViewportSize({ width: 820, height: 1180 });
    await page.click('nav a[data-view="egms"]');
    await page.waitForSelector('tr[data-egm]');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 1, `page scrolls sideways by ${overflow}px`);
    assert.match(await page.locator('tr[data-egm] .badge').first().textContent(), /online|offline/);
    await shot('web-egms-tablet.png', false);
    await page.setViewportSize({ width: 1366, height: 900 });
  });

  async function signIn(name, pass) {
    await page.waitForSelector('#login-view:not([hidden])');
    await page.fill('#login-user', name);
    await page.fill('#login-password', pass);
    await page.click('#login-submit');
    await page.waitForSelector('#nav:not([hidden])');
  }
  const usersOk = async (text) => {
    await page.waitForFunction((t) => {
      const s = document.getElementById('users-status');
      return s && s.className === 'ok' && s.textContent.includes(t);
    }, text);
  };

  await step('users: add an account, make it a technician, set its password, log in as it, remove it', async () => {
    const name = 'floor2', first = 'floor2-first-pass', second = 'floor2-second-pass';
    await page.click('nav a[data-view="users"]');
    await page.waitForSelector(`#users tr[data-user="${user}"]`);
    await page.fill('#user-add-name', name);
    await page.selectOption('#user-add-role', 'viewer');
    await page.fill('#user-add-password', first);
    await page.click('#user-add-submit');
    await usersOk(name);
    assert.equal(await page.inputValue('#user-add-password'), '', 'the password box is cleared');
    await page.waitForSelector(`#users tr[data-user="${name}"]`);
    await page.selectOption(`select[data-role-for="${name}"]`, 'technician');
    await usersOk(name);
    assert.equal(await page.$eval(`select[data-role-for="${name}"]`, (e) => e.value), 'technician');
    await page.fill(`input[data-password-for="${name}"]`, second);
    await page.click(`button[data-set-password="${name}"]`);
    await usersOk(name);
    await page.click('#logout');
    await signIn(name, second);
    assert.match(await page.textContent('#who'), new RegExp(`${name} \\(technician\\)`));
    await page.click('#logout');
    await signIn(user, password);
    await page.click('nav a[data-view="users"]');
    await page.waitForSelector(`#users tr[data-user="${name}"]`);
    page.once('dialog', (d) => d.accept());
    await page.click(`button[data-remove-user="${name}"]`);
    await usersOk(name);
    await page.waitForFunction((n) => !document.querySelector(`#users tr[data-user="${n}"]`), name);
    // Each change is audited.
    await page.click('nav a[data-view="audit"]');
    await page.waitForSelector('#audit tbody tr');
    assert.match(await page.textContent('#audit'), new RegExp(name));
  });

  await step('log out', async () => {
    await page.click('#logout');
    await page.waitForSelector('#login-view:not([hidden])');
    const status = await page.evaluate(async () => (await fetch('/api/egms')).status);
    assert.equal(status, 401);
  });
  assert.deepEqual(pageErrors, [], `JavaScript errors: ${pageErrors.join('; ')}`);
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
  if (demo) demo.kill('SIGTERM');
}
console.log(steps.join('\n'));
process.exit(failed ? 1 : 0);
