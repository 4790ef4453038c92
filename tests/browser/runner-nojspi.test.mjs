// The asyncio chapter with WebAssembly stack switching (JSPI) hidden from the worker, as in
// Safari: the page sets `mdpy:no-jspi` and the worker deletes WebAssembly.Suspending and
// WebAssembly.promising before Pyodide loads. Chromium and Firefox both ship JSPI, so this
// is the only way to test that path here.
import { describe } from 'node:test';
import { asyncioTests, fixture } from './lib/runner-suite.mjs';

for (const name of ['chromium', 'firefox']) {
  describe(`runner in ${name} without JSPI (the Safari path)`, () => {
    const ctx = fixture(name, { init: () => localStorage.setItem('mdpy:no-jspi', '1') });
    asyncioTests(ctx, { jspi: false });
  });
}
