"""ApiVersions: the versions this listener serves (``versions.ADVERTISED``) and, from version 3, the features.

From version 3 (KIP-511) the client names its software; Kafka refuses a name or version that is empty or not
``[a-zA-Z0-9](?:[a-zA-Z0-9\\-.]*[a-zA-Z0-9])?`` with INVALID_REQUEST, and so does this. A valid one is kept on the
connection, for the log lines about it.

Features (KIP-584) are reported as a Kafka 4.1 broker reports them, limited to what Hub really does: see
``versions.SUPPORTED_FEATURES`` / ``FINALIZED_FEATURES``. A version-3 answer leaves out supported features whose
minimum is 0, as Kafka 4 does (KAFKA-17011, KAFKA-17492: older clients cannot read a minimum of 0).
``zk_migration_ready`` is false: there is no ZooKeeper to migrate from.

Stateless; safe for one event loop.
"""

from __future__ import annotations

import re

from hub.log.error_codes import ErrorCode
from hub.log.server.context import Body, RequestContext
from hub.log.server.versions import ADVERTISED, FINALIZED_FEATURES, FINALIZED_FEATURES_EPOCH, SUPPORTED_FEATURES

_SOFTWARE = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?")
#: The first ApiVersions version whose supported features may have a minimum version of 0 (KAFKA-17011).
_MIN_VERSION_ZERO_ALLOWED = 4


async def api_versions(ctx: RequestContext, body: Body) -> Body:
    version = ctx.header.api_version
    if version >= 3:
        name, software_version = body["client_software_name"], body["client_software_version"]
        if not (_SOFTWARE.fullmatch(name) and _SOFTWARE.fullmatch(software_version)):
            return {"error_code": ErrorCode.INVALID_REQUEST, "api_keys": [], "throttle_time_ms": 0}
        ctx.connection.client_software = (name, software_version)
    keys = [
        {"api_key": key, "min_version": low, "max_version": high} for key, (low, high) in sorted(ADVERTISED.items())
    ]
    supported = [
        {"name": name, "min_version": low, "max_version": high}
        for name, (low, high) in sorted(SUPPORTED_FEATURES.items())
        if low > 0 or version >= _MIN_VERSION_ZERO_ALLOWED
    ]
    finalized = [
        {"name": name, "min_version_level": level, "max_version_level": level}
        for name, level in sorted(FINALIZED_FEATURES.items())
    ]
    return {
        "error_code": ErrorCode.NONE,
        "api_keys": keys,
        "throttle_time_ms": 0,
        "supported_features": supported,
        "finalized_features_epoch": FINALIZED_FEATURES_EPOCH if finalized else -1,
        "finalized_features": finalized,
        "zk_migration_ready": False,
    }
