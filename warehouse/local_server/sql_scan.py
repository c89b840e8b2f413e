"""Just enough lexing of a ClickHouse statement for the HTTP front to route it.

The engine parses and runs every statement; the front only needs to know where an INSERT's data
begins (so the data can be streamed instead of parsed as SQL) and which output format a statement
names (so response headers can describe the body). Strings, quoted names, comments and brackets
are skipped as ClickHouse's lexer does, so a ``FORMAT`` inside them is never mistaken for a clause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, NamedTuple

# Only the tokens that matter; whatever matches no alternative (blanks, operators) is skipped by search().
_TOKEN = re.compile(
    rb"""
    (?P<comment>--[^\n]*|\#[!\s][^\n]*|/\*.*?\*/)
  | (?P<string>'(?:[^'\\]|\\.|'')*')
  | (?P<quoted>"(?:[^"\\]|\\.|"")*"|`(?:[^`\\]|\\.|``)*`)
  | (?P<heredoc>\$[A-Za-z0-9_]*\$)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>[0-9][0-9A-Za-z_.]*)
  | (?P<open>[(\[{])
  | (?P<close>[)\]}])
  | (?P<semicolon>;)
  | (?P<unterminated>['"`]|/\*)
    """,
    re.S | re.X,
)


@dataclass(frozen=True)
class InsertData:
    """An INSERT whose rows follow the statement as data in ``format``, from byte ``data_start``."""

    head: str
    format: str
    data_start: int


@dataclass(frozen=True)
class Statement:
    keyword: str  # first keyword, upper-cased: SELECT, INSERT, SET, USE, ...
    output_format: str | None  # the FORMAT clause of a non-INSERT statement
    insert_data: InsertData | None  # set for INSERT ... FORMAT x / INSERT ... VALUES
    complete: bool  # False when the text ended inside a string or comment, or an INSERT before its data


class _Token(NamedTuple):
    kind: str
    start: int
    end: int
    depth: int
    text: bytes


def _tokens(text: bytes) -> Iterator[_Token]:
    """Significant tokens of ``text`` with their bracket depth; stops at an unterminated literal."""
    depth = 0
    pos = 0
    search = _TOKEN.search
    while True:
        match = search(text, pos)
        if match is None:
            return
        kind = match.lastgroup
        start, end = match.span()
        if kind == "comment":
            pos = end
            continue
        if kind == "heredoc":
            closing = text.find(match.group(0), end)
            if closing < 0:
                kind = "unterminated"
            else:
                kind, end = "string", closing + end - start
        if kind == "unterminated":
            yield _Token(kind, start, len(text), depth, b"")
            return
        if kind == "close":
            depth = max(depth - 1, 0)
        yield _Token(kind, start, end, depth, text[start:end])
        if kind == "open":
            depth += 1
        pos = end


def _name(token: _Token) -> str:
    if token.kind == "quoted":
        return token.text[1:-1].decode()
    return token.text.decode()


def _data_start_after(text: bytes, pos: int) -> int:
    """Where INSERT data begins after ``FORMAT name``: past blanks and one line break, as ClickHouse does."""
    while pos < len(text) and text[pos] in b" \t\f":
        pos += 1
    if text[pos : pos + 1] == b"\r":
        pos += 1
    if text[pos : pos + 1] == b"\n":
        pos += 1
    return pos


def scan(text: bytes) -> Statement:
    tokens = _tokens(text)
    first = next(tokens, None)
    if first is None:
        return Statement("", None, None, True)
    keyword = first.text.decode().upper() if first.kind == "word" else ""
    if keyword == "INSERT":
        return _scan_insert(text, tokens)
    return _scan_output_format(keyword, list(tokens))


def is_temporary_table(text: bytes) -> bool:
    """``CREATE TEMPORARY TABLE ...``: state that lives as long as the engine connection."""
    words = [token.text.upper() for token, _ in zip(_tokens(text), range(2))]
    return words == [b"CREATE", b"TEMPORARY"]


def _scan_insert(text: bytes, tokens) -> Statement:
    for token in tokens:
        if token.kind == "unterminated":
            return Statement("INSERT", None, None, False)
        if token.depth or token.kind != "word":
            continue
        word = token.text.upper()
        if word in (b"SELECT", b"WITH"):
            return Statement("INSERT", None, None, True)
        if word == b"VALUES":
            head = text[: token.start].decode().rstrip()
            return Statement("INSERT", None, InsertData(head, "Values", token.end), True)
        if word == b"FORMAT":
            name = next(tokens, None)
            if name is None or name.kind not in ("word", "quoted"):
                return Statement("INSERT", None, None, name is not None)
            head = text[: token.start].decode().rstrip()
            return Statement("INSERT", None, InsertData(head, _name(name), _data_start_after(text, name.end)), True)
    return Statement("INSERT", None, None, False)


def _scan_output_format(keyword: str, tokens: list[_Token]) -> Statement:
    complete = not tokens or tokens[-1].kind != "unterminated"
    output_format = None
    for index, token in enumerate(tokens[:-1]):
        if token.depth or token.kind != "word" or token.text.upper() != b"FORMAT":
            continue
        name = tokens[index + 1]
        if name.kind not in ("word", "quoted"):
            continue
        after = tokens[index + 2] if index + 2 < len(tokens) else None
        if after is None or after.kind == "semicolon" or (after.kind == "word" and after.text.upper() == b"SETTINGS"):
            output_format = _name(name)
    return Statement(keyword, output_format, None, complete)
