"""Generate the synthetic books of the benchmark (issue 12).

One book of N trivial snippets in C chapters, written in the form each tool
reads, with the same snippet bodies everywhere:

    mdbook/      book.toml with [preprocessor.python], src/*.md
    plain/       the same src/, book.toml without the plugin
    sybil/       *.md + conftest.py (Sybil's Markdown PythonCodeBlockParser)
    pmd/         *.md (pytest-markdown-docs collects ```python fences)
    phmdoctest/  md/*.md with empty-info output fences + pyproject.toml
    mkdocs/      mkdocs.yml (markdown-exec) + docs/*.md with exec="true"
    snippets.json  every snippet's code and expected output, in book order

Every snippet is followed by an output block holding exactly what it prints
(computed here by running it), so the tools that verify have something to
verify. Usable alone: python3 bench/gen.py OUT_DIR SNIPPETS CHAPTERS

`quiz_book` writes a book of one chapter holding one quiz file of N
multiple-choice questions (issue 19: the quiz parser is linear); no Python runs.
"""

import contextlib
import io
import json
import os
import shutil
import sys

# Trivial snippets: a few lines each, stdlib only, microseconds to run.
TEMPLATES = [
    "n = {i}\nsquares = [k * k for k in range(n % 7 + 3)]\nprint(n, sum(squares))\n",
    "words = {words!r}\nprint(' '.join(sorted(words)), len(words))\n",
    "point = {{'x': {i}, 'y': {j}}}\nprint(point['x'] + point['y'], sorted(point))\n",
    "def scale(value, factor={f}):\n    return value * factor\n\nprint(scale({i}), scale({j}, 2))\n",
    "text = 'snippet {i}'\nprint(text.upper(), text.count('p'))\n",
]

WORDS = ["pear", "fig", "apple", "kiwi", "plum", "lime", "date", "yuzu"]


def snippet_code(i):
    t = TEMPLATES[i % len(TEMPLATES)]
    words = [WORDS[(i + k) % len(WORDS)] for k in range(i % 4 + 2)]
    return t.format(i=i, j=(i * 7) % 101, f=i % 5 + 2, words=words)


def run_snippet(code):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<snippet>", "exec"), {"__name__": "__main__"})
    return out.getvalue()


