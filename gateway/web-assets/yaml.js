// floorgate web page: a small YAML reader/writer for the configuration forms.
// Reads block YAML (maps, "- " lists, plain/single/double-quoted scalars, [a, b] and {a: b}
// flow collections, comments); anything else (anchors, block scalars, tags) throws, and the
// page falls back to the raw editor. emitYaml() writes block YAML and remembers which field
// path each line came from, so validator errors that carry only a line still find their field.
'use strict';

const FgYaml = (() => {
  class YamlError extends Error {
    constructor(line, message) { super(`line ${line}: ${message}`); this.line = line; }
  }

  // Removes a trailing comment that is outside quotes.
  function stripComment(s) {
    let q = null;
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (q) {
        if (c === '\\' && q === '"') i++;
        else if (c === q) q = null;
      } else if (c === '"' || c === "'") {
        if (i === 0 || /[\s:\[\{,-]/.test(s[i - 1])) q = c;
      } else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]))) {
        return s.slice(0, i).replace(/\s+$/, '');
      }
    }
    return s.replace(/\s+$/, '');
  }

  function splitLines(text) {
    const out = [];
    text.split(/\r?\n/).forEach((raw, i) => {
      if (/^\s*(#.*)?$/.test(raw)) return;
      if (/^---\s*$/.test(raw) && out.length === 0) return;
      if (/^\t/.test(raw)) throw new YamlError(i + 1, 'tabs are not allowed for indentation');
      const indent = raw.match(/^ */)[0].length;
      out.push({ indent, text: stripComment(raw.slice(indent)), no: i + 1 });
    });
    return out;
  }

  function parseScalar(s, no) {
    if (s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL') return null;
    if (/^(true|True|TRUE)$/.test(s)) return true;
    if (/^(false|False|FALSE)$/.test(s)) return false;
    if (/^[-+]?(0|[1-9][0-9]*)$/.test(s)) return Number(s);
    if (/^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/.test(s)) return Number(s);
    if (s[0] === '"') {
      if (!/^"(?:[^"\\]|\\.)*"$/.test(s)) throw new YamlError(no, 'unterminated "string"');
      try { return JSON.parse(s.replace(/\\\//g, '/')); } catch (e) {
        throw new YamlError(no, 'unsupported escape in "string"');
      }
    }
    if (s[0] === "'") {
      if (!/^'(?:[^']|'')*'$/.test(s)) throw new YamlError(no, "unterminated 'string'");
      return s.slice(1, -1).replace(/''/g, "'");
    }
    if (s[0] === '[' || s[0] === '{') return parseFlow(s, no);
    if (/^[&*!|>%@`]/.test(s)) throw new YamlError(no, 'YAML feature not supported by the form editor');
    return s;
  }

  // Flow collections on one line, nested: [a, "b", {c: [1, 2]}] and {a: 1, b: [x, y]}.
  function parseFlow(s, no) {
    let i = 0;
    const ws = () => { while (i < s.length && s[i] === ' ') i++; };
    function token(stops) {
      ws();
      const c = s[i];
      if (c === '[' || c === '{') return value();
      let j = i;
      if (c === '"' || c === "'") {
        j++;
        while (j < s.length && s[j] !== c) j += s[j] === '\\' && c === '"' ? 2 : 1;
        j++;
      } else {
        while (j < s.length && !stops.includes(s[j])) j++;
      }
      const raw = s.slice(i, j).trim();
      i = j;
      return parseScalar(raw, no);
    }
    function value() {
      ws();
      const open = s[i];
      if (open !== '[' && open !== '{') return token(',]}');
      const close = open === '[' ? ']' : '}';
      i++;
      const arr = [], obj = {};
      ws();
      if (s[i] === close) { i++; return open === '[' ? arr : obj; }
      for (;;) {
        if (open === '[') arr.push(token(',]'));
        else {
          const k = token(':,}');
          ws();
          if (s[i] !== ':') throw new YamlError(no, 'expected key: value in {…}');
          i++;
          obj[String(k)] = token(',}');
        }
        ws();
        if (s[i] === ',') { i++; continue; }
        if (s[i] === close) { i++; return open === '[' ? arr : obj; }
        throw new YamlError(no, `missing ${close}`);
      }
    }
    const v = value();
    ws();
    if (i !== s.length) throw new YamlError(no, 'unexpected text after a flow collection');
    return v;
  }

  function keyOf(k, no) { return /^["']/.test(k) ? String(parseScalar(k, no)) : k; }

  // "key: rest" → [key, rest]; null when the line is not a mapping entry.
  function splitKey(t) {
    const m = t.match(/^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s"'#\-\[\]{},][^:#]*?|-[^\s:][^:#]*?)\s*:(?:\s+(.*)|)$/);
    return m ? [m[1], m[2] === undefined ? '' : m[2]] : null;
  }

  function isItem(t) { return t === '-' || t.startsWith('- '); }

  function parseYaml(text) {
    const lines = splitLines(text);
    let i = 0;
    function block(indent) {
      return isItem(lines[i].text) ? seq(indent) : map(indent);
    }
    function child(parentIndent, allowSeqSameIndent) {
      if (i >= lines.length) return null;
      const l = lines[i];
      if (l.indent > parentIndent) return block(l.indent);
      if (allowSeqSameIndent && l.indent === parentIndent && isItem(l.text)) return seq(l.indent);
      return null;
    }
    function map(indent) {
      const obj = {};
      while (i < lines.length && lines[i].indent === indent && !isItem(lines[i].text)) {
        const l = lines[i++];
        const kv = splitKey(l.text);
        if (!kv) throw new YamlError(l.no, 'expected "key: value"');
        const key = keyOf(kv[0], l.no);
        if (Object.prototype.hasOwnProperty.call(obj, key)) throw new YamlError(l.no, `duplicate key "${key}"`);
        obj[key] = kv[1] === '' ? child(indent, true) : parseScalar(kv[1], l.no);
      }
      if (i < lines.length && lines[i].indent > indent) throw new YamlError(lines[i].no, 'unexpected indentation');
      return obj;
    }
    function seq(indent) {
      const arr = [];
      while (i < lines.length && lines[i].indent === indent && isItem(lines[i].text)) {
        const l = lines[i];
        const rest = l.text === '-' ? '' : l.text.slice(2).replace(/^\s+/, '');
        if (rest === '') { i++; arr.push(child(indent, false)); continue; }
        if (splitKey(rest) && !/^["'\[{]/.test(rest.trim()) || /^["'][^:]*["']\s*:/.test(rest)) {
          l.indent = indent + (l.text.length - rest.length);
          l.text = rest;
          arr.push(map(l.indent));
          continue;
        }
        i++;
        arr.push(parseScalar(rest, l.no));
      }
      if (i < lines.length && lines[i].indent > indent) throw new YamlError(lines[i].no, 'unexpected indentation');
      return arr;
    }
    if (!lines.length) return {};
    const v = block(lines[0].indent);
    if (i < lines.length) throw new YamlError(lines[i].no, 'unexpected indentation');
    return v;
  }

  const RESERVED = /^(true|false|yes|no|on|off|null|~|y|n)$/i;
  function emitString(s) {
    if (s === '' || RESERVED.test(s) || /^[-+]?[0-9.]+([eE][-+]?[0-9]+)?$/.test(s)) return JSON.stringify(s);
    if (/^[A-Za-z0-9_.\/][A-Za-z0-9_.\/@+ -]*$/.test(s) && !/\s$/.test(s)) return s;
    if (/^[A-Za-z0-9_.\/][A-Za-z0-9_.\/@+ :-]*$/.test(s) && !/:(\s|$)/.test(s) && !/\s$/.test(s)) return s;
    return JSON.stringify(s);
  }
  function emitScalar(v) {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'boolean' || typeof v === 'number') return String(v);
    if (Array.isArray(v)) return '[]';
    if (typeof v === 'object') return '{}';
    return emitString(String(v));
  }
  function emitKey(k) { return /^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k); }
  function isComplex(v) {
    return v !== null && typeof v === 'object' && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0);
  }

  // Block YAML for `value`; `paths[n]` is the field path written on line n+1.
  function emitYaml(value) {
    const lines = [], paths = [];
    function put(text, path) { lines.push(text); paths.push(path); }
    function walk(v, indent, path, firstPrefix) {
      const pad = ' '.repeat(indent);
      let prefix = firstPrefix;
      const lead = () => { const p = prefix === null ? pad : prefix; prefix = null; return p; };
      if (Array.isArray(v)) {
        v.forEach((x, n) => {
          const p = `${path}[${n}]`;
          if (isComplex(x) && !Array.isArray(x)) walk(x, indent + 2, p, lead() + '- ');
          else if (isComplex(x)) { put(lead() + '-', p); walk(x, indent + 2, p, null); }
          else put(lead() + '- ' + emitScalar(x), p);
        });
      } else {
        for (const [k, x] of Object.entries(v)) {
          const p = path ? `${path}.${k}` : k;
          if (isComplex(x)) { put(lead() + emitKey(k) + ':', p); walk(x, indent + 2, p, null); }
          else put(lead() + emitKey(k) + ': ' + emitScalar(x), p);
        }
      }
    }
    walk(value, 0, '', null);
    return { text: lines.join('\n') + '\n', paths };
  }

  return { parseYaml, emitYaml, YamlError };
})();
if (typeof module !== 'undefined') module.exports = FgYaml;
