"""Moving ApiToken from the api app to the tokens app keeps the table, its rows and its content
type (so admin permissions stay): migrate back to before the move, write, migrate forward, read."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.state import StateApps

from orderservice.tokens.models import ApiToken, token_hash

# Migrations run outside a test transaction (SQLite's schema editor refuses to run inside one).
pytestmark = pytest.mark.django_db(transaction=True)

# api at its first migration, tokens at none (api 0002 depends on tokens 0001, so both go).
BEFORE_THE_MOVE: list[tuple[str, str | None]] = [("api", "0001_initial"), ("tokens", None)]


def _migrate(targets: list[tuple[str, str | None]] | None = None) -> StateApps:
    """Migrate to the targets (default: every app's latest migration); the models then."""
    executor = MigrationExecutor(connection)
    return executor.migrate(targets or executor.loader.graph.leaf_nodes()).apps


def test_the_move_keeps_the_token_rows_and_the_content_type():
    old = _migrate(BEFORE_THE_MOVE)
    try:
        user = old.get_model("auth", "User").objects.create(username="alice")
        old.get_model("api", "ApiToken").objects.create(
            key_hash=token_hash("the-key"), prefix="the-key", user=user
        )
        content_type, _ = old.get_model("contenttypes", "ContentType").objects.get_or_create(
            app_label="api", model="apitoken"
        )
        permission = old.get_model("auth", "Permission").objects.create(
            content_type=content_type, codename="audit_apitoken", name="Can audit API token"
        )
    finally:
        _migrate()
    ContentType.objects.clear_cache()

    token = ApiToken.objects.get(key_hash=token_hash("the-key"))
    assert (token.prefix, token.user.username) == ("the-key", "alice")
    assert ContentType.objects.get_for_model(ApiToken).pk == content_type.pk
    assert Permission.objects.get(pk=permission.pk).content_type.app_label == "tokens"
