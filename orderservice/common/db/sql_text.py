"""A long statement's text, made short enough for the driver to remember.

psycopg turns a statement's `%(name)s` placeholders into PostgreSQL's `$1` form on every
execute, and caches the result only for texts up to 4096 bytes (psycopg/_queries.py,
MAX_CACHED_STATEMENT_LENGTH). The one-statement order with its events is ~5 KB as written in
the source, indentation included: re-parsing it cost ~0.57 M instructions per order, ~18% of
the request (`make bench-layers`). `compact` keeps the statement as the source reads it, minus
the layout: whitespace runs become one space, and the spaces beside punctuation go. Quoted
literals are kept as they are; the result is checked never to open a comment.
tests/services/test_sql_text.py holds each hot statement under the limit and compares its tokens
with those of the statement as its pieces are written.
"""

import re

# The driver's cache limit (psycopg._queries.MAX_CACHED_STATEMENT_LENGTH, a private name).
DRIVER_CACHED_LENGTH = 4096

_QUOTED = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")")
_WHITESPACE = re.compile(r"\s+")
_SPACE_BESIDE_PUNCTUATION = re.compile(r" ?([(),=<>+*/|-]) ?")


def compact(sql: str) -> str:
    """`sql` without its layout (same tokens, same meaning)."""
    pieces = _QUOTED.split(sql)
    for index in range(0, len(pieces), 2):  # even pieces lie outside quotes
        # A space left at either end keeps a quoted piece apart from its neighbour: 'a' 'b'
        # is two literals, 'a''b' one.
        pieces[index] = _SPACE_BESIDE_PUNCTUATION.sub(r"\1", _WHITESPACE.sub(" ", pieces[index]))
    text = "".join(pieces).strip()
    if "--" in text or "/*" in text or "*/" in text:
        raise ValueError("compacting this statement would change it (a comment or `- -`)")
    return text
