"""What a plugin relies on: the hooks, the value types, the errors, the plugin manager
and the helpers for webhooks and workbooks."""
