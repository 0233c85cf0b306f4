"""Moving messages: the broker and its embedded transport, the inbound consumer and
pipeline, the outbox relay, the routing table and the clock."""
