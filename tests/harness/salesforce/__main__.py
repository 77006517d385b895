"""``python -m tests.harness.salesforce --port N [--certfile F --keyfile F] [--config FILE]``: run the test server.

The config file is JSON: ``{"username", "password", "securityToken", "consumerKey", "consumerSecret",
"jwtPublicKeyFile"}`` (every key optional; the defaults are :class:`Credentials`'). With a certificate the server
speaks HTTPS, as Salesforce does (simple-salesforce only calls ``https://`` URLs); without one, plain HTTP.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import uvicorn

from tests.harness.salesforce.app import build_app
from tests.harness.salesforce.org import Org
from tests.harness.salesforce.sessions import Credentials


def credentials_from(path: str | None) -> Credentials:
    if not path:
        return Credentials()
    data = json.loads(Path(path).read_text())
    defaults = Credentials()
    key_file = data.get("jwtPublicKeyFile")
    return Credentials(
        username=data.get("username", defaults.username),
        password=data.get("password", defaults.password),
        security_token=data.get("securityToken", defaults.security_token),
        consumer_key=data.get("consumerKey", defaults.consumer_key),
        consumer_secret=data.get("consumerSecret", defaults.consumer_secret),
        jwt_public_key_pem=Path(key_file).read_text() if key_file else None,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.harness.salesforce", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    parser.add_argument("--config")
    args = parser.parse_args(argv)
    app = build_app(Org(credentials_from(args.config)))
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        ssl_certfile=args.certfile,
        ssl_keyfile=args.keyfile,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,  # open keep-alive and long-poll connections must not hold up a stop
    )


if __name__ == "__main__":
    main()
