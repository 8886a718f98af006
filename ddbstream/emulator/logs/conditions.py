"""The comparisons inside JSON (``{ ... }``) and space-delimited (``[ ... ]``) filter patterns.

Both share one small language: ``field op value`` comparisons (``=``, ``!=``, ``<``, ``>``,
``<=``, ``>=``), joined by ``&&`` and ``||`` (``&&`` binds tighter) and grouped by parentheses.
JSON patterns add ``IS NULL``, ``NOT EXISTS``, ``IS TRUE`` and ``IS FALSE``. A value is a number,
a string (quoted or not; a leading or trailing ``*`` is a wildcard, ``*`` alone matches any
value) or a ``%regex%``. Fields are looked up through a callable, so the same tree evaluates
a JSON document (by selector) and the fields of a space-delimited line (by name).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

INVALID = "Invalid filter pattern"
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# What CloudWatch allows between %...%: ASCII letters and digits, a few symbols, the regex
# operators; never parentheses (no groups) nor multi-byte characters.
_REGEX_CHARS = re.compile(r"[A-Za-z0-9_#=@/;,:\- ^$?\[\]{}|\\*+.]*")
_WORD_STOP = set('()=!<>&|"%,') | {" ", "\t", "\n", "\r"}
MISSING = object()  # what a lookup returns for a field the event does not have


class InvalidFilterPattern(ValueError):
    """A pattern CloudWatch refuses; str() is AWS's message."""


@dataclass(frozen=True)
class Token:
    kind: str  # word | string | regex | op | and | or | open | close
    text: str


def tokenize(text: str) -> list[Token]:
    """The tokens of one condition expression."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char, pair = text[i], text[i : i + 2]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(Token("open" if char == "(" else "close", char))
            i += 1
        elif pair in ("&&", "||"):
            tokens.append(Token("and" if pair == "&&" else "or", pair))
            i += 2
        elif pair in ("!=", "<=", ">="):
            tokens.append(Token("op", pair))
            i += 2
        elif char in "=<>":
            tokens.append(Token("op", char))
            i += 1
        elif char == '"':
            end = closing_quote(text, i)
            tokens.append(Token("string", unquote(text[i + 1 : end])))
            i = end + 1
        elif char == "%":
            end = text.find("%", i + 1)
            if end < 0:
                raise InvalidFilterPattern(INVALID)
            tokens.append(Token("regex", text[i + 1 : end]))
            i = end + 1
        else:
            end = i
            while end < len(text) and text[end] not in _WORD_STOP:
                end += 1
            if end == i:  # a lone "!", "&", "|" or ","
                raise InvalidFilterPattern(INVALID)
            tokens.append(Token("word", text[i:end]))
            i = end
    return tokens


def closing_quote(text: str, start: int) -> int:
    """The index of the '"' closing the one at ``start`` (a backslash escapes the next character)."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i
        i += 1
    raise InvalidFilterPattern(INVALID)


def unquote(body: str) -> str:
    return re.sub(r"\\(.)", r"\1", body)


def compile_regex(body: str) -> re.Pattern[str]:
    """A ``%...%`` body as a regular expression, refused where CloudWatch refuses it."""
    if not body or not _REGEX_CHARS.fullmatch(body):
        raise InvalidFilterPattern(INVALID)
    try:
        return re.compile(body)
    except re.error:
        raise InvalidFilterPattern(INVALID) from None


@dataclass(frozen=True)
class Value:
    """The right-hand side of a comparison."""

    text: str
    number: float | None = None  # set for numeric literals
    regex: re.Pattern[str] | None = None

    def equals(self, actual: Any) -> bool:
        if self.regex is not None:
            return self.regex.search(as_text(actual)) is not None
        if self.number is not None:
            number = as_number(actual)
            if number is not None:
                return number == self.number
        return wildcard_match(self.text, as_text(actual))


def wildcard_match(pattern: str, text: str) -> bool:
    """``*`` alone matches anything; a leading or trailing ``*`` matches any text there (AWS:
    ``*Event`` matches PutEvent, ``Ev*ent`` only the string ``Ev*ent``)."""
    if pattern == "*":
        return True
    head, tail = pattern.startswith("*"), pattern.endswith("*") and len(pattern) > 1
    core = pattern[1 if head else 0 : len(pattern) - 1 if tail else len(pattern)]
    if head and tail:
        return core in text
    if head:
        return text.endswith(core)
    if tail:
        return text.startswith(core)
    return text == core


def as_number(actual: Any) -> float | None:
    if isinstance(actual, bool) or actual is None or actual is MISSING:
        return None
    if isinstance(actual, int | float):
        return float(actual)
    if isinstance(actual, str) and _NUMBER.fullmatch(actual):
        return float(actual)
    return None


