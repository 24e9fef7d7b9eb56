// Runs one Auth0 Action for the local tenant: reads {code, handler, event}
// as JSON on stdin, calls exports[handler](event, api) with an api object
// that records every call, and prints {api_calls, logs, error} as JSON.
'use strict';
const Module = require('module');
const path = require('path');

function recorder(calls) {
  const make = (name) => new Proxy(function () {}, {
    get(_, prop) {
      if (prop === 'then') return undefined; // not a thenable
      if (typeof prop !== 'string') return undefined;
      return make(name ? name + '.' + prop : prop);
    },
    apply(_, __, args) {
      calls.push({ method: name, args: JSON.parse(JSON.stringify(args, (k, v) => v === undefined ? null : v)) });
      return undefined;
    },
  });
  return make('');
}

function format(args) {
  return args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
}

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const { code, handler, event } = JSON.parse(input);
  const logs = [];
  for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
    console[level] = (...args) => logs.push(format(args));
  }
  const calls = [];
  const started = Date.now();
  let error;
  try {
    const filename = path.join(process.cwd(), 'action.js');
    const m = new Module(filename, null);
    m.filename = filename;
    m.paths = Module._nodeModulePaths(process.cwd());
    m._compile(code, filename);
    const fn = m.exports[handler];
    if (typeof fn !== 'function') {
      throw new TypeError(`the code exports no ${handler} function`);
    }
    await fn(event, recorder(calls));
  } catch (e) {
    error = { message: String(e && e.message || e), name: e && e.name || 'Error', stack: String(e && e.stack || '') };
  }
  const out = { api_calls: calls, logs: logs.join('\n'), duration_ms: Date.now() - started };
  if (error) out.error = error;
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
