// mdbook-python's browser-parity driver (`mdbook-python check --browser`), run by
// src/execute/browser.rs as `node parity.mjs` (written into the cache folder).
//
// It runs the book's browser-runnable snippets with the page's own worker core
// (front-end/worker.js: mdpyBoot and its Python runner, the same asyncio
// handling) on the `pyodide` npm package: one Node process, one Pyodide load,
// in a worker thread so that a snippet that never ends can be interrupted
// (the page's interrupt buffer) or, failing that, the thread replaced.
//
// In (stdin, one JSON object):
//   {"pyodide": "/path/to/node_modules/pyodide/", "worker": "<worker.js source>",
//    "jobs": [{"programs": [{"code", "filename", "stdin", "session", "limit",
//                            "timeout", "raises"}]}]}
// Out (stdout, one JSON object a line, each starting with {"mdpy":):
//   {"mdpy": "ready", "python": "3.14.2", "pyodide": "314.0.7", "millis": 2900}
//   {"mdpy": "result", "job": 0, "program": 0, "status": "ok"|"error"|"truncated"|
//    "timeout"|"skipped", "error": null|"ValueError", "output": "...",
//    "unavailable": null|"why a package could not be loaded", "millis": 3}
//   {"mdpy": "fatal", "message": "..."}
//   {"mdpy": "end"}
// Programs of one job share a session; as on the page, a job stops at the
// first program that fails without being marked `raises=` (the rest are
// "skipped").
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// Pyodide and snippets may log: keep stdout for the protocol.
for (const k of ['log', 'info', 'warn', 'error', 'debug']) {
  console[k] = (...a) => process.stderr.write(a.map(String).join(' ') + '\n');
}

if (isMainThread) {
  main().catch((e) => {
    send({ mdpy: 'fatal', message: String((e && e.stack) || e) });
    process.exit(1);
  });
} else {
  thread().catch((e) => parentPort.postMessage({ type: 'fatal', message: String((e && e.message) || e) }));
}

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

