"""The routes of the REST API, one module per group of Connect's paths; ``hub.rest.app.create_app`` assembles them.

Each module offers ``routes(…) -> list[Route]`` over the herder (and what else its handlers need). Handlers run on
the application's event loop and hand every herder call, which may block on the config log, to Starlette's thread
pool (``params.call``); they keep no state of their own, so they are safe to run concurrently.
"""
