"""Loaded by schemathesis in the API contract run (SCHEMATHESIS_HOOKS): one ast.parse at a time.

Python 3.11.7 keeps the AST converter's recursion depth in one place for all threads
(CPython gh-106905). Hypothesis parses the source of lambdas to describe strategies, and
two such parses at once on schemathesis' worker threads stop the whole run with "AST
constructor recursion depth mismatch", a crash of the tool, not a finding: the run had
to be repeated. A lock around ast.parse keeps the parses apart; they are few and cached.
"""

import ast
import functools
import threading

_LOCK = threading.Lock()
_PARSE = ast.parse


@functools.wraps(_PARSE)
def _parse_alone(*args, **kwargs):
    with _LOCK:
        return _PARSE(*args, **kwargs)


ast.parse = _parse_alone
