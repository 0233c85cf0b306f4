"""The settings the hub ships with, read with :mod:`importlib.resources`.

``default.toml`` (every setting, commented), ``routes.toml`` (the routing table it names)
and ``demo.toml`` (what ``wagehub demo`` adds). An operator layers a file of their own
over them with ``WAGEHUB_CONFIG``; ``wagehub config init DIR`` writes one to start from.
"""
