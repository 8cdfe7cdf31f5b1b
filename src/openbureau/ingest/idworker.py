"""Worker process for national-id checks: reads a pickled ([(scheme, value)], key) on stdin,
writes the pickled [(compact, masked, message, token)] on stdout. Started by `nationalids`
as `python -m openbureau.ingest.idworker`; nothing touches disk."""

from __future__ import annotations

import pickle
import sys

from openbureau.ingest.rules import check_and_token


def main() -> None:
    pairs, key = pickle.load(sys.stdin.buffer)
    out = [(f.compact, f.masked, f.message, t) for f, t in check_and_token(pairs, key)]
    pickle.dump(out, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)


if __name__ == "__main__":
    main()
