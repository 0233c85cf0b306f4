"""``python -m hub.cli.main``: the same as ``wagehub``."""

from hub.cli.main.main import main

main()
