"""Kafka's JAAS configuration text, as ``sasl.jaas.config`` carries it, read into its options.

``org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="secret" username="admin"
password="admin-secret";`` gives the login module's name, its control flag and its options. Only the one-entry
form Kafka takes in ``sasl.jaas.config`` is read. Errors never quote an option's value (they are passwords).

Pure functions; thread-safe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hub.log.errors import InvalidConfigError

PLAIN_LOGIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM_LOGIN_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"
_FLAGS = ("required", "requisite", "sufficient", "optional")
_HEAD = re.compile(r"\s*([A-Za-z_$][\w.$]*)\s+([A-Za-z]+)")
_OPTION = re.compile(r"\s*([\w.\-]+)\s*=\s*")


@dataclass(frozen=True)
class JaasEntry:
    """One login module entry: its class name, control flag and options."""

    login_module: str
    flag: str
    options: dict[str, str] = field(default_factory=dict, repr=False)

    def users(self) -> dict[str, str]:
        """The ``user_NAME="password"`` options of a PlainLoginModule: the users a PLAIN server accepts."""
        return {key[len("user_") :]: value for key, value in self.options.items() if key.startswith("user_")}

    def credentials(self) -> tuple[str, str] | None:
        """The ``username``/``password`` a client logs in with, None when either is missing."""
        username, password = self.options.get("username"), self.options.get("password")
        return (username, password) if username is not None and password is not None else None


def parse_jaas(text: str, setting: str) -> JaasEntry:
    """The entry of a ``sasl.jaas.config`` value; InvalidConfigError naming ``setting`` when it is malformed."""
    head = _HEAD.match(text)
    if head is None or head[2].lower() not in _FLAGS:
        raise InvalidConfigError(f"{setting} must be of the form 'LoginModuleClass required key=\"value\" ...;'")
    options: dict[str, str] = {}
    position = head.end()
    while True:
        rest = text[position:].lstrip()
        if rest.startswith(";"):
            if rest[1:].strip():
                raise InvalidConfigError(f"{setting} holds more than one login module entry")
            break
        if not rest:
            raise InvalidConfigError(f"{setting} must end with ';'")
        option = _OPTION.match(text, position)
        if option is None:
            raise InvalidConfigError(f"{setting}: expected key=value after the login module's options")
        position = option.end()
        value, position = _value(text, position, setting, option[1])
        options[option[1]] = value
    return JaasEntry(head[1], head[2].lower(), options)


def _value(text: str, position: int, setting: str, key: str) -> tuple[str, int]:
    if position < len(text) and text[position] == '"':
        out: list[str] = []
        index = position + 1
        while index < len(text):
            char = text[index]
            if char == "\\" and index + 1 < len(text):
                out.append(text[index + 1])
                index += 2
                continue
            if char == '"':
                return "".join(out), index + 1
            out.append(char)
            index += 1
        raise InvalidConfigError(f"{setting}: the value of {key} has no closing quote")
    match = re.compile(r"[^\s;]+").match(text, position)
    if match is None:
        raise InvalidConfigError(f"{setting}: {key} has no value")
    return match[0], match.end()
