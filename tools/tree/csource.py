# SPDX-License-Identifier: GPL-2.0
"""Find named items in C source text, for the tree tools of tools/tree/.

A deliberately small reader of kernel-style C: a function definition
starts at column 0 and its body ends at the first "}" at column 0; a struct
definition ends at "};" at column 0; a macro is its #define line and its
continuation lines. Every definition of the name in the file is returned
(a name defined under several #ifdef branches has several), in file order.
"""

import re


def _balance_end(lines, j):
    """Index of the line where the braces opened on line J balance again."""
    depth = 0
    for k in range(j, len(lines)):
        code = re.sub(r"'.'|\"(\\.|[^\"\\])*\"|//.*", "", lines[k])
        depth += code.count("{") - code.count("}")
        if depth <= 0 and k >= j and "{" in "".join(lines[j:k + 1]):
            return k
    return len(lines) - 1


def _function_defs(lines, name):
    pat = re.compile(r"\b%s\s*\(" % re.escape(name))
    skip = ("", " ", "\t", "#", "/", "*", "}")
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line[:1] not in skip and pat.search(line) and not line.startswith("EXPORT_"):
            # The signature may span lines: a definition reaches "{"
            # before any ";".
            j = i
            while j < len(lines) and ";" not in lines[j] and "{" not in lines[j]:
                j += 1
            if j < len(lines) and "{" in lines[j] and ";" not in lines[j].split("{")[0]:
                start = i
                # A return type alone on the line before belongs to it.
                prev = lines[i - 1].rstrip() if i else ""
                if prev[:1] not in skip and not prev.endswith((";", "}", ")", "\\")):
                    start = i - 1
                k = _balance_end(lines, j)
                out.append("\n".join(lines[start:k + 1]))
                i = k + 1
                continue
        i += 1
    return out


def _defs_from(lines, head, last):
    """Every definition whose first line matches `head`, through the first
    line (from that one on) for which `last` is true."""
    out = []
    i = 0
    while i < len(lines):
        if head.match(lines[i]):
            k = i
            while k < len(lines) and not last(lines[k]):
                k += 1
            out.append("\n".join(lines[i:k + 1]))
            i = k + 1
            continue
        i += 1
    return out


def _struct_defs(lines, name):
    # "struct NAME {" or an initialized object "... NAME = {".
    head = re.compile(r"^([a-z_ ]*struct\s+%s\s*\{|[^(;=]*\b%s\s*(\[\])?\s*=\s*\{)"
                      % (re.escape(name), re.escape(name)))
    return _defs_from(lines, head, lambda line: line.startswith("};"))


def _macro_defs(lines, name):
    head = re.compile(r"^#\s*define\s+%s\b" % re.escape(name))
    return _defs_from(lines, head, lambda line: not line.rstrip().endswith("\\"))


KINDS = {"fn": _function_defs, "struct": _struct_defs, "macro": _macro_defs}


def find(text, kind, name):
    """Every definition of NAME of KIND ("fn", "struct", "macro") in TEXT."""
    return KINDS[kind](text.split("\n"), name)


def find_any(text, name):
    """(kind, definitions) of the first kind under which NAME is defined."""
    for kind in ("fn", "macro", "struct"):
        defs = find(text, kind, name)
        if defs:
            return kind, defs
    return None, []
