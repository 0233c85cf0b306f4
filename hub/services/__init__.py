"""What the API, the console and the command line share, free of Flask: who may see what
(records, matters, district scope, masking), transfers, dead letters and their replay,
plugins, queue figures, tokens and user accounts.

The caller's role, agency and districts come in as a :class:`~hub.services.principals.Principal`
(the web layer's from the request, the command line's for its operator); errors are the
hub's own (:mod:`hub.contract.errors`), which the web layer answers as JSON.
"""
