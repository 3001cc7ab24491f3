"""Stand-in for ``ai.backend.manager.models``.

Only its ``alembic/`` directory matters here: alembic.ini points at it with
``script_location = ai.backend.manager.models:alembic``.
"""
