# Shared by scripts/serve, scripts/test and .ci/run.
MDBOOK_VERSION=0.5.4
# The linter of the worker's Python (front-end/runner.py), tests/browser/typecheck.test.mjs.
RUFF_VERSION=0.17.5

ensure_mdbook() {
  if ! mdbook --version 2>/dev/null | grep -q "v${MDBOOK_VERSION%.*}"; then
    echo "==> installing mdBook ${MDBOOK_VERSION} (about 2 minutes, once)"
    cargo install mdbook --version "$MDBOOK_VERSION" --locked
  fi
}

ensure_node_packages() {
  if [ ! -d tests/browser/node_modules/pyodide ] || [ ! -d tests/browser/node_modules/puppeteer-core ] \
    || [ ! -d tests/browser/node_modules/typescript ]; then
    echo "==> installing the browser-test packages (npm ci)"
    (cd tests/browser && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
}

# ruff, pinned, in a virtual environment of the browser tests (tests/browser/.venv).
ensure_lint_tools() {
  local venv=tests/browser/.venv
  if ! "$venv/bin/ruff" --version 2>/dev/null | grep -qx "ruff $RUFF_VERSION"; then
    echo "==> installing ruff $RUFF_VERSION (PyPI) into $venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "ruff==$RUFF_VERSION"
  fi
}

# The rich-output fixture's virtual environment (matplotlib, pandas, tabulate
# from PyPI, about 20 s once) and the wheels its browser test serves.
ensure_rich_fixture() {
  tests/fixtures/rich-book/setup
}

ensure_browsers() {
  local missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v firefox-esr >/dev/null || missing+=(firefox-esr)
  # WebKit (Safari's engine): WebKitGTK's MiniBrowser under WebDriver, on an Xvfb display.
  command -v WebKitWebDriver >/dev/null || missing+=(webkit2gtk-driver)
  command -v Xvfb >/dev/null || missing+=(xvfb)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "==> installing ${missing[*]} from Debian"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      echo "error: the browser tests need Debian's ${missing[*]}: sudo apt-get install ${missing[*]}" >&2
      exit 1
    fi
  fi
}
