// @ts-check
// mdbook-python quiz widget: turns each div.mdpy-quiz (questions in the page, keys only in
// its data-mdpy-quiz JSON) into one question at a time with feedback, score, retry, and
// progress in localStorage.

// The quiz data, as the build writes it: each typedef mirrors the Rust type named in it
// (src/render/page_data.rs; checked by tsc, tests/browser/typecheck.test.mjs; the bundle drops
// JSDoc).

/**
 * A div.mdpy-quiz's data-mdpy-quiz (page_data::Quiz).
 * @typedef {object} MdpyQuiz
 * @property {string} key The quiz's key: progress is saved under `mdpy-quiz:<key>`.
 * @property {string} hash The questions' hash: saved progress of other questions is dropped.
 * @property {MdpyQuestion[]} questions One per li.mdpy-quiz-q, in order.
 */
/**
 * One question's key (page_data::Question: its Grading, flattened, then these).
 * @typedef {object} MdpyQuestionText
 * @property {string} [part] Its multipart group: later parts show the group's context too.
 * @property {string} answer The right answer, as HTML.
 * @property {string} [context] The explanation, as HTML.
 * @typedef {(MdpyChoice | MdpyShortAnswer | MdpyTracing) & MdpyQuestionText} MdpyQuestion
 */
/**
 * Multiple choice (page_data::Grading::Choice).
 * @typedef {object} MdpyChoice
 * @property {'mc'} t
 * @property {boolean} multi Check boxes: every right choice must be checked.
 * @property {number[]} correct The right choices' indexes.
 */
/**
 * A typed answer (page_data::Grading::Short).
 * @typedef {object} MdpyShortAnswer
 * @property {'sa'} t
 * @property {string[]} accept The accepted answers, trimmed and lower-cased.
 * @property {'short' | 'long' | 'code'} response The answer box (page_data::AnswerBox).
 */
/**
 * What a program does (page_data::Grading::Tracing and its TracingKey): `unknown`, or the rest.
 * @typedef {object} MdpyTracing
 * @property {'tr'} t
 * @property {boolean} py A Python program: runs/raises and the exception's name.
 * @property {boolean} [runs] It runs to the end.
 * @property {string | null} [stdout] What it prints.
 * @property {string | null} [exc] The exception it raises.
 * @property {true} [unknown] The build does not know: every answer counts.
 */

