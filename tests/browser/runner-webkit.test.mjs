// The browser runner in WebKit: WebKitGTK's MiniBrowser (Debian's webkit2gtk-driver), the engine
// of Safari, driven over classic WebDriver. It has no JSPI, so asyncio takes the Safari path for
// real here, not by hiding JSPI as runner-nojspi.test.mjs does in the other two.
import { runnerSuite } from './lib/runner-suite.mjs';

runnerSuite('webkit');
