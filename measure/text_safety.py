"""Text from input files made safe to print on a terminal.

Source names, role values, ids and file names come from the user's data. On
a terminal an ESC sequence in them would move the cursor, clear the screen
or rewrite what was printed before; a bidi override would reorder the line.
(The report's figures turn matplotlib's mathtext off for the same reason:
see `ensemble/report/plots.py`.)
"""
from __future__ import annotations

import unicodedata

# Shown as themselves: tab is harmless on one line; everything else in C0,
# DEL, C1, format characters (bidi overrides, zero-width) and lone
# surrogates is written as a visible escape.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _escape_char(c: str) -> str:
    code = ord(c)
    if c == "\n":
        return "\\n"
    if c == "\r":
        return "\\r"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def escape_control(text: str, keep_newlines: bool = False) -> str:
    """`text` with control, format and surrogate characters as visible escapes.

    ESC (U+001B) becomes `\\x1b`, a bidi override U+202E `\\u202e`, a lone
    surrogate `\\ud800`; newlines too unless `keep_newlines`. Printable text,
    any script, is unchanged.

    Parameters
    ----------
    text : str
        Text that may come from input data.
    keep_newlines : bool
        Keep "\\n" as a line break (multi-line blocks).

    Returns
    -------
    str
        Text safe to write to a terminal.
    """
    if text.isprintable() or (keep_newlines and text.replace("\n", "").isprintable()):
        return text  # the common case: nothing to escape
    out = []
    for c in text:
        if c == "\t" or (keep_newlines and c == "\n"):
            out.append(c)
        elif unicodedata.category(c) in _ESCAPED_CATEGORIES:
            out.append(_escape_char(c))
        else:
            out.append(c)
    return "".join(out)

