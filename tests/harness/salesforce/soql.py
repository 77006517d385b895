"""A subset of SOQL: parse, check against the org's types, filter, sort and limit.

Supported: ``SELECT f1, f2 | COUNT() FROM Type [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...]
[LIMIT n] [OFFSET n]`` where ``cond`` combines comparisons (``= != <> < > <= >=``, ``[NOT] IN (...)``, ``LIKE``)
with ``AND``/``OR``/``NOT`` and parentheses (AND and OR may not be mixed without parentheses, as in SOQL). Literals:
'strings' (backslash escapes), numbers, true/false/null, datetimes (``2024-01-01T00:00:00Z``, ``...+01:00``,
``.000Z``), dates (``2024-01-01``). Anything else is MALFORMED_QUERY; an unknown type is INVALID_TYPE and an unknown
field INVALID_FIELD, with Salesforce's messages. Text comparisons ignore case, as SOQL's do.

Thread-safety: a parsed :class:`Query` is immutable and may be evaluated from any thread.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tests.harness.salesforce import errors, ids, schema

TOKEN_RE = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<number>[+-]?\d+(?:\.\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
    | (?P<op>!=|<>|<=|>=|=|<|>)
    | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "LIMIT",
    "OFFSET",
    "TRUE",
    "FALSE",
    "NULL",
    "COUNT",
}
UNSUPPORTED = {"GROUP", "HAVING", "TYPEOF", "WITH", "FOR", "USING", "SCOPE", "INCLUDES", "EXCLUDES", "FIELDS"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    column: int


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str  # "=", "!=", "<", ">", "<=", ">=", "IN", "NOT IN", "LIKE"
    value: Any  # a normalised literal, or a tuple of them for IN


@dataclass(frozen=True)
class Junction:
    op: str  # "AND" | "OR" | "NOT"
    parts: tuple[Condition, ...]


Condition = Comparison | Junction


@dataclass(frozen=True)
class Query:
    """A parsed query: canonical field names, the type, its filter, order and limits."""

    sobject: str
    fields: tuple[str, ...]  # empty for COUNT()
    count: bool
    where: Condition | None
    order: tuple[tuple[str, bool, bool], ...]  # (field, descending, nulls_last)
    limit: int | None
    offset: int

    def matches(self, record: dict[str, Any]) -> bool:
        return self.where is None or _evaluate(self.where, record)

    def run(self, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The matching records, ordered, offset and limited (whole records: the caller projects)."""
        rows = [r for r in records if self.matches(r)]
        for name, descending, nulls_last in reversed(self.order):
            present = sorted(
                (r for r in rows if r.get(name) is not None), key=lambda r: _sort_key(r[name]), reverse=descending
            )
            missing = [r for r in rows if r.get(name) is None]
            rows = present + missing if nulls_last else missing + present
        rows = rows[self.offset :]
        return rows if self.limit is None else rows[: self.limit]


