"""``/connector-plugins``: list the installed plugins, describe a plugin's config, and validate a connector config
against its plugin, as Connect's endpoints do. Handlers are stateless.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.rest.errors import HttpError
from hub.rest.routes.params import BodyReader, call, flag, json_response, string_map
from hub.runtime.herder import Herder

#: Connect's order of plugin kinds in the listing.
_PLUGIN_ORDER = {
    "sink": 0,
    "source": 1,
    "transformation": 2,
    "predicate": 3,
    "converter": 4,
    "header_converter": 5,
    "config_provider": 6,
}


def routes(herder: Herder, body: BodyReader) -> list[Route]:
    """The plugin routes over ``herder``; request bodies are read with ``body``."""

    async def plugins(request: Request) -> Response:
        connectors_only = flag(request, "connectorsOnly", default=True)
        listed = [
            {"class": info.class_name, "type": info.kind, "version": info.version}
            for info in await call(herder.plugins)
            if info.kind != "config_provider" and (not connectors_only or info.kind in ("source", "sink"))
        ]
        listed.sort(key=lambda item: (_PLUGIN_ORDER.get(item["type"], 9), item["class"]))
        return json_response(listed)

    async def plugin_config(request: Request) -> Response:
        return json_response(await call(herder.plugin_config, request.path_params["plugin"]))

    async def validate(request: Request) -> Response:
        plugin = request.path_params["plugin"]
        config = string_map(await body(request), "config")
        given = config.get("connector.class")
        if given is None:
            config["connector.class"] = plugin
        elif not _same_plugin(given, plugin):
            raise HttpError(400, f"Included connector type {given} does not match request type {plugin}")
        return json_response(await call(herder.validate, config))

    return [
        Route("/connector-plugins", plugins, methods=["GET"]),
        Route("/connector-plugins/{plugin:str}/config", plugin_config, methods=["GET"]),
        Route("/connector-plugins/{plugin:str}/config/validate", validate, methods=["PUT"]),
    ]


def _same_plugin(given: str, plugin: str) -> bool:
    """Whether a config's ``connector.class`` names the plugin of the path, by full or short name."""

    def short(name: str) -> str:
        return name.rsplit(".", 1)[-1].removesuffix("Connector")

    return given == plugin or short(given) == short(plugin)
