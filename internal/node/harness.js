// Runs Auth0 Action code for actionsync's internal/node package.
//
// Protocol: the Go side writes one JSON line per action to stdin,
//   {id, file, handler, code, event, paths, modules: [{name, file, code, paths, secrets}]}
// and waits for that action's end before it sends the next. This process
// answers with JSON lines on stdout (fd 1, which nothing else writes to:
// console and process.stdout/stderr are captured):
//   {t: "ready"}                    once, when it reads stdin
//   {t: "log", id, level, text}     console output while action id runs
//   {t: "call", id, method, args}   a call on action id's api object
//   {t: "end", id, ms, error}       action id returned (error: null) or threw
// The Go side applies the flow's semantics (a deny stops it, metadata carries
// over) and kills this process when it has what it needs.
'use strict';
const fs = require('fs');
const Module = require('module');
const readline = require('readline');
const util = require('util');

let running = 0; // id of the action running now; 0 between actions
const ended = new Set();

function writeLine(line) {
  const buf = Buffer.from(line + '\n');
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(1, buf, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e; // a full pipe: the reader catches up
    }
  }
}

function emit(msg) {
  writeLine(JSON.stringify(msg));
}

// jsonArgs renders a call's arguments as JSON: undefined becomes null,
// BigInt a string, and what JSON cannot hold (cycles) its inspection.
function jsonArgs(args) {
  const replace = (k, v) => (v === undefined ? null : typeof v === 'bigint' ? v.toString() : v);
  try {
    return JSON.stringify(args, replace);
  } catch (e) {
    return JSON.stringify(args.map((a) => util.inspect(a, { depth: 4 })));
  }
}

// plain are the members every object has: converting the api object to a
// string or JSON uses them, and calls no method of the api.
const plain = { toString: () => '[object Object]', valueOf() { return this; }, toJSON: undefined, constructor: Object };

// recorder is the api object of action id: every property is another
// recorder, every call is reported, and it is not a thenable, so code may
// await its calls.
function recorder(id) {
  const make = (name) => new Proxy(function () {}, {
    get(_, prop) {
      if (prop === 'then' || typeof prop !== 'string') return undefined;
      if (Object.prototype.hasOwnProperty.call(plain, prop)) return plain[prop];
      return make(name ? name + '.' + prop : prop);
    },
    apply(_, __, args) {
      writeLine('{"t":"call","id":' + id + ',"method":' + JSON.stringify(name) + ',"args":' + jsonArgs(args) + '}');
      return undefined;
    },
  });
  return make('');
}

function capture(level) {
  return (...args) => emit({ t: 'log', id: running, level, text: util.format(...args) });
}

for (const level of ['log', 'info', 'warn', 'error', 'debug', 'trace']) {
  console[level] = capture(level);
}
for (const [stream, level] of [[process.stdout, 'log'], [process.stderr, 'error']]) {
  stream.write = (chunk, encoding, cb) => {
    emit({ t: 'log', id: running, level, text: String(chunk).replace(/\n$/, '') });
    if (typeof encoding === 'function') encoding();
    if (typeof cb === 'function') cb();
    return true;
  };
}

function describe(e) {
  if (e instanceof Error) {
    return { name: String(e.name || 'Error'), message: String(e.message), stack: String(e.stack || '') };
  }
  return { name: 'Error', message: String(e), stack: '' };
}

function finish(id, started, error) {
  if (ended.has(id)) return;
  ended.add(id);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  emit({ t: 'end', id, ms, error });
  if (running === id) running = 0;
}

let current = null; // {id, started} of the running action

// The scope of each Action Module's code: its own secrets, as
// actions.secrets (https://auth0.com/docs/customize/actions/modules).
const moduleScopes = Symbol.for('actionsync.moduleScopes');
globalThis[moduleScopes] = {};

// withModules lets m's code require the action's Action Modules as
// 'actions:<name>', each loaded once per action, as Auth0's runtime does;
// any other request resolves as usual, from m.paths only.
function withModules(m, modules, loaded) {
  m.require = function (request) {
    if (typeof request === 'string' && request.startsWith('actions:')) {
      return loadModule(request.slice('actions:'.length), modules, loaded);
    }
    return Module.prototype.require.call(this, request);
  };
  return m;
}

function loadModule(name, modules, loaded) {
  if (loaded.has(name)) return loaded.get(name).exports;
  const spec = modules.find((x) => x.name === name);
  if (!spec) {
    const e = new Error(`Cannot find module 'actions:${name}': the action pins no module called ${name}`);
    e.code = 'MODULE_NOT_FOUND';
    throw e;
  }
  const m = withModules(new Module(spec.file, null), modules, loaded);
  m.filename = spec.file;
  m.paths = spec.paths;
  loaded.set(name, m);
  const key = String(current.id) + ':' + name;
  globalThis[moduleScopes][key] = { secrets: Object.freeze({ ...spec.secrets }) };
  // On the first line, so line numbers in stack traces stay the module's.
  const scope = 'var actions = globalThis[Symbol.for("actionsync.moduleScopes")][' + JSON.stringify(key) + '];';
  m._compile(scope + spec.code, spec.file);
  return m.exports;
}

async function run(cmd) {
  running = cmd.id;
  current = { id: cmd.id, started: process.hrtime.bigint() };
  const started = current.started;
  let error = null;
  try {
    const m = withModules(new Module(cmd.file, null), cmd.modules || [], new Map());
    m.filename = cmd.file;
    m.paths = cmd.paths; // only the action's own dependencies resolve
    m._compile(cmd.code, cmd.file);
    const fn = m.exports[cmd.handler];
    if (typeof fn !== 'function') {
      throw new TypeError(`the code exports no ${cmd.handler} function`);
    }
    await fn(cmd.event, recorder(cmd.id));
  } catch (e) {
    error = describe(e);
  }
  finish(cmd.id, started, error);
}

// An exception no handler awaited fails the action that is running.
function uncaught(e) {
  if (current && !ended.has(current.id)) {
    finish(current.id, current.started, describe(e));
  } else {
    emit({ t: 'log', id: 0, level: 'error', text: 'uncaught after the action ended: ' + describe(e).stack });
  }
}
process.on('uncaughtException', uncaught);
process.on('unhandledRejection', uncaught);

readline.createInterface({ input: process.stdin, crlfDelay: Infinity }).on('line', (line) => {
  if (line) run(JSON.parse(line));
});
emit({ t: 'ready' });
