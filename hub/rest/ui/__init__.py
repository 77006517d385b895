"""The web console at ``/ui``: its page and vendored assets (``static/``), its JSON API and in-memory charts."""