def as_text(actual: Any) -> str:
    if isinstance(actual, str):
        return actual
    if isinstance(actual, bool):
        return "true" if actual else "false"
    if actual is None:
        return "null"
    return str(actual)


Lookup = Callable[[str], Any]  # field -> its value, or MISSING
_ORDER = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}


@dataclass(frozen=True)
class Compare:
    """``field op value``, or a JSON test (op ``IS NULL``, ``NOT EXISTS``, ``IS TRUE``, ``IS FALSE``)."""

    field: str
    op: str
    value: Value | None = None

    def evaluate(self, lookup: Lookup) -> bool:
        actual = lookup(self.field)
        if self.op == "NOT EXISTS":
            return actual is MISSING
        if self.op in ("IS NULL", "IS TRUE", "IS FALSE"):
            return actual is {"IS NULL": None, "IS TRUE": True, "IS FALSE": False}[self.op]
        if actual is MISSING or isinstance(actual, dict | list) or self.value is None:
            return False  # a selector must reach a value node, for = and != alike
        if self.op == "=":
            return self.value.equals(actual)
        if self.op == "!=":
            return not self.value.equals(actual)
        number = as_number(actual)
        if number is None or self.value.number is None:
            return False
        return _ORDER[self.op](number, self.value.number)

    def fields(self) -> list[str]:
        return [self.field]


@dataclass(frozen=True)
class Junction:
    """``left && right`` (all) or ``left || right`` (any)."""

    all: bool
    parts: tuple[Any, ...]

    def evaluate(self, lookup: Lookup) -> bool:
        results = (part.evaluate(lookup) for part in self.parts)
        return all(results) if self.all else any(results)

    def fields(self) -> list[str]:
        return [name for part in self.parts for name in part.fields()]


_TESTS = {("IS", "NULL"), ("NOT", "EXISTS"), ("IS", "TRUE"), ("IS", "FALSE")}


class Parser:
    """Recursive descent over the tokens: ``||`` < ``&&`` < parentheses."""

    def __init__(self, tokens: list[Token], field: re.Pattern[str], tests: bool):
        self.tokens = tokens
        self.pos = 0
        self.field = field  # what a field reference must look like
        self.tests = tests  # JSON patterns allow IS NULL / NOT EXISTS / IS TRUE / IS FALSE
        self.regexes = 0

    def parse(self) -> Compare | Junction:
        node = self._either()
        if self.pos != len(self.tokens):
            raise InvalidFilterPattern(INVALID)
        return node

    def _next(self) -> Token:
        if self.pos >= len(self.tokens):
            raise InvalidFilterPattern(INVALID)
        self.pos += 1
        return self.tokens[self.pos - 1]

    def _peek(self, kind: str) -> bool:
        return self.pos < len(self.tokens) and self.tokens[self.pos].kind == kind

    def _either(self) -> Compare | Junction:
        parts = [self._both()]
        while self._peek("or"):
            self.pos += 1
            parts.append(self._both())
        return parts[0] if len(parts) == 1 else Junction(False, tuple(parts))

    def _both(self) -> Compare | Junction:
        parts = [self._primary()]
        while self._peek("and"):
            self.pos += 1
            parts.append(self._primary())
        return parts[0] if len(parts) == 1 else Junction(True, tuple(parts))

    def _primary(self) -> Compare | Junction:
        token = self._next()
        if token.kind == "open":
            node = self._either()
            if self._next().kind != "close":
                raise InvalidFilterPattern(INVALID)
            return node
        if token.kind != "word" or not self.field.fullmatch(token.text):
            raise InvalidFilterPattern(INVALID)
        operator = self._next()
        if operator.kind == "word":
            test = (operator.text, self._next().text)
            if not self.tests or test not in _TESTS:
                raise InvalidFilterPattern(INVALID)
            return Compare(token.text, " ".join(test))
        if operator.kind != "op":
            raise InvalidFilterPattern(INVALID)
        return Compare(token.text, operator.text, self._value(operator.text))

    def _value(self, op: str) -> Value:
        token = self._next()
        if token.kind == "regex" and op in ("=", "!="):
            self.regexes += 1
            return Value(token.text, regex=compile_regex(token.text))
        if token.kind == "string" and op in ("=", "!="):
            return Value(token.text)
        if token.kind != "word":
            raise InvalidFilterPattern(INVALID)
        if _NUMBER.fullmatch(token.text):
            return Value(token.text, number=float(token.text))
        if op not in ("=", "!="):  # <, >, <=, >= compare numbers only
            raise InvalidFilterPattern(INVALID)
        return Value(token.text)


def parse_expression(text: str, field: re.Pattern[str], tests: bool) -> tuple[Compare | Junction, int]:
    """An expression's tree and how many regexes it holds."""
    parser = Parser(tokenize(text), field, tests)
    return parser.parse(), parser.regexes
