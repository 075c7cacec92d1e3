// Unit test of the page's YAML reader/writer (gateway/web-assets/yaml.js) under Node: what the
// configuration forms read from the daemon's file and write back, and the line → field map
// used to place validator errors that carry only a line number.
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
const require = createRequire(import.meta.url);
const Y = require('../../gateway/web-assets/yaml.js');

const file = `# floorgate.yaml
gateway:
  id: gw-bank3          # comment after a value
  site: "Main floor"
mqtt: {host: 127.0.0.1, port: 1883, tls: {ca_file: ""}}
buses:
- id: bus1
  driver: sas-serial
  port: /dev/ttyS0
  egms:
    - id: bank3-01
      address: 1
      meter_codes: [0x00, 0x0C, 5]
    - {id: bank3-02, address: 2}
consumers:
  - name: sms
    route: {classes: [financial, security], types: []}
    required: true
web:
  users:
    - name: tech
      role: technician
      password_hash: 'pbkdf2-sha256$210000$c2FsdA==$aGFzaA=='
`;
const doc = Y.parseYaml(file);
assert.equal(doc.gateway.id, 'gw-bank3');
assert.equal(doc.gateway.site, 'Main floor');
assert.deepEqual(doc.mqtt, { host: '127.0.0.1', port: 1883, tls: { ca_file: '' } });
assert.equal(doc.buses[0].egms.length, 2);
assert.deepEqual(doc.buses[0].egms[0].meter_codes, ['0x00', '0x0C', 5]);
assert.deepEqual(doc.buses[0].egms[1], { id: 'bank3-02', address: 2 });
assert.deepEqual(doc.consumers[0].route.classes, ['financial', 'security']);
assert.equal(doc.consumers[0].required, true);
assert.equal(doc.web.users[0].password_hash, 'pbkdf2-sha256$210000$c2FsdA==$aGFzaA==');

// Round trip: what the forms write reads back to the same tree.
const out = Y.emitYaml(doc);
assert.deepEqual(Y.parseYaml(out.text), doc);
// Strings that YAML would read as numbers or booleans stay strings.
const tricky = { a: '123', b: 'true', c: '', d: 'x: y', e: ' lead', f: 'no', g: '0x1F' };
assert.deepEqual(Y.parseYaml(Y.emitYaml(tricky).text), tricky);

// Each emitted line knows its field, so "line N" errors land beside the right input.
const lines = out.text.split('\n');
const n = lines.findIndex((l) => l.includes('address: 2'));
assert.equal(out.paths[n], 'buses[0].egms[1].address');
const m = lines.findIndex((l) => l.includes('bank3-01'));
assert.equal(out.paths[m], 'buses[0].egms[0].id');

// Unsupported or broken YAML is refused with a line number (the page then offers raw YAML).
for (const [bad, line] of [['a: 1\n  b: 2\n', 2], ['a: &x 1\n', 1], ['a: |\n  text\n', 1],
  ['a: 1\na: 2\n', 2], ['a: "open\n', 1], ['\tb: 1\n', 1]]) {
  assert.throws(() => Y.parseYaml(bad), (e) => e.line === line, JSON.stringify(bad));
}
console.log('yaml.js: all assertions passed');
