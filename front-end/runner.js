// @ts-check
// mdbook-python: Run, Stop, Reset, an editor and an input box for each Python block listed in a div.mdpy-chapter, with
// Pyodide in one Web Worker per page (MDPY_WORKER_SOURCE), started on the first Run.

// The page data this file reads, as the build writes it: each typedef mirrors the Rust type of
// the same name in src/render/page_data.rs (checked by tsc, tests/browser/typecheck.test.mjs;
// the bundle drops JSDoc). The messages to and from the worker are typedefs in worker.js.

/**
 * window.MDPY_CONFIG, the bundle's prelude (page_data::Config); quiz.js reads `quizLabels`.
 * @typedef {object} MdpyConfig
 * @property {string} pyodideUrl Pyodide's folder, absolute or relative to the book's root.
 * @property {number} outputLimit Bytes of output a run may print.
 * @property {Record<string, string>} labels Every label of the runner, translated where the book translates it (assets::RUNNER_LABELS).
 * @property {Record<string, string>} quizLabels The quiz widget's labels.
 * @property {string} figureFormat `svg` or `png`.
 * @property {string[]} packages book.toml's `packages`: names and wheel URLs.
 */
/**
 * A div.mdpy-chapter's data-mdpy (page_data::Chapter).
 * @typedef {object} MdpyChapter
 * @property {string} src The chapter's source path: its blocks' keys start with it.
 * @property {string} file The chapter's file, as tracebacks name it.
 * @property {string} py The build's Python (`3.11`).
 * @property {MdpySnippet[]} s One per Python block of the page (pycon blocks have none), in order.
 */
/**
 * One block's entry in MdpyChapter.s (page_data::Snippet): fields at their default are left out.
 * @typedef {object} MdpySnippet
 * @property {number} [i] The block's index among the chapter's, when not its position in `s`.
 * @property {string} [f] The included file the code comes from.
 * @property {number} l The line of the code's first line in its file.
 * @property {string} [session] Its `session=`.
 * @property {string} [stdin] Its attached stdin.
 * @property {string} [raises] Its `raises=`: a session replay goes on past it.
 * @property {MdpyExercise} [ex] The exercise it is the starter of.
 * @property {false} [browser] No runner in the browser.
 * @property {true} [differs] `browser=differs`.
 * @property {true} [packages] It imports a module outside the standard library.
 * @property {1} [h] Its div.mdpy-snippet was built (figures, notes): nothing to gather.
 * @property {0} [o] No output block follows it.
 * @property {1} [nonl] Its output had no final line break.
 * @property {1} [a] Its output block is the author's.
 */
/**
 * An exercise's starter block (page_data::Exercise).
 * @typedef {object} MdpyExercise
 * @property {string} name Its `exercise=`.
 * @property {string} check The checks, run after the reader's code.
 * @property {number} hints How many hints follow.
 */
/**
 * A block's entry once init has read its code from the page: what a Block holds.
 * @typedef {object} BlockFacts
 * @property {string} code The code as built, hidden lines included, ending in a line break.
 * @property {number[]} hidden Indexes of its hidden lines.
 * @property {string} key `<src>#<hash of the code>`, with a count for equal blocks.
 * @property {string} file The chapter's file (MdpyChapter.file).
 * @property {string} py The build's Python (MdpyChapter.py).
 * @typedef {MdpySnippet & BlockFacts} BlockData
 */
