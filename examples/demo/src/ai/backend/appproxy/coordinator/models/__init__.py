"""Stand-in for ``ai.backend.appproxy.coordinator.models``.

Only its ``alembic/`` directory matters here: alembic-appproxy.ini points at it with
``script_location = ai.backend.appproxy.coordinator.models:alembic``.
"""
