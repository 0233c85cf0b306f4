"""Blueprints of the HTTP API (``api``), health, readiness, metrics and the OpenAPI document."""
