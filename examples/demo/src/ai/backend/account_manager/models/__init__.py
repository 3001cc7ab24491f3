"""Stand-in for ``ai.backend.account_manager.models``.

Only its ``alembic/`` directory matters here: alembic-accountmgr.ini points at it with
``script_location = ai.backend.account_manager.models:alembic``.
"""
