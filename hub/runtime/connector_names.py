"""The connector name policy, applied by every way of creating a connector before anything is stored.

A name is any Unicode text that survives being stored, sent between workers and put in a URL:

- not empty, and at most ``MAX_NAME_LENGTH`` characters. Each name travels inside Kafka-protocol strings (the
  sink's consumer group ``connect-<name>``, client ids; 32,767 bytes at most), inside records of the config topic,
  and once per connector and task in the group's assignment (one record of at most ``max.message.bytes``,
  1,048,588 bytes by default). 255 characters are at most 1,020 bytes of UTF-8 and 3,060 bytes JSON-escaped, so
  one name can never fill any of these by itself;
- no leading or trailing whitespace (``POST /connectors`` trims it, as Connect does);
- no ISO control characters (U+0000 to U+001F, U+007F to U+009F), as Connect's name validator;
- no ``/`` (a name is one URL path segment), and not ``.`` or ``..`` (URL dot-segments: clients and proxies
  resolve them away, so such a connector could never be addressed);
- no lone surrogates (text that is not Unicode and cannot be encoded as UTF-8).
"""

from __future__ import annotations

import re
import urllib.parse

from hub.runtime.herder import BadRequestError

MAX_NAME_LENGTH = 255
# Regular expression sources that mean the same in Python and in ECMA-262 (JSON Schema's dialect).
_CONTROLS = r"\x00-\x1f\x7f-\x9f"
#: What str.strip() removes (and Connect's String.trim() removes the ASCII part of).
_SPACES = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_CHAR = rf"[^/{_CONTROLS}]"
_EDGE = rf"[^/{_CONTROLS}{_SPACES}]"
_END = r"(?!\n)$"  # Python's $ also matches before a final newline
#: Valid names, for the OpenAPI document (with ``DOT_SEGMENTS`` excluded).
NAME_PATTERN = rf"^{_EDGE}(?:{_CHAR}{{0,{MAX_NAME_LENGTH - 2}}}{_EDGE})?{_END}"
#: Names POST /connectors takes: valid once trimmed.
UNTRIMMED_NAME_PATTERN = rf"^[{_SPACES}]*{_EDGE}(?:{_CHAR}{{0,{MAX_NAME_LENGTH - 2}}}{_EDGE})?[{_SPACES}]*{_END}"
UNTRIMMED_DOT_SEGMENT_PATTERN = rf"^[{_SPACES}]*\.\.?[{_SPACES}]*{_END}"
DOT_SEGMENTS = (".", "..")
_CONTROL = re.compile(rf"[{_CONTROLS}]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# RFC 3986 sub-delims, ':' and '@' may stay as they are in a path segment (as Connect's UriBuilder leaves them).
_SEGMENT_SAFE = "!$&'()*+,;=:@"


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid connector name, or None when it is."""
    if not name:
        return "Connector name must not be empty"
    shown = _shown(name)
    if len(name) > MAX_NAME_LENGTH:
        return f"Connector name {shown} is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}"
    if _SURROGATE.search(name):
        return f"Connector name {shown} is not valid Unicode (it holds a lone surrogate)"
    if _CONTROL.search(name):
        return f"Connector name {shown} must not contain control characters"
    if name != name.strip():
        return f"Connector name {shown} must not begin or end with whitespace"
    if "/" in name:
        return f"Connector name {shown} must not contain '/'"
    if name in DOT_SEGMENTS:
        return f"Connector name {shown} is a URL dot-segment and could not be addressed"
    return None


def check_connector_name(name: str) -> str:
    """``name`` when valid; BadRequestError (400) naming the problem otherwise."""
    problem = name_problem(name)
    if problem is not None:
        raise BadRequestError(problem)
    return name


def connector_path(name: str) -> str:
    """The URL path of a connector (``Location`` of a created one): the name percent-encoded as one segment."""
    return "/connectors/" + urllib.parse.quote(name, safe=_SEGMENT_SAFE)


def _shown(name: str) -> str:
    """The name for a message: quoted, control characters and surrogates escaped, cut short."""
    return repr(name[:40] + ("…" if len(name) > 40 else ""))