async function main() {
  const input = JSON.parse(await readStdin());
  let seq = 0;
  let w = null;
  const start = () =>
    new Promise((resolve, reject) => {
      const ia = new Int32Array(new SharedArrayBuffer(4));
      const worker = new Worker(new URL(import.meta.url), {
        workerData: { pyodide: input.pyodide, worker: input.worker, interrupt: ia },
        stdout: true,
        stderr: false,
      });
      worker.stdout.on('data', (d) => process.stderr.write(d));
      const t = { worker, ia, cur: null, dead: false };
      worker.on('message', (m) => {
        if (m.type === 'ready') resolve(Object.assign(t, { python: m.python, pyodide: m.pyodide }));
        else if (m.type === 'fatal') reject(new Error(m.message));
        else if (m.type === 'out' && t.cur && t.cur.id === m.id) t.cur.out += m.text;
        else if (m.type === 'done' && t.cur && t.cur.id === m.id) t.cur.done(m);
        else if (m.type === 'preload' && t.cur && t.cur.id === m.id) t.cur.unavailable = m.unavailable;
      });
      const gone = (e) => {
        t.dead = true;
        reject(e instanceof Error ? e : new Error('the Pyodide thread exited'));
        if (t.cur) t.cur.done({ status: 'crashed', error: null, message: String((e && e.message) || e) });
      };
      worker.on('error', gone);
      worker.on('exit', gone);
    });
  const run = (t, p) =>
    new Promise((resolve) => {
      const id = ++seq;
      const t0 = Date.now();
      let timer = 0;
      let kill = 0;
      const cur = (t.cur = { id, out: '', unavailable: null, done: null });
      cur.done = (m) => {
        clearTimeout(timer);
        clearTimeout(kill);
        t.cur = null;
        resolve({
          status: m.status,
          error: m.error || null,
          output: cur.out + (m.message ? m.message + '\n' : ''),
          truncated: !!m.truncated,
          unavailable: cur.unavailable,
          millis: Date.now() - t0,
        });
      };
      // Past the timeout: what the page's Stop does (the interrupt buffer, then
      // cancelling the tasks), then a new thread if the snippet still runs.
      timer = setTimeout(() => {
        Atomics.store(t.ia, 0, 2);
        t.worker.postMessage({ type: 'cancel' });
        kill = setTimeout(() => {
          t.dead = true;
          t.worker.terminate();
          cur.done({ status: 'timeout', error: null });
        }, 2000);
        const done = cur.done;
        cur.done = (m) => done(Object.assign({}, m, { status: 'timeout' }));
      }, Math.max(1, p.timeout) * 1000);
      t.worker.postMessage({
        type: 'run', id, code: p.code, hidden: [], filename: p.filename,
        stdin: p.stdin || '', session: p.session || undefined, limit: p.limit,
      });
    });

  for (let j = 0; j < input.jobs.length; j++) {
    const programs = input.jobs[j].programs;
    let stopped = false;
    for (let k = 0; k < programs.length; k++) {
      if (stopped) {
        send({ mdpy: 'result', job: j, program: k, status: 'skipped', error: null, output: '', truncated: false, unavailable: null, millis: 0 });
        continue;
      }
      if (!w || w.dead) {
        const t0 = Date.now();
        try {
          w = await start();
        } catch (e) {
          send({ mdpy: 'fatal', message: String((e && e.message) || e) });
          process.exit(1);
        }
        send({ mdpy: 'ready', python: w.python, pyodide: w.pyodide, millis: Date.now() - t0 });
      }
      const res = await run(w, programs[k]);
      send(Object.assign({ mdpy: 'result', job: j, program: k }, res));
      // As on the page: an earlier block of a session that fails ends the replay
      // (and a new thread has lost the session).
      if ((res.status !== 'ok' && !programs[k].raises) || w.dead) stopped = true;
    }
    // A session's state lives in the interpreter: a new job after a killed thread starts afresh.
  }
  send({ mdpy: 'end' });
  if (w && !w.dead) await w.worker.terminate();
  process.exit(0);
}

async function thread() {
  const { pyodide: dir, worker: source, interrupt } = workerData;
  // worker.js outside a browser leaves its core on globalThis.mdpyWorker.
  new Function(source)(); // eslint-disable-line no-new-func
  const { loadPyodide, version } = await import(pathToFileURL(path.join(dir, 'pyodide.mjs')).href);
  const post = (m) => parentPort.postMessage(m);
  // The build runs with PYTHONHASHSEED=0; so does this check, or set orders would vary.
  const env = { PYTHONHASHSEED: '0' };
  const core = await globalThis.mdpyWorker.boot({
    loadPyodide: (o) => loadPyodide(Object.assign({}, o, { indexURL: dir.replace(/\/?$/, '/'), env })),
    interrupt,
    post,
  });
  const python = core.py.runPython('import sys\n"%d.%d.%d" % sys.version_info[:3]');
  parentPort.on('message', async (m) => {
    if (m.type === 'run') {
      Atomics.store(interrupt, 0, 0);
      // What the page would fetch from pyodide-url; offline, the npm package
      // holds no wheels, so say which could not be had.
      const failed = [];
      await core.py
        .loadPackagesFromImports(m.code, { messageCallback() {}, errorCallback: (e) => failed.push(String(e)) })
        .catch((e) => failed.push(String((e && e.message) || e)));
      if (failed.length) post({ type: 'preload', id: m.id, unavailable: failed.join('; ') });
      post(Object.assign({ type: 'done', id: m.id }, await core.run(m)));
    } else if (m.type === 'cancel') {
      Atomics.store(interrupt, 0, 0); // cleared first, or the cancelling call itself is interrupted
      core.cancel();
    }
  });
  post({ type: 'ready', python, pyodide: version || core.py.version });
}
