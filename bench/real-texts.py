#!/usr/bin/env python3
"""Run mdbook-python, unchanged, over public Markdown with Python in it.

    bench/real-texts.py BINARY OUT_DIR NAME=GIT_DIR:GLOB[,GLOB...] ...

(a NAME ending in `+inline` sets `inline-output = "pytest-examples"`)

For each text: copy the Markdown files matching the globs (from the HEAD of
a bare git directory, e.g. one the `fetch` tool brought) into a fresh book
under OUT_DIR/NAME (never into this repository), run `BINARY check` on it,
and count the Python blocks found, run and failed, the failures by cause.
Prints one table row per text (Markdown) and keeps each run's stderr in
OUT_DIR/NAME.log, to read every failure. The texts themselves are not part
of this repository.
"""
import collections, fnmatch, json, os, re, shutil, subprocess, sys

FENCE = re.compile(r"^\s*(?:>\s*)*(```+|~~~+)\s*\{?\.?(python3?|py3?|Python|pycon)\b", re.M)
CAUSES = [
    (r"^this snippet raised ([\w.]+)", lambda m: "raised " + m.group(1)),
    (r"^this snippet imports `", lambda m: "module not installed"),
    (r"^the output of this `>>>` statement", lambda m: "`>>>` output differs"),
    (r"^the output block does not match", lambda m: "output block differs"),
    (r"^the ```text block under", lambda m: "text block differs (warning)"),
    (r"^this console session has no `>>>`", lambda m: "unchecked session (warning)"),
    (r"^this console session cannot be run", lambda m: "unreadable session"),
    (r"^unknown attribute", lambda m: "unknown attribute"),
    (r"^this snippet ran past its timeout", lambda m: "timeout"),
    (r"^the interpreter died", lambda m: "crashed"),
    (r"^this snippet should raise", lambda m: "raises= wrong"),
]


def cause(message):
    for pattern, name in CAUSES:
        m = re.match(pattern, message)
        if m:
            return name(m)
    return message[:70]


def book(name, git_dir, globs, out):
    root = os.path.join(out, name)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "src"))
    files = subprocess.run(["git", "--git-dir", git_dir, "ls-tree", "-r", "--name-only", "HEAD"],
                           capture_output=True, text=True, check=True).stdout.split()
    chosen = [f for f in files if any(fnmatch.fnmatch(f, g) for g in globs)]
    summary, blocks = ["# Summary", ""], 0
    for i, f in enumerate(sorted(chosen)):
        text = subprocess.run(["git", "--git-dir", git_dir, "show", "HEAD:" + f],
                              capture_output=True, check=True).stdout.decode("utf-8", "replace")
        blocks += len(FENCE.findall(text))
        dest = "c%03d-%s" % (i, f.replace("/", "_"))
        with open(os.path.join(root, "src", dest), "w") as fh:
            fh.write(text)
        summary.append("- [%s](%s)" % (f, dest))
    with open(os.path.join(root, "src", "SUMMARY.md"), "w") as fh:
        fh.write("\n".join(summary) + "\n")
    with open(os.path.join(root, "book.toml"), "w") as fh:
        fh.write('[book]\ntitle = "%s"\n\n[preprocessor.python]\ntimeout = 5\n' % name)
        if name.endswith("+inline"):  # pytest-examples' #> comments checked
            fh.write('inline-output = "pytest-examples"\n')
    return root, len(chosen), blocks


def main():
    binary, out = sys.argv[1], sys.argv[2]
    print("| text | files | blocks found | run | failed blocks | diagnostics by cause |")
    print("|---|---|---|---|---|---|")
    for spec in sys.argv[3:]:
        name, rest = spec.split("=", 1)
        git_dir, globs = rest.split(":", 1)
        root, nfiles, blocks = book(name, git_dir, globs.split(","), out)
        p = subprocess.run([binary, "check", root], capture_output=True, text=True, timeout=1800)
        with open(os.path.join(out, name + ".log"), "w") as fh:
            fh.write(p.stderr)
        causes = collections.Counter()
        for m in re.finditer(r"^(error|warning): (.*)$", p.stderr, re.M):
            causes[cause(m.group(2))] += 1
        s = re.search(r"(\d+) snippets, (\d+) run, (\d+) cached, (\d+) failed", p.stderr)
        run, failed = (int(s.group(1)), int(s.group(4))) if s else (0, 0)
        top = ", ".join("%s %d" % (k, v) for k, v in causes.most_common())
        print("| %s | %d | %d | %d | %d | %s |" % (name, nfiles, blocks, run, failed, top or "-"))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
