"""The HTTP API: the quart-trio app, one module per resource family, the error model and OpenAPI.

Every route is declared once with :func:`altegon_rt.api.routing.RouteTable.route`: the declaration
registers the Quart handler, validates path and body against its schema, enforces authentication, and is
what ``/openapi.json`` is generated from.
"""