(function () {
  'use strict';
  const L = Object.assign({
    questionOf: 'Question {n} of {total}',
    chooseOne: 'Choose one answer.',
    chooseAll: 'Choose every correct answer.',
    yourAnswer: 'Your answer',
    thisProgram: 'This program',
    optionRuns: 'runs to the end',
    optionRaises: 'raises an exception',
    optionCompiles: 'compiles',
    optionFails: 'does not compile',
    output: 'What it prints',
    exception: 'Which exception? (for example ValueError)',
    submit: 'Check',
    next: 'Next question',
    finish: 'See your score',
    correct: 'Correct!',
    incorrect: 'Incorrect.',
    theAnswer: 'The correct answer:',
    explanation: 'Explanation',
    score: 'You answered {correct} of {total} questions correctly.',
    retry: 'Retry the questions you got wrong',
    restart: 'Start over',
    required: 'Answer the question first.',
  }, (window.MDPY_CONFIG || {}).quizLabels);
  const fmt = (s, o) => s.replace(/\{(\w+)\}/g, (m, k) => (k in o ? o[k] : m));
  const C = (c) => 'mdpy-quiz-' + c;
  // h(tag, class, {attr: value, text, html}, ...children)
  function h(tag, cls, props, ...kids) {
    const e = document.createElement(tag);
    if (cls) e.className = C(cls);
    for (const k in props) {
      const v = props[k];
      if (k === 'text') e.textContent = v;
      else if (k === 'html') e.innerHTML = v;
      else if (v != null && v !== false) e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of kids) if (c) e.append(c);
    return e;
  }
  const btn = (cls, text, onclick, type) => {
    const b = h('button', cls, { type: type || 'button', text });
    if (onclick) b.onclick = onclick;
    return b;
  };
  // Output compared as the build does: no \r, trailing spaces or blank lines at the ends.
  const norm = (s) => s.replace(/\r/g, '').replace(/[ \t]+$/gm, '').replace(/^\n+|\n+$/g, '');
  const excName = (s) => s.split(':')[0].trim().split('.').pop().toLowerCase();

  // One question's controls, and how to read, fill and grade them.
  /** @param {Element} li @param {MdpyQuestion} q */
  function build(li, q) {
    const id = li.id;
    const body = [];
    const inputs = [];
    const field = (tag, sfx, label, props) => {
      const f = h(tag, props.mono && 'mono', { id: id + sfx, spellcheck: 'false', autocomplete: 'off', ...props.a });
      inputs.push(f);
      return [f, h('label', 'label', { for: f.id, text: label })];
    };
    let read, fill, grade;
    if (q.t === 'mc') {
      const ul = li.querySelector('.' + C('choices'));
      const fs = h('fieldset', 'choices', {}, h('legend', 'legend', { text: q.multi ? L.chooseAll : L.chooseOne }));
      Array.from(ul.children).forEach((c, j) => {
        const inp = h('input', '', { type: q.multi ? 'checkbox' : 'radio', name: id, id: id + '-c' + j, value: j });
        const lab = h('label', '', { for: inp.id });
        const p = c.children.length === 1 && c.firstElementChild.tagName === 'P' ? c.firstElementChild : c;
        lab.append(...p.childNodes);
        fs.append(h('div', 'choice', {}, inp, lab));
        inputs.push(inp);
      });
      ul.remove();
      body.push(fs);
      read = () => { const v = inputs.filter((x) => x.checked).map((x) => +x.value); return v.length ? v : null; };
      fill = (v) => inputs.forEach((x, j) => { x.checked = !!v && v.includes(j); });
      grade = (v) => v.length === q.correct.length && q.correct.every((j) => v.includes(j));
    } else if (q.t === 'sa') {
      const short = q.response === 'short';
      const [inp, lab] = field(short ? 'input' : 'textarea', '-in', L.yourAnswer,
        { mono: q.response === 'code', a: short ? { type: 'text' } : { rows: 3 } });
      body.push(lab, inp);
      read = () => (inp.value.trim() ? inp.value : null);
      fill = (v) => { inp.value = v || ''; };
      grade = (v) => q.accept.includes(v.trim().toLowerCase());
    } else {
      const radio = (k, text) => {
        const inp = h('input', '', { type: 'radio', name: id, id: id + '-' + k, value: k });
        inputs.push(inp);
        return h('span', 'option', {}, inp, h('label', '', { for: inp.id, text }));
      };
      const fs = h('fieldset', 'choices', {}, h('legend', 'legend', { text: L.thisProgram }),
        radio('run', q.py ? L.optionRuns : L.optionCompiles), ' ',
        radio('raise', q.py ? L.optionRaises : L.optionFails));
      const [out, outL] = field('textarea', '-out', L.output, { mono: 1, a: { rows: 3 } });
      const [exc, excL] = field('input', '-exc', L.exception, { a: { type: 'text' } });
      const outBox = h('div', 'more', { hidden: true }, outL, out);
      const excBox = h('div', 'more', { hidden: true }, excL, exc);
      const which = () => (inputs.find((x) => x.checked) || {}).value;
      const sync = () => { outBox.hidden = which() !== 'run'; excBox.hidden = !q.py || which() !== 'raise'; };
      fs.onchange = sync;
      body.push(fs, outBox, excBox);
      read = () => {
        const k = which();
        return !k || (k === 'raise' && q.py && !exc.value.trim()) ? null
          : { k, o: k === 'run' ? out.value : '', e: k === 'raise' ? exc.value : '' };
      };
      fill = (v) => {
        v = v || {};
        inputs[0].checked = v.k === 'run';
        inputs[1].checked = v.k === 'raise';
        out.value = v.o || '';
        exc.value = v.e || '';
        sync();
      };
      grade = (v) => q.unknown || ((v.k === 'run') === q.runs && (q.runs
        ? norm(v.o) === norm(q.stdout || '')
        : !q.py || !q.exc || excName(v.e) === excName(q.exc)));
    }
    const err = h('p', 'error', { hidden: true, text: L.required });
    const submit = btn('submit', L.submit, null, 'submit');
    const form = h('form', 'form', { novalidate: true }, ...body, err, h('div', 'actions', {}, submit));
    const fb = h('div', 'feedback', { hidden: true });
    li.append(form, fb);
    const head = /** @type {HTMLElement} */ (li.querySelector('.' + C('qhead')));
    head.tabIndex = -1;
    return {
      li, form, fb, err, head, read, grade, fill,
      lock: (on) => { inputs.forEach((x) => { x.disabled = on; }); submit.hidden = on; },
    };
  }

  /** @param {HTMLElement} root */
  function init(root) {
    /** @type {MdpyQuiz} */
    let data;
    try { data = JSON.parse(root.dataset.mdpyQuiz); } catch (e) { return; }
    const n = data.questions.length;
    const key = 'mdpy-quiz:' + data.key;
    const lis = root.querySelectorAll('.' + C('q'));
    if (lis.length !== n || root.classList.contains(C('js'))) return;
    root.classList.add(C('js'));
    root.querySelectorAll('.' + C('reveal')).forEach((d) => d.remove());
    // Later parts of a multipart question show the shared context too.
    data.questions.forEach((q, i) => {
      const src = q.part && root.querySelector('[data-part="' + CSS.escape(q.part) + '"]');
      if (src && !lis[i].contains(src)) {
        const copy = /** @type {Element} */ (src.cloneNode(true));
        copy.classList.add(C('copy'));
        lis[i].querySelector('.' + C('qhead')).after(copy);
      }
    });
    const progress = h('span', 'progress');
    root.querySelector('.' + C('header')).append(progress);
    const status = h('div', 'sr', { role: 'status', 'aria-live': 'polite' });
    const summary = h('div', 'summary', { hidden: true });
    root.append(summary, status);
    const qs = Array.from(lis, (li, i) => build(li, data.questions[i]));

    const fresh = () => ({ h: data.hash, a: 0, q: qs.map((_, i) => i), p: 0, r: [] });
    let st = null;
    try {
      st = JSON.parse(localStorage.getItem(key));
      if (!st || st.h !== data.hash || !Array.isArray(st.r) || !st.q.every((i) => i >= 0 && i < n)) st = null;
    } catch (e) { st = null; }
    st = st || fresh();
    const save = () => { try { localStorage.setItem(key, JSON.stringify(st)); } catch (e) { /* private mode */ } };
    const say = (text) => { status.textContent = ''; setTimeout(() => { status.textContent = text; }, 50); };
    const go = () => { st.p++; save(); show(true); };

    // Show the verdict, the right answer and the explanation; returns the Next button.
    function feedback(x, q, r, last) {
      const fb = x.fb;
      const part = (cls, label, html) => h('div', cls, {}, label && h('p', 'label', { text: label }), h('div', '', { html }));
      fb.textContent = '';
      fb.dataset.correct = r.c;
      fb.append(h('p', 'verdict', {}, h('strong', '', { text: r.c ? L.correct : L.incorrect })));
      if (!r.c || q.t === 'tr') fb.append(part('answer', !r.c && L.theAnswer, q.answer));
      if (q.context) fb.append(part('context', L.explanation, q.context));
      // Highlight inserted code as mdBook's book.js does the page's.
      fb.querySelectorAll('code').forEach((c) => {
        if (window.hljs && !c.classList.contains('nohighlight')) try { window.hljs.highlightBlock(c); } catch (e) { /* */ }
        c.classList.add('hljs');
      });
      if (q.t === 'mc') {
        x.form.querySelectorAll('.' + C('choice')).forEach((c, j) => {
          c.classList.toggle(C('right'), q.correct.includes(j));
          c.classList.toggle(C('wrong'), !q.correct.includes(j) && r.v.includes(j));
        });
      }
      const next = btn('next', last ? L.finish : L.next, go);
      fb.append(h('div', 'actions', {}, next));
      fb.hidden = false;
      return next;
    }

    function show(focus) {
      qs.forEach((x) => x.li.classList.remove(C('current')));
      summary.hidden = st.p < st.q.length;
      progress.textContent = '';
      if (st.p < st.q.length) {
        const i = st.q[st.p];
        const x = qs[i];
        const r = st.r[i];
        const done = r && r.t === st.a;
        x.li.classList.add(C('current'));
        progress.textContent = fmt(L.questionOf, { n: st.p + 1, total: st.q.length });
        x.err.hidden = true;
        x.form.querySelectorAll('.' + C('choice')).forEach((c) => c.classList.remove(C('right'), C('wrong')));
        x.fill(done ? r.v : null);
        x.lock(done);
        if (done) feedback(x, data.questions[i], r, st.p === st.q.length - 1);
        else x.fb.hidden = true;
        if (focus) x.head.focus();
        return;
      }
      const right = qs.filter((_, i) => st.r[i] && st.r[i].c).length;
      const text = fmt(L.score, { correct: right, total: n });
      const p = h('p', 'score', { tabindex: '-1' }, h('strong', '', { text }));
      const actions = h('div', 'actions');
      if (right < n) {
        actions.append(btn('retry', L.retry, () => {
          st.a++;
          st.q = qs.map((_, i) => i).filter((i) => !(st.r[i] && st.r[i].c));
          st.p = 0;
          save();
          show(true);
        }));
      }
      actions.append(btn('restart', L.restart, () => { st = fresh(); save(); show(true); }));
      summary.textContent = '';
      summary.append(p, actions);
      if (focus) { p.focus(); say(text); }
    }

    qs.forEach((x, i) => {
      x.form.onsubmit = (e) => {
        e.preventDefault();
        const v = x.read();
        x.err.hidden = v != null;
        if (v == null) { say(L.required); return; }
        const q = data.questions[i];
        const r = (st.r[i] = { c: !!x.grade(v), v, t: st.a });
        save();
        x.lock(true);
        feedback(x, q, r, st.p === st.q.length - 1).focus();
        const t = (s) => { const e = x.fb.querySelector('.' + C(s) + ' > div'); return e ? e.textContent : ''; };
        say((r.c ? L.correct : L.incorrect + ' ' + L.theAnswer + ' ' + t('answer'))
          + (q.context ? ' ' + L.explanation + ': ' + t('context') : ''));
      };
    });
    show(false);
  }

  const start = () => document.querySelectorAll('.mdpy-quiz[data-mdpy-quiz]').forEach(init);
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
