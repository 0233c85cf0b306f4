"""The ``wagehub`` command line."""
