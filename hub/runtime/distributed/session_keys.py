"""SessionKeys: the group's session key, which signs the internal requests workers send each other.

The leader distributes a key through the config topic (``hub/runtime/request_signing.py``) when there is none, it
expired (``inter.worker.key.ttl.ms``) or the worker config asks for another kind; every worker reads it back from
the config topic, signs the task configs it sends the leader with it, and checks the signature of those it takes.

Thread-safety: the key is replaced whole by the config store's reading thread and read from any thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from hub.log.client import ClientError
from hub.runtime.distributed.task_configs import UndeliveredError
from hub.runtime.request_signing import RequestSignature, SessionKey, signature_headers, verify
from hub.runtime.stores import ConfigListener, ConfigStore
from hub.runtime.worker_config import WorkerConfig

log = logging.getLogger("hub.runtime.distributed")


class SessionKeys(ConfigListener):
    """This worker's view of the group's session key (see the module docstring)."""

    def __init__(self, worker_id: str, config: WorkerConfig, configs: ConfigStore) -> None:
        self._worker_id = worker_id
        self._config = config
        self._configs = configs
        self._key: SessionKey | None = None
        configs.add_listener(self)

    def on_session_key(self) -> None:
        record = self._configs.snapshot().session_key
        try:
            self._key = None if record is None else SessionKey.from_record(record)
        except ValueError as exc:
            log.error("worker %s: ignoring the session key record of the config topic: %s", self._worker_id, exc)
            return
        log.info("worker %s read a new session key (%s)", self._worker_id, self._key)

    def keep_fresh(self) -> None:
        """As leader: distribute a session key when there is none, it expired, or the config asks for another kind."""
        key, now_ms = self._key, int(time.time() * 1000)
        algorithm = self._config["inter.worker.key.generation.algorithm"]
        size_bits = self._config["inter.worker.key.size"]
        if (
            key is not None
            and now_ms < key.created_ms + int(self._config["inter.worker.key.ttl.ms"])
            and key.algorithm == algorithm
            and (size_bits is None or len(key.key) * 8 == size_bits)
        ):
            return
        try:
            self._configs.put_session_key(SessionKey.generate(algorithm, size_bits, now_ms).to_record())
        except ClientError as exc:
            log.warning("leader %s could not write a new session key (trying again): %s", self._worker_id, exc)
            return
        log.info("leader %s distributed a new session key", self._worker_id)

    def sign(self, body: bytes) -> Mapping[str, str]:
        """The headers that sign an internal request's body with the current session key."""
        key = self._key
        if key is None:
            raise UndeliveredError("no session key read from the config topic yet", retry=True)
        return signature_headers(key, self._config["inter.worker.signature.algorithm"], body)

    def verify(self, signature: RequestSignature | None) -> None:
        """Refuse an internal request not signed with the current key (Connect's 400, 403 or 503 answers)."""
        verify(signature, self._key, self._config["inter.worker.verification.algorithms"])
