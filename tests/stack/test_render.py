"""What deploy/stack.py writes into the configurations, without starting anything."""

import json
import re

import pytest

from deploy import stack


def test_connect_query_sets_what_the_apps_startup_options_ask_for():
    options = (
        "-c statement_timeout=5000 -c lock_timeout=2000"
        " -c idle_in_transaction_session_timeout=10000 -c plan_cache_mode=force_generic_plan"
    )

    assert stack.connect_query(options) == (
        "SET statement_timeout = 5000; SET lock_timeout = 2000; "
        "SET idle_in_transaction_session_timeout = 10000; SET plan_cache_mode = force_generic_plan"
    )


@pytest.mark.parametrize("options", ["-c statement_timeout=5;DROP", "-c x=a-b", "-c A=1"])
def test_connect_query_refuses_anything_but_a_plain_name_and_value(options):
    with pytest.raises(ValueError, match="unexpected server option"):
        stack.connect_query(options)


def test_the_apps_go_through_pgbouncer_as_the_same_user_to_the_same_database():
    config = stack.config_from_env(
        {
            "DATABASE_URL": "postgres://shop:s%40cret@db.internal:5433/orders",
            "STACK_PGBOUNCER_PORT": "7000",
        }
    )
    db = stack.Database.from_url(config.database_url)

    assert stack.pgbouncer_url(config) == "postgres://shop:s%40cret@127.0.0.1:7000/orders"
    assert (db.host, db.port, db.name, db.user, db.password) == (
        "db.internal",
        5433,
        "orders",
        "shop",
        "s@cret",
    )
    assert stack.pgbouncer_users(config) == '"shop" "s@cret"\n'
    assert (
        stack.without_password(config.database_url) == "postgres://shop:***@db.internal:5433/orders"
    )


def test_a_database_url_that_is_not_postgresql_means_the_local_server():
    assert stack.config_from_env({"DATABASE_URL": "sqlite:///x.db"}).database_url == (
        stack.DEFAULT_DATABASE_URL
    )


def test_each_error_page_is_its_status_and_a_json_body_in_the_error_shape():
    locations = stack.error_locations("http://127.0.0.1:8080/docs/errors")
    pages = re.findall(
        r"location = /_errors/(\d+)\.json \{.*?return (\d+) '(.*?)';", locations, re.S
    )

    assert [int(page) for page, _, _ in pages] == [error.status for error in stack.PROXY_ERRORS]
    for page, status, body in pages:
        assert page == status
        error = next(e for e in stack.PROXY_ERRORS if e.status == int(status))
        assert json.loads(body) == {
            "error": error.message,
            "documentation": f"http://127.0.0.1:8080/docs/errors#{error.slug}",
        }
    for status in (502, 503, 504):
        assert f"add_header Retry-After 1 always;\n            return {status}" in locations


def test_render_refuses_a_name_it_has_no_value_for():
    assert stack.render("listen {{ PORT }};", {"PORT": 8080}) == "listen 8080;"
    with pytest.raises(KeyError):
        stack.render("listen {{ PORT }}; {{ OTHER }}", {"PORT": 8080})