(function () {
  'use strict';
  const CFG = window.MDPY_CONFIG || /** @type {MdpyConfig} */ ({});
  const L = (k) => CFG.labels[k];
  const store = (k, v) => {
    try {
      if (v === undefined) return localStorage.getItem(k);
      if (v === null) localStorage.removeItem(k);
      else localStorage.setItem(k, v);
    } catch (e) {
      return null;
    }
  };
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    e.className = cls || '';
    if (text) e.textContent = text;
    return e;
  };
  const now = () => performance.now();
  // A label with `{python}` filled in: "Output, {python} at build".
  const F = (k, v) => L(k).replace('{python}', v);
  // FNV-1a of a block's original code: saved edits are keyed by it, not by position.
  const hash = (s) => {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
    return (h >>> 0).toString(36);
  };

  const W = { worker: null, ready: null, ran: new Set(), cur: null, seq: 0, ia: null, info: {} };
  /** @param {ToWorker} m */
  const send = (m) => W.worker.postMessage(m);

  // Relative to the book's root, so a book under a sub-path works.
  function abs(u) {
    const root = typeof path_to_root === 'string' ? path_to_root : '';
    return new URL(/^([a-z][\w+.-]*:|\/)/i.test(u) ? u : root + u, location.href).href;
  }

  function pyodideURL() {
    return abs(CFG.pyodideUrl.replace(/([^/])$/, '$1/'));
  }

  function boot(progress) {
    if (W.ready) return W.ready;
    const t0 = now();
    const src = typeof MDPY_WORKER_SOURCE === 'string' ? MDPY_WORKER_SOURCE : '';
    const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
    const w = (W.worker = new Worker(url, { type: 'module' }));
    URL.revokeObjectURL(url);
    // Only a cross-origin isolated page has the interrupt buffer (stops CPU loops in place);
    // WebKitGTK can be isolated and still have no SharedArrayBuffer.
    const sab = self.crossOriginIsolated && typeof SharedArrayBuffer === 'function';
    W.ia = sab ? new Int32Array(new SharedArrayBuffer(4)) : null;
    // Where the worker can wait on it, the reader's line for input() comes through this buffer:
    // [state (1 a line, 2 stopped), length, UTF-8 bytes].
    W.ab = sab ? new Int32Array(new SharedArrayBuffer(8 + 65536)) : null;
    const ready = (W.ready = new Promise((resolve, reject) => {
      W.fail = reject;
      /** @param {MessageEvent<FromWorker>} e */
      w.onmessage = ({ data: m }) => {
        const cur = W.cur && 'id' in m && W.cur.id === m.id ? W.cur : null;
        if (m.type === 'out' && cur) cur.block.write(m.text);
        else if (m.type === 'rich' && cur) cur.block.rich(m);
        else if (m.type === 'ask' && cur) cur.block.ask();
        else if (m.type === 'done' && cur) cur.resolve(m);
        else if (m.type === 'progress') progress(m.text);
        else if (m.type === 'fatal') reject(new Error(m.message));
        else if (m.type === 'ready') {
          Object.assign(W.info, { jspi: m.jspi, version: m.version, python: m.python, loadMs: Math.round(now() - t0) });
          // From now on, this book's pages start Python as they open.
          store('mdpy:warm', '1');
          W.up = true;
          resolve();
        }
      };
      w.onerror = (e) => reject(new Error(e.message || 'the Python worker failed'));
    }));
    ready.catch(() => W.ready === ready && kill());
    send({
      type: 'init',
      indexURL: pyodideURL(),
      // The book's root: its Pyodide cache is its own (several books can share an origin).
      book: abs('./'),
      noJspi: store('mdpy:no-jspi') === '1',
      interrupt: W.ia,
      askBuffer: W.ab,
      figureFormat: CFG.figureFormat,
      // Pyodide package names as they are; wheel URLs made absolute (the worker's base is a blob: URL).
      packages: (CFG.packages || []).map((p) => (/\.whl([?#].*)?$/.test(p) ? abs(p) : p)),
    });
    return ready;
  }

  function kill() {
    if (W.worker) W.worker.terminate();
    if (W.fail) W.fail(new Error('stopped'));
    W.worker = W.ready = W.fail = null;
    W.up = false;
    // A new interpreter replays the session blocks again.
    W.ran.clear();
    if (W.cur) W.cur.resolve({ status: 'stopped' });
  }

  // ansi-to-html's palette, so a Run colours output as the build did.
  const ANSI = {
    black: '#000', red: '#a00', green: '#0a0', yellow: '#a60', blue: '#00a', magenta: '#a0a', cyan: '#0aa', white: '#aaa',
    'bright-black': '#555', 'bright-red': '#f55', 'bright-green': '#5f5', 'bright-yellow': '#ff5',
    'bright-blue': '#55f', 'bright-magenta': '#f5f', 'bright-cyan': '#5ff', 'bright-white': '#fff',
  };
  const blocks = [];
  let chain = Promise.resolve();

  class Block {
    /** @param {Element} div The block's div.mdpy-snippet. @param {BlockData} data */
    constructor(div, data) {
      this.div = div;
      this.data = data;
      this.key = data.key;
      this.py = 'CPython ' + data.py;
      this.session = data.session == null ? null : data.file + '\n' + data.session;
      this.pre = div.previousElementSibling;
      this.out = this.buildOut = div.querySelector('.mdpy-output');
      this.full = data.code.replace(/\n$/, '');
      const hidden = new Set(data.hidden);
      // Hidden lines stay out of the editor: [n, line] goes back before visible line n.
      /** @type {Array<[number, string]>} */
      this.hidden = [];
      const vis = this.full.split('\n').filter((line, i) => !(hidden.has(i) && this.hidden.push([i - this.hidden.length, line])));
      this.orig = vis.join('\n');
      this.hiddenText = this.hidden.map((h) => h[1]);
      this.showAll = false;
      this.state = 'idle';
      // An exercise's starter (exercise()): its verdict element, and what grades a Check.
      this.verdict = this.graded = null;
    }

    // Full code -> [the editor's text, hidden lines]: the original hidden lines, in order, where
    // they still stand unchanged.
    /** @param {string} text @returns {[string, Array<[number, string]>]} */
    rehide(text) {
      const H = this.hiddenText;
      const out = [];
      /** @type {Array<[number, string]>} */
      const hidden = [];
      let k = 0;
      for (const line of text.split('\n')) {
        if (k < H.length && line === H[k]) hidden.push([out.length, H[k++]]);
        else out.push(line);
      }
      return [out.join('\n'), hidden];
    }

    // mdBook's eye button: hidden lines join the editor, and leave it again.
    showHidden(show) {
      if (show === this.showAll) return;
      const full = this.source().code.replace(/\n$/, '');
      if (show) [this.ta.value, this.hidden] = [full, []];
      else [this.ta.value, this.hidden] = this.rehide(full);
      this.showAll = show;
      this.edited(true);
    }

    setup() {
      const bar = el('div', 'mdpy-toolbar');
      bar.setAttribute('role', 'group');
      bar.setAttribute('aria-label', L('controls'));
      const btn = (name, label, title, fn) => {
        const x = bar.appendChild(el('button', 'mdpy-' + name, label));
        x.type = 'button';
        x.title = title;
        x.onclick = fn;
        return x;
      };
      this.runBtn = btn('run', L('run'), (/Mac|iP/.test(navigator.platform) ? '⌘' : 'Ctrl') + '+Enter', () => this.run());
      this.stopBtn = btn('stop', L('stop'), '', () => this.stop());
      if (this.data.ex) this.checkBtn = btn('check', L('check'), L('checkTitle'), () => this.run(true));
      btn('reset', L('reset'), L('resetTitle'), () => this.reset());
      if (this.session) {
        btn('restart', L('restart'), L('restartTitle'), () => this.restart());
      }
      btn('share', L('share'), L('shareTitle'), () => this.share());
      this.stopBtn.disabled = true;
      this.mark = bar.appendChild(el('span', 'mdpy-mark', L('edited')));
      this.mark.title = L('editedTitle');
      this.status = bar.appendChild(el('span', 'mdpy-status'));
      this.status.setAttribute('role', 'status');
      this.div.prepend(bar);
      if (this.data.ex) exercise(this, bar);

      // The editor: a transparent textarea over the highlighted code.
      const code = this.pre.querySelector('code');
      code.textContent = '';
      code.classList.add('mdpy-code');
      this.hl = code.appendChild(el('span', 'mdpy-hl'));
      this.hl.setAttribute('aria-hidden', 'true');
      const ta = (this.ta = code.appendChild(el('textarea', 'mdpy-ta')));
      ta.spellcheck = false;
      ta.setAttribute('autocapitalize', 'off');
      ta.setAttribute('aria-label', L('editor'));
      // A saved edit is the whole code, hidden lines included.
      const saved = store('mdpy:edit:' + this.key);
      [ta.value, this.hidden] = saved == null ? [this.orig, this.hidden] : this.rehide(saved);
      ta.oninput = () => this.edited();
      ta.onkeydown = (e) => keys(this, e);
      this.pre.querySelectorAll('.buttons > button:not(.clip-button)').forEach((x) => {
        if (/hidden lines|Hide lines/.test(x.getAttribute('title'))) x.addEventListener('click', () => this.showHidden(!code.classList.contains('hide-boring')));
        else x.remove();
      });

      this.stdin = this.div.querySelector('.mdpy-stdin');
      if (!this.stdin) {
        this.stdin = el('div', 'mdpy-stdin mdpy-added');
        this.stdin.appendChild(el('div', 'mdpy-label', L('input')));
        bar.after(this.stdin);
      }
      const box = (this.box = this.stdin.appendChild(el('textarea', 'mdpy-in')));
      box.spellcheck = false;
      box.placeholder = L('inputHelp');
      box.setAttribute('aria-label', box.placeholder);
      box.value = (this.data.stdin || '').replace(/\n$/, '');
      box.onkeydown = (e) => {
        e.stopPropagation();
        if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) this.run();
      };
      this.edited(true);
    }

    edited(init) {
      const v = this.ta.value;
      const h = window.hljs;
      let html = null;
      try {
        // highlight.js 10, as mdBook ships.
        html = h && h.highlight('python', v, true).value;
      } catch (e) {
        html = null;
      }
      // What highlight.js returns is escaped.
      if (html == null) this.hl.textContent = v;
      else this.hl.innerHTML = html;
      if (/\n$/.test(v) || !v) this.hl.append('\n');
      const full = this.source().code.replace(/\n$/, '');
      const changed = full !== this.full;
      if (!init) store('mdpy:edit:' + this.key, changed ? full : null);
      this.div.classList.toggle('mdpy-edited', changed);
      this.mark.hidden = !changed;
      // The build's output is the original code's.
      const label = this.buildOut && this.buildOut.getAttribute('data-origin') === 'build' && this.buildOut.querySelector('.mdpy-label');
      if (label) label.textContent = changed ? F('originalOutput', this.py) : F('output', this.py);
      this.stdin.hidden = this.data.stdin == null && !/\binput\s*\(|\bstdin\b/.test(v);
    }

    source() {
      const vis = this.ta.value.split('\n');
      const code = [];
      const hidden = [];
      let k = 0;
      for (let i = 0; i <= vis.length; i++) {
        while (k < this.hidden.length && (this.hidden[k][0] === i || (i === vis.length && this.hidden[k][0] > i))) {
          hidden.push(code.length);
          code.push(this.hidden[k++][1]);
        }
        if (i < vis.length) code.push(vis[i]);
      }
      return { code: code.join('\n') + '\n', hidden };
    }

    say(text) {
      this.status.textContent = text;
    }

    setState(s) {
      this.state = s;
      if (this.checkBtn) this.checkBtn.disabled = s !== 'idle';
      this.runBtn.disabled = s !== 'idle';
      this.stopBtn.disabled = s === 'idle';
    }

    begin() {
      this.sgr = null;
      const o = el('div', 'mdpy-output');
      o.dataset.origin = 'browser';
      o.setAttribute('aria-live', 'polite');
      o.appendChild(el('div', 'mdpy-label', F('browserOutput', 'Python ' + W.info.python)));
      this.outCode = o.appendChild(el('pre')).appendChild(el('code', 'nohighlight'));
      this.shown = false;
      if (this.out && this.out.parentNode) this.out.replaceWith(o);
      else this.stdin.after(o);
      return (this.out = o);
    }

    write(text) {
      if (!this.outCode) this.outCode = this.out.appendChild(el('pre')).appendChild(el('code', 'nohighlight'));
      // Terminal colours (SGR sequences) as coloured text, as the build shows them.
      let at = 0;
      const sgr = (this.sgr = this.sgr || {});
      const put = (t) => {
        if (!t) return;
        if (!sgr.fg && !sgr.bold) return this.outCode.insertAdjacentText('beforeend', t);
        const e = this.outCode.appendChild(el(sgr.bold ? 'b' : 'span', '', t));
        if (sgr.fg) e.style.color = 'var(--' + sgr.fg + ',' + ANSI[sgr.fg] + ')';
      };
      text.replace(/\x1b\[([\d;]*)m/g, (m, codes, i) => {
        put(text.slice(at, i));
        at = i + m.length;
        for (const c of (codes || '0').split(';').map(Number)) {
          if (c === 0) sgr.fg = sgr.bold = null;
          else if (c === 1) sgr.bold = true;
          else if (c === 22) sgr.bold = null;
          else if (c === 39) sgr.fg = null;
          else if ((c >= 30 && c < 38) || (c >= 90 && c < 98)) sgr.fg = Object.keys(ANSI)[(c % 10) + (c >= 90 ? 8 : 0)];
        }
        return m;
      });
      put(text.slice(at));
    }

    // A figure or display(): images as <img> with a data: URL, HTML through clean(), Markdown as text.
    /** @param {RichMessage} m */
    rich(m) {
      const c = this.outCode;
      if (c && !c.firstChild) c.parentNode.remove();
      let e = m.mime === 'text/html' ? clean(m.data) : el('pre', '', m.data);
      if (m.mime[0] === 'i') {
        e = el('img', m.figure ? 'mdpy-image mdpy-figure' : 'mdpy-image');
        e.alt = m.alt;
        e.src = 'data:' + m.mime + ';base64,' + m.data;
      }
      this.out.appendChild(e);
      this.outCode = null;
      this.shown = true;
    }

    // input() wants a line past the Input box's: a field at the end of the output.
    ask() {
      const f = (this.asking = this.out.appendChild(el('input', 'mdpy-ask')));
      f.setAttribute('aria-label', L('ask'));
      f.spellcheck = false;
      f.onkeydown = (e) => {
        e.stopPropagation();
        if (e.key !== 'Enter') return;
        e.preventDefault();
        this.write(f.value + '\n');
        this.answer(f.value);
      };
      this.say(L('asking'));
      f.focus();
    }

    // A line, or false (Stop), to the waiting input().
    answer(text) {
      if (!this.asking) return;
      this.asking.remove();
      this.asking = null;
      if (text !== false) this.say(L('running'));
      const b = W.ab;
      if (!b) return send({ type: 'line', text });
      const bytes = new TextEncoder().encode(text || '').slice(0, 65536);
      new Uint8Array(b.buffer, 8).set(bytes);
      b[1] = bytes.length;
      Atomics.store(b, 0, text === false ? 2 : 1);
      Atomics.notify(b, 0);
    }

    run(check) {
      if (this.state !== 'idle') return;
      this.checking = !!check;
      this.setState('queued');
      this.stopReq = false;
      this.say(L('waiting'));
      chain = chain.then(() => go(this)).catch((e) => this.say(String(e.message || e)));
    }

    stop() {
      if (this.state === 'idle') return;
      this.stopReq = true;
      W.info.stopAt = now();
      const cur = W.cur;
      if (this.state === 'queued') {
        this.setState('idle');
        this.say(L('stopped'));
      } else if (!cur || cur.owner !== this) {
        // Still loading Python.
        kill();
      } else {
        this.say(L('stopping'));
        cur.block.answer(false);
        if (W.ia) Atomics.store(W.ia, 0, 2);
        // Cancelling ends awaits and keeps the interpreter; a CPU loop needs a new one.
        send({ type: 'cancel' });
        setTimeout(() => W.cur === cur && kill(), 250);
      }
    }

    reset() {
      this.stop();
      [this.ta.value, this.hidden] = this.showAll ? [this.full, []] : this.rehide(this.full);
      store('mdpy:edit:' + this.key, null);
      this.edited(true);
      this.box.value = (this.data.stdin || '').replace(/\n$/, '');
      if (this.out !== this.buildOut) {
        if (this.buildOut) this.out.replaceWith(this.buildOut);
        else this.out.remove();
        this.out = this.buildOut;
      }
      this.say('');
    }

    // The page's address with this block's code in the fragment (#mdpy:<block>:<base64url UTF-8>):
    // nothing leaves the browser until the reader shares the link.
    share() {
      const code = this.source().code.replace(/\n$/, '');
      const b64 = btoa(String.fromCharCode(...new TextEncoder().encode(code))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      history.replaceState(null, '', '#mdpy:' + this.key.split('#').pop() + ':' + b64);
      const c = navigator.clipboard;
      const said = () => this.say(L('linkShown'));
      if (c) c.writeText(location.href).then(() => this.say(L('linkCopied')), said);
      else said();
    }

    // A fresh namespace for the session (the code stays): its earlier blocks run again first.
    restart() {
      this.stop();
      for (const x of blocks) if (x.session === this.session) W.ran.delete(x.key);
      if (W.worker) send({ type: 'forget', session: this.session });
      this.say(L('restarted'));
    }
  }

  // Runs b after the earlier blocks of its session this interpreter has not run.
  /** @param {Block} b */
  async function go(b) {
    if (b.stopReq) return;
    b.setState('running');
    if (!W.up) {
      b.say(L('loading'));
      b.status.appendChild(el('progress', 'mdpy-progress'));
    }
    try {
      await boot((p) => p === 'start' && b.say(L('starting')));
    } catch (e) {
      b.say(b.stopReq ? L('stopped') : L('loadFailed') + e.message);
      return b.setState('idle');
    }
    const steps = blocks.filter((x) => x === b || (b.session && x.session === b.session && blocks.indexOf(x) < blocks.indexOf(b) && !W.ran.has(x.key)));
    const t0 = now();
    for (const x of steps) {
      b.say(x === b ? L('running') : L('replaying'));
      const res = await exec(x, b);
      if (res.status === 'stopped' || b.stopReq) {
        W.info.stopMs = Math.round(now() - W.info.stopAt);
        b.say(L('stopped'));
        break;
      }
      if (x === b && res.error === 'EOFError' && !W.ab && !W.info.jspi) {
        // input() ran out of lines and this browser cannot wait for more.
        b.stdin.hidden = false;
        b.say(L('noInput'));
      } else if (x === b) {
        b.say(res.error || (res.status === 'ok' ? L('done') + ' (' + ((now() - t0) / 1000).toFixed(2) + ' s)' : L('truncated')));
        if (b.checking) b.graded(res);
      } else if (res.status !== 'ok' && !x.data.raises) {
        b.say(L('sessionFailed'));
        break;
      }
    }
    b.setState('idle');
  }

  /** @param {Block} x The block to run. @param {Block} owner The block whose Run it is. @returns {Promise<RunResult>} */
  function exec(x, owner) {
    const out = x.begin();
    const src = x.source();
    // Check: the reader's code, then the exercise's checks in the same namespace.
    if (x.checking && x === owner) src.code += x.data.ex.check;
    const same = blocks.filter((y) => x.session && y.session === x.session);
    return new Promise((resolve) => {
      W.cur = { id: ++W.seq, block: x, owner, resolve };
      send({
        type: 'run',
        id: W.seq,
        code: src.code,
        hidden: src.hidden,
        // Tracebacks name the chapter's file and lines, as the build's do.
        filename: x.data.f || x.data.file || (same.length ? '<session ' + x.data.session + ', block ' + (same.indexOf(x) + 1) + '>' : '<block>'),
        line: x.data.file ? x.data.l : undefined,
        stdin: x.box.value ? x.box.value.replace(/\n?$/, '\n') : '',
        session: x.session,
        limit: CFG.outputLimit || 65536,
        // The book's `packages`, once a block of this page imports a module outside the standard library.
        packages: blocks.some((y) => y.data.packages),
      });
    }).then((res) => {
      W.cur = null;
      if (x.asking) x.asking.remove();
      x.asking = null;
      if (res.status !== 'stopped') W.ran.add(x.key);
      out.classList.toggle('mdpy-empty', !x.shown && !out.querySelector('code').firstChild);
      return res;
    });
  }

  // HTML from Python, rebuilt from an inert parse with allow-listed tags and no attributes but
  // colspan/rowspan: nothing in it can run (scripts, handlers, URLs) or load.
  function clean(html) {
    const copy = (from, to) => {
      for (const n of from.childNodes) {
        if (n.nodeType === 3) to.append(n.data);
        if (n.nodeType !== 1 || /^(SCRIPT|STYLE|TEMPLATE)$/.test(n.tagName)) continue;
        let t = to;
        if (/^(T[HDR]|THEAD|TBODY|TABLE|CAPTION|P|BR|B|I|EM|STRONG|CODE|PRE|SPAN|DIV|UL|OL|LI|H\d)$/.test(n.tagName)) {
          t = to.appendChild(document.createElement(n.tagName));
          for (const a of ['colspan', 'rowspan']) if (n.getAttribute(a) > 0) t.setAttribute(a, +n.getAttribute(a));
        }
        copy(n, t);
      }
      return to;
    };
    return copy(new DOMParser().parseFromString(html, 'text/html').body, el('div', 'mdpy-html'));
  }

  // Keys stay in the editor (mdBook binds arrows to chapters); Escape leaves it.
  function keys(b, e) {
    e.stopPropagation();
    const ta = b.ta;
    const v = ta.value;
    const s = ta.selectionStart;
    const end = ta.selectionEnd;
    const ls = v.lastIndexOf('\n', s - 1) + 1;
    const mod = e.ctrlKey || e.metaKey;
    // WebKitGTK reports Shift+Tab (GTK's ISO_Left_Tab) as key 'Unidentified', code 'Tab'.
    const key = e.key === 'Unidentified' && e.code === 'Tab' ? 'Tab' : e.key;
    if (key === 'Escape' || (key === 'Enter' && mod)) {
      e.preventDefault();
      if (key === 'Enter') b.run();
      else (b.runBtn.disabled ? b.stopBtn : b.runBtn).focus();
    } else if (key === 'Tab' && !mod && !e.altKey) {
      e.preventDefault();
      if (!e.shiftKey && v.slice(s, end).indexOf('\n') < 0) return insert(ta, s, end, ' '.repeat(4 - ((s - ls) % 4)));
      const le = end > s && v[end - 1] === '\n' ? end - 1 : end;
      const text = v.slice(ls, le).replace(/^.*$/gm, (l) => (e.shiftKey ? l.replace(/^ {1,4}/, '') : l && '    ' + l));
      insert(ta, ls, le, text);
      ta.setSelectionRange(ls, ls + text.length);
    } else if (key === 'Enter' && !e.shiftKey && !e.altKey && !e.isComposing) {
      e.preventDefault();
      const line = v.slice(ls, s);
      insert(ta, s, end, '\n' + /^ */.exec(line)[0] + (/:\s*$/.test(line) ? '    ' : ''));
    }
  }

  function insert(ta, s, e, text) {
    ta.setSelectionRange(s, e);
    // execCommand keeps the undo history.
    if (!(text && document.execCommand('insertText', false, text))) {
      ta.setRangeText(text, s, e, 'end');
      ta.dispatchEvent(new Event('input'));
    }
  }

  // The code as built: the page's own text (mdBook's hidden lines are the
  // `.boring` spans), so the page data need not repeat it.
  function readCode(code) {
    const text = code.textContent;
    const hidden = [];
    code.querySelectorAll('.boring').forEach((span) => {
      const r = document.createRange();
      r.setStart(code, 0);
      r.setEndBefore(span);
      const first = r.toString().split('\n').length - 1;
      const n = span.textContent.replace(/\n$/, '').split('\n').length;
      for (let i = 0; i < n; i++) hidden.push(first + i);
    });
    return { code: text.endsWith('\n') ? text : text + '\n', hidden };
  }

  // A chapter's div.mdpy-chapter lists its Python blocks in page order
  // (also in print.html, where chapters follow each other). A block's stdin
  // and output follow it as plain code blocks, gathered here under a
  // div.mdpy-snippet, unless that div was built with notes or figures (`h`).
  /** @param {Element} pre @param {BlockData} d @returns {Element | null} */
  function gather(pre, d) {
    let div = pre.nextElementSibling;
    if (d.h) return div && div.matches('div.mdpy-snippet') && div;
    pre.after((div = el('div', 'mdpy-snippet')));
    [d.stdin != null && 'stdin', d.o !== 0 && 'output'].forEach((k) => {
      const next = div.nextElementSibling;
      if (!k || !next || !next.matches('pre')) return;
      const w = div.appendChild(el('div', 'mdpy-' + k));
      if (k === 'output') w.dataset.origin = d.a ? 'author' : 'build';
      const label = k === 'stdin' ? L('input') : d.a ? L('authorOutput') : F('output', 'CPython ' + d.py);
      w.append(el('div', 'mdpy-label', label), next);
      const code = next.querySelector('code') || next;
      if (k === 'output' && d.nonl) code.textContent = code.textContent.replace(/\n$/, '');
      w.classList.toggle('mdpy-empty', !code.textContent);
    });
    return div;
  }

  function init() {
    /** @type {MdpyChapter | null} */
    let chapter;
    let at;
    let seen;
    const keys = new Set();
    const srcs = new Set();
    document.querySelectorAll('div.mdpy-chapter[data-mdpy], pre > code.language-python').forEach((node) => {
      if (node.matches('div')) {
        at = 0;
        seen = {};
        try {
          chapter = JSON.parse(node.getAttribute('data-mdpy'));
        } catch (e) {
          chapter = null;
        }
        return;
      }
      const entry = chapter && !node.closest('.mdpy-quiz') && chapter.s[at++];
      if (!entry || node.mdpy) return;
      const built = readCode(node);
      // Keyed by the original code (and its count among equal blocks of the chapter): an edit
      // stays with its block when blocks move, and is dropped when the original changes.
      const h = hash(built.code);
      seen[h] = (seen[h] || 0) + 1;
      const key = chapter.src + '#' + h + (seen[h] > 1 ? '.' + seen[h] : '');
      const d = (node.mdpy = Object.assign(entry, built, { key, file: chapter.file, py: chapter.py }));
      keys.add(d.key);
      srcs.add(chapter.src);
      const div = gather(node.parentElement, d);
      if (!div) return;
      div.mdpy = d;
      if (d.browser !== false) {
        const b = new Block(div, d);
        blocks.push(b);
        b.setup();
      }
    });
    // A shared link: its code goes into its block (and is kept as the reader's edit).
    const m = /^#mdpy:([^:]+):([\w-]*)$/.exec(location.hash);
    const b = m && blocks.find((x) => x.key.split('#').pop() === m[1]);
    if (b) {
      try {
        const bin = atob(m[2].replace(/-/g, '+').replace(/_/g, '/'));
        const code = new TextDecoder().decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0)));
        [b.ta.value, b.hidden] = b.rehide(code);
        b.edited();
        b.pre.scrollIntoView();
      } catch (e) {
        // A damaged link: the page as built.
      }
    }
    // A reader who ran code in this book before: Python starts as the page opens, in the
    // background, and the first block's status says so.
    const b0 = blocks[0];
    if (b0 && store('mdpy:warm') === '1') {
      W.info.background = true;
      const warming = L('warming');
      b0.say(warming);
      const done = (text) => b0.status.textContent === warming && b0.say(text);
      boot(() => {}).then(() => done(L('warm')), () => done(''));
    }
    // Edits of code that is no longer on its chapter's page go.
    try {
      for (let k = localStorage.length; k--; ) {
        const m = /^mdpy:edit:(.*)#[^#]*$/.exec(localStorage.key(k) || '');
        if (m && srcs.has(m[1]) && !keys.has(localStorage.key(k).slice(10))) localStorage.removeItem(localStorage.key(k));
      }
    } catch (e) {
      // No storage.
    }
  }

  // Exercises: Check grades the reader's code with the checks the build proved; a failed
  // check's message, then the next hint; success is remembered per exercise (its checks).
  /** @param {Block} b @param {HTMLElement} bar */
  function exercise(b, bar) {
    const ex = b.data.ex;
    let h = 5381;
    for (const c of b.data.file + ex.name + ex.check) h = ((h * 33) ^ c.charCodeAt(0)) >>> 0;
    const key = 'mdpy:solved:' + h.toString(36);
    const v = (b.verdict = el('div', 'mdpy-verdict'));
    v.setAttribute('role', 'status');
    bar.after(v);
    const hints = [];
    for (let n = b.div.nextElementSibling; n && !n.matches('pre, .mdpy-snippet'); n = n.nextElementSibling) {
      if (n.matches('details.mdpy-hint')) hints.push(n);
    }
    const solved = (yes) => {
      v.className = 'mdpy-verdict' + (yes ? ' mdpy-solved' : '');
      v.textContent = yes ? L('solved') : '';
      summary();
    };
    if (store(key) === '1') solved(true);
    b.graded = (res) => {
      b.checking = false;
      if (res.status === 'ok') {
        store(key, '1');
        return solved(true);
      }
      if (res.status !== 'error') return;
      const text = (b.outCode && b.outCode.textContent) || '';
      const last = text.trimEnd().split('\n').pop() || res.error;
      v.className = 'mdpy-verdict mdpy-failed';
      v.textContent = res.error === 'AssertionError'
        ? L('notYet') + (last.replace(/^AssertionError:?\s*/, '') || L('checkFailed'))
        : L('raised') + last;
      const next = hints.find((d) => !d.open);
      if (next) {
        const hb = v.appendChild(el('button', 'mdpy-hint-btn', L('hint')));
        hb.type = 'button';
        hb.onclick = () => {
          next.open = true;
          next.querySelector('summary').focus();
          hb.remove();
        };
      }
    };
  }

  // "Exercises solved on this page: 1 of 3", after the page's last exercise.
  function summary() {
    const all = blocks.filter((b) => b.verdict);
    if (!all.length) return;
    let s = document.querySelector('.mdpy-ex-summary');
    if (!s) {
      s = el('p', 'mdpy-ex-summary');
      s.setAttribute('role', 'status');
      const last = all[all.length - 1].div;
      let at = last;
      while (at.nextElementSibling && at.nextElementSibling.matches('details.mdpy-hint, details.mdpy-solution')) at = at.nextElementSibling;
      at.after(s);
    }
    s.textContent = L('exercisesSolved') + all.filter((b) => b.verdict.classList.contains('mdpy-solved')).length + ' / ' + all.length;
  }

  window.MDPY_RUNNER = { blocks, info: () => W.info, loaded: () => !!W.ready };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
