// The browser runner in Chromium (playwright-core, /usr/bin/chromium).
import { runnerSuite } from './lib/runner-suite.mjs';

runnerSuite('chromium');