def _sort_key(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _compare(field_value: Any, op: str, literal: Any) -> bool:
    if op == "IN":
        return any(_compare(field_value, "=", item) for item in literal)
    if op == "NOT IN":
        return not any(_compare(field_value, "=", item) for item in literal)
    if op == "LIKE":
        if field_value is None or literal is None:
            return False
        pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in literal)
        return re.fullmatch(pattern, str(field_value), re.IGNORECASE | re.DOTALL) is not None
    left, right = _sort_key(field_value), _sort_key(literal)
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        return bool({"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op])
    except TypeError:
        return False


def _evaluate(condition: Condition, record: dict[str, Any]) -> bool:
    if isinstance(condition, Comparison):
        return _compare(record.get(condition.field), condition.op, condition.value)
    if condition.op == "AND":
        return all(_evaluate(part, record) for part in condition.parts)
    if condition.op == "OR":
        return any(_evaluate(part, record) for part in condition.parts)
    return not _evaluate(condition.parts[0], record)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    stripped = text.rstrip()
    while position < len(stripped):
        match = TOKEN_RE.match(stripped, position)
        if not match or match.end() == position:
            column = len(stripped[:position]) + len(stripped[position:]) - len(stripped[position:].lstrip()) + 1
            raise _malformed(text, column, f"unexpected token: '{stripped[column - 1 :].split()[0]}'")
        kind = match.lastgroup or ""
        tokens.append(Token(kind, match.group(kind), match.start(kind) + 1))
        position = match.end()
    return tokens


def _malformed(text: str, column: int, message: str) -> errors.ApiError:
    return errors.malformed_query(f"\n{text}\n{' ' * (column - 1)}^\nERROR at Row:1:Column:{column}\n{message}")


class Parser:
    """Recursive descent over the token list; ``lookup`` resolves a type name (None when unknown)."""

    def __init__(self, text: str, lookup: Callable[[str], schema.SObjectType | None]) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.position = 0
        self.lookup = lookup
        self.sobject: schema.SObjectType | None = None

    def peek(self, offset: int = 0) -> Token | None:
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def keyword(self, offset: int = 0) -> str:
        token = self.peek(offset)
        return token.text.upper() if token and token.kind == "name" else ""

    def fail(self, message: str | None = None) -> errors.ApiError:
        token = self.peek()
        if token is None:
            return _malformed(self.text, len(self.text.rstrip()) + 1, message or "unexpected end of query")
        return _malformed(self.text, token.column, message or f"unexpected token: '{token.text}'")

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise self.fail()
        self.position += 1
        return token

    def expect_keyword(self, word: str) -> None:
        if self.keyword() != word:
            raise self.fail()
        self.position += 1

    def expect(self, text: str) -> None:
        token = self.peek()
        if token is None or token.text != text:
            raise self.fail()
        self.position += 1

    def field_name(self) -> str:
        token = self.take()
        if token.kind != "name" or token.text.upper() in KEYWORDS:
            self.position -= 1
            raise self.fail()
        assert self.sobject is not None
        definition = self.sobject.field(token.text)
        if definition is None:
            if "." in token.text:
                raise _malformed(self.text, token.column, "relationship fields are not supported by this server")
            raise errors.invalid_field(
                f"\n{self.text}\n{' ' * (token.column - 1)}^\nERROR at Row:1:Column:{token.column}\n"
                f"No such column '{token.text}' on entity '{self.sobject.name}'. If you are attempting to use a "
                "custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL "
                "or the describe call for the appropriate names."
            )
        return definition.name

    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        count = False
        field_tokens: list[int] = []
        if self.keyword() == "COUNT" and self.peek(1) is not None and self.peek(1).text == "(":  # type: ignore[union-attr]
            self.position += 1
            self.expect("(")
            self.expect(")")
            count = True
        else:
            while True:
                field_tokens.append(self.position)
                token = self.take()
                if token.kind != "name" or token.text.upper() in KEYWORDS:
                    self.position -= 1
                    raise self.fail()
                if self.peek() is not None and self.peek().text == "(":  # type: ignore[union-attr]
                    raise self.fail(f"functions are not supported by this server: {token.text}")
                if self.peek() is None or self.peek().text != ",":  # type: ignore[union-attr]
                    break
                self.position += 1
        self.expect_keyword("FROM")
        type_token = self.take()
        sobject = self.lookup(type_token.text) if type_token.kind == "name" else None
        if sobject is None or sobject.is_event:
            raise errors.ApiError(
                400,
                "INVALID_TYPE",
                f"\n{self.text}\n{' ' * (type_token.column - 1)}^\nERROR at Row:1:Column:{type_token.column}\n"
                f"sObject type '{type_token.text}' is not supported. If you are attempting to use a custom object, "
                "be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call "
                "for the appropriate names.",
            )
        self.sobject = sobject
        end = self.position
        names: list[str] = []
        for index in field_tokens:
            self.position = index
            name = self.field_name()
            if name in names:
                raise _malformed(self.text, self.tokens[index].column, f"duplicate field selected: {name}")
            names.append(name)
        self.position = end
        where = None
        if self.keyword() == "WHERE":
            self.position += 1
            where = self.condition()
        order: list[tuple[str, bool, bool]] = []
        if self.keyword() == "ORDER":
            self.position += 1
            self.expect_keyword("BY")
            while True:
                name = self.field_name()
                descending = False
                if self.keyword() in {"ASC", "DESC"}:
                    descending = self.take().text.upper() == "DESC"
                nulls_last = descending
                if self.keyword() == "NULLS":
                    self.position += 1
                    if self.keyword() not in {"FIRST", "LAST"}:
                        raise self.fail()
                    nulls_last = self.take().text.upper() == "LAST"
                order.append((name, descending, nulls_last))
                if self.peek() is None or self.peek().text != ",":  # type: ignore[union-attr]
                    break
                self.position += 1
        limit = self.integer_clause("LIMIT")
        offset = self.integer_clause("OFFSET") or 0
        if self.peek() is not None:
            raise self.fail()
        return Query(sobject.name, tuple(names), count, where, tuple(order), limit, offset)

    def integer_clause(self, word: str) -> int | None:
        if self.keyword() != word:
            return None
        self.position += 1
        token = self.take()
        if token.kind != "number" or not token.text.isdigit():
            self.position -= 1
            raise self.fail()
        return int(token.text)

    def condition(self) -> Condition:
        first = self.unary()
        if self.keyword() not in {"AND", "OR"}:
            return first
        op = self.keyword()
        parts = [first]
        while self.keyword() in {"AND", "OR"}:
            if self.keyword() != op:
                raise self.fail(f"unexpected token: '{self.peek().text}'")  # type: ignore[union-attr]
            self.position += 1
            parts.append(self.unary())
        return Junction(op, tuple(parts))

    def unary(self) -> Condition:
        if self.keyword() == "NOT":
            self.position += 1
            return Junction("NOT", (self.unary(),))
        token = self.peek()
        if token is not None and token.text == "(":
            self.position += 1
            inner = self.condition()
            self.expect(")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        name = self.field_name()
        assert self.sobject is not None
        definition = self.sobject.fields[name]
        token = self.take()
        if token.kind == "op":
            op = "!=" if token.text == "<>" else token.text
            return Comparison(name, op, self.literal(definition))
        word = token.text.upper()
        if word == "NOT" and self.keyword() == "IN":
            self.position += 1
            word = "NOT IN"
        if word in {"IN", "NOT IN"}:
            self.expect("(")
            values = [self.literal(definition)]
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.position += 1
                values.append(self.literal(definition))
            self.expect(")")
            return Comparison(name, word, tuple(values))
        if word == "LIKE":
            return Comparison(name, "LIKE", self.literal(definition))
        self.position -= 1
        raise self.fail()

    def literal(self, definition: schema.FieldDef) -> Any:
        token = self.take()
        kind = definition.type
        word = token.text.upper()
        if token.kind == "name" and word == "NULL":
            return None
        if token.kind == "name" and word in {"TRUE", "FALSE"}:
            if kind != "boolean":
                raise self.type_error(token, definition)
            return word == "TRUE"
        if token.kind == "string":
            if kind in {"datetime", "date", "boolean", "int"} | schema.NUMBER_TYPES:
                raise self.type_error(token, definition)
            text = re.sub(
                r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), token.text[1:-1]
            )
            if kind in {"id", "reference"}:
                return ids.normalize(text) or text
            return text
        if token.kind == "number":
            if kind not in {"int"} | schema.NUMBER_TYPES:
                raise self.type_error(token, definition)
            return float(token.text) if kind != "int" or "." in token.text else int(token.text)
        if token.kind == "datetime":
            if kind != "datetime":
                raise self.type_error(token, definition)
            parsed = schema.parse_datetime(token.text)
            if parsed is None:
                raise _malformed(
                    self.text, token.column, f"line 1:{token.column} no viable alternative at character '{token.text}'"
                )
            return schema.format_datetime(parsed)
        if token.kind == "date":
            if kind != "date":
                raise self.type_error(token, definition)
            try:
                return datetime.date.fromisoformat(token.text).isoformat()
            except ValueError:
                raise _malformed(self.text, token.column, f"invalid date: {token.text}") from None
        self.position -= 1
        raise self.fail()

    def type_error(self, token: Token, definition: schema.FieldDef) -> errors.ApiError:
        quotes = (
            "should be enclosed in quotes"
            if definition.type in schema.STRING_TYPES
            else ("should not be enclosed in quotes")
        )
        expected = {"datetime": "dateTime"}.get(definition.type, definition.type)
        return errors.ApiError(
            400,
            "INVALID_FIELD",
            f"\n{self.text}\n{' ' * (token.column - 1)}^\nERROR at Row:1:Column:{token.column}\n"
            f"value of filter criterion for field '{definition.name}' must be of type {expected} and {quotes}",
        )


def parse(text: str, lookup: Callable[[str], schema.SObjectType | None]) -> Query:
    """Parse ``text``; errors are :class:`~tests.harness.salesforce.errors.ApiError` with Salesforce's codes."""
    tokens = tokenize(text)
    for token in tokens:
        if token.kind == "name" and token.text.upper() in UNSUPPORTED:
            raise _malformed(text, token.column, f"unexpected token: '{token.text}' (not supported by this server)")
    return Parser(text, lookup).parse()


def project(query: Query, record: dict[str, Any], version: str) -> dict[str, Any]:
    """A result row as the REST API returns it: ``attributes`` then the selected fields in query order."""
    row: dict[str, Any] = {
        "attributes": {
            "type": query.sobject,
            "url": f"/services/data/v{version}/sobjects/{query.sobject}/{record['Id']}",
        }
    }
    for name in query.fields:
        row[name] = record.get(name)
    return row