def chapter_text(title, snippets, code_info, output_info):
    """One chapter: prose and (code, output) pairs."""
    parts = [f"# {title}\n\nA chapter of the synthetic benchmark book.\n"]
    for k, (code, out) in enumerate(snippets):
        parts.append(
            f"\nSnippet {k + 1} of this chapter: a few lines of prose before it.\n\n"
            f"```{code_info}\n{code}```\n\n```{output_info}\n{out}```\n"
        )
    return "".join(parts)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def generate(out_dir, n, chapters, plugin, python):
    """Write the book of `n` snippets in `chapters` chapters to `out_dir`
    (replacing it). `plugin`: path of the mdbook-python binary; `python`:
    the interpreter the plugin runs snippets with."""
    if os.path.exists(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    snippets = []
    for i in range(n):
        code = snippet_code(i)
        snippets.append((code, run_snippet(code)))
    per, extra = divmod(n, chapters)
    groups, start = [], 0
    for c in range(chapters):
        size = per + (1 if c < extra else 0)
        groups.append(snippets[start:start + size])
        start += size
    names = [f"chapter-{c + 1:03}.md" for c in range(chapters)]
    titles = [f"Chapter {c + 1}" for c in range(chapters)]

    def chapters_in(folder, code_info, output_info):
        for name, title, group in zip(names, titles, groups):
            write(os.path.join(folder, name), chapter_text(title, group, code_info, output_info))

    # mdBook with and without the plugin: the same src/.
    summary = "# Summary\n\n" + "".join(f"- [{t}]({m})\n" for t, m in zip(titles, names))
    for kind in ("mdbook", "plain"):
        root = os.path.join(out_dir, kind)
        chapters_in(os.path.join(root, "src"), "python", "output")
        write(os.path.join(root, "src", "SUMMARY.md"), summary)
        toml = (
            f'[book]\ntitle = "Synthetic book: {n} snippets in {chapters} chapters"\n'
            'src = "src"\n\n[build]\ncreate-missing = false\n'
        )
        if kind == "mdbook":
            toml += (
                f"\n[preprocessor.python]\ncommand = {json.dumps(plugin)}\nrenderers = [\"html\"]\n"
                f"python = {json.dumps(python)}\n"
                '\n[output.html]\nadditional-js = [".mdbook-python/assets/mdbook-python.js"]\n'
                'additional-css = [".mdbook-python/assets/mdbook-python.css"]\n'
            )
        write(os.path.join(root, "book.toml"), toml)

    # Sybil: runs ```python blocks (the output block is not its syntax).
    root = os.path.join(out_dir, "sybil")
    chapters_in(root, "python", "output")
    write(os.path.join(root, "pytest.ini"), "[pytest]\n")
    write(
        os.path.join(root, "conftest.py"),
        "from sybil import Sybil\n"
        "from sybil.parsers.markdown import PythonCodeBlockParser\n\n"
        "pytest_collect_file = Sybil(\n"
        "    parsers=[PythonCodeBlockParser()], patterns=['*.md']\n"
        ").pytest()\n",
    )

    # pytest-markdown-docs: runs ```python fences with `pytest --markdown-docs`.
    root = os.path.join(out_dir, "pmd")
    chapters_in(root, "python", "output")
    write(os.path.join(root, "pytest.ini"), "[pytest]\n")

    # phmdoctest: an output block is the fence with an empty info string
    # right after a python block; it generates one pytest file per chapter.
    root = os.path.join(out_dir, "phmdoctest")
    chapters_in(os.path.join(root, "md"), "python", "")
    write(os.path.join(root, "pytest.ini"), "[pytest]\n")
    write(
        os.path.join(root, "pyproject.toml"),
        '[tool.phmdoctest]\nmarkdown_globs = ["md/*.md"]\nexclude_globs = []\n'
        'output_directory = "tests"\nprint = ""\n',
    )

    # MkDocs + markdown-exec: exec="true" runs a block and injects its output.
    root = os.path.join(out_dir, "mkdocs")
    chapters_in(os.path.join(root, "docs"), 'python exec="true"', "output")
    write(
        os.path.join(root, "mkdocs.yml"),
        f"site_name: Synthetic book, {n} snippets\nplugins:\n  - markdown-exec\n"
        "markdown_extensions:\n  - pymdownx.superfences\n"
        "nav:\n" + "".join(f"  - {t}: {m}\n" for t, m in zip(titles, names)),
    )

    with open(os.path.join(out_dir, "snippets.json"), "w", encoding="utf-8") as f:
        json.dump([{"code": c, "output": o} for c, o in snippets], f)
    return snippets


def quiz_book(out_dir, n, plugin):
    """A book whose one chapter includes `quiz.toml`: `n` multiple-choice
    questions, each with an id, a prompt, two distractors and the answer."""
    shutil.rmtree(out_dir, ignore_errors=True)
    write(os.path.join(out_dir, "book.toml"),
          f'[book]\ntitle = "Quiz of {n} questions"\n\n[preprocessor.python]\ncommand = "{plugin}"\n')
    write(os.path.join(out_dir, "src", "SUMMARY.md"), "# Summary\n\n- [Quiz](quiz.md)\n")
    write(os.path.join(out_dir, "src", "quiz.md"), "# Quiz\n\n{{#quiz quiz.toml}}\n")
    write(os.path.join(out_dir, "src", "quiz.toml"), "".join(
        f'[[questions]]\nid = "q{i}"\ntype = "MultipleChoice"\nprompt.prompt = "What is {i} + 1?"\n'
        f'prompt.distractors = ["{i}", "{i + 2}"]\nanswer.answer = "{i + 1}"\n\n' for i in range(n)))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    here = os.path.dirname(os.path.abspath(__file__))
    binary = os.path.join(os.path.dirname(here), "target", "release", "mdbook-python")
    generate(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), binary, sys.executable)
