// What the front end's scripts find around them, for tsc only (tests/browser/typecheck.test.mjs):
// this file is not shipped. The records the build writes are typedefs in the scripts that read
// them (MdpyConfig, MdpyChapter: runner.js; MdpyQuiz: quiz.js); the worker protocol's are in
// worker.js.

interface Window {
  /** The bundle's prelude (src/render/assets.rs, `bundle`). */
  MDPY_CONFIG?: MdpyConfig;
  /** highlight.js 10, as mdBook ships it. */
  hljs?: {
    highlight(lang: string, code: string, ignoreIllegals?: boolean): { value: string };
    highlightBlock(block: Element): void;
  };
  /** runner.js's handle for tests. */
  MDPY_RUNNER?: object;
}

/** worker.js's source with runner.py in it, a string in the bundle's prelude. */
declare const MDPY_WORKER_SOURCE: string | undefined;
/** mdBook's page script: the relative path from the page to the book's root. */
declare const path_to_root: string | undefined;

/** Set in a worker only (the lib here is the DOM's). */
declare var WorkerGlobalScope: { new (): object; prototype: object };

/** JSPI (WebAssembly JavaScript Promise Integration), where the engine has it. */
declare namespace WebAssembly {
  var Suspending: Function | undefined;
  var promising: Function | undefined;
}

interface Element {
  /** runner.js: the page data of a block's code element, or of its div.mdpy-snippet. */
  mdpy?: BlockData;
}
