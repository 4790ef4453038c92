// The browser runner in Firefox ESR (puppeteer-core over WebDriver BiDi, /usr/bin/firefox-esr).
import { runnerSuite } from './lib/runner-suite.mjs';

runnerSuite('firefox');
