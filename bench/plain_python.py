"""The floor: one plain CPython process running every snippet of a book.

    python -s bench/plain_python.py SNIPPETS_JSON

Each snippet is compiled and run in a fresh namespace with stdout captured,
as a worker does, and its output is compared with the expected one. Prints
JSON: the in-process time of the loop (wall and CPU: the snippets' own run
time, without interpreter start-up) and how many outputs matched.
"""

import io
import json
import sys
import time


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        snippets = json.load(f)
    real_stdout = sys.stdout
    matched = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for i, s in enumerate(snippets):
        out = io.StringIO()
        sys.stdout = out
        try:
            exec(compile(s["code"], "snippet-%d" % i, "exec"), {"__name__": "__main__"})
        finally:
            sys.stdout = real_stdout
        matched += out.getvalue() == s["output"]
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    print(json.dumps({"wall": wall, "cpu": cpu, "snippets": len(snippets), "matched": matched}))


main()
