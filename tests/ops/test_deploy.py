"""Production settings: `check --deploy` clean, DEBUG off unless asked, SECRET_KEY required,
secure headers on every answer."""

import os
import secrets
import subprocess
import sys

import pytest

from tests.live import REPO_ROOT

pytestmark = pytest.mark.django_db


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "SECURE_SSL_REDIRECT"}
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_debug_off():
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_secret_key_is_required_when_not_debugging():
    result = _run(["manage.py", "check"], DEBUG="0")

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


def test_a_command_without_settings_says_what_to_set_in_one_line():
    result = _run(["manage.py", "issue_token", "someone"])

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "manage.py: SECRET_KEY must be set when DEBUG is off. "
        "For a local try: DEBUG=1 python manage.py issue_token someone"
    ]


def test_debug_is_off_unless_asked():
    code = "from django.conf import settings; print(settings.DEBUG)"
    shell = ["manage.py", "shell", "-v", "0", "-c", code]

    assert _run(shell, SECRET_KEY="x" * 50).stdout.strip() == "False"
    assert _run(shell, SECRET_KEY="x" * 50, DEBUG="1").stdout.strip() == "True"


def test_secure_headers_on_api_answers(client_user):
    response = client_user.get("/products", secure=True)
    unauthenticated = client_user.__class__().get("/nowhere", secure=True)

    for answer in (response, unauthenticated):
        assert answer["X-Content-Type-Options"] == "nosniff"
        assert answer["X-Frame-Options"] == "DENY"
        assert answer["Referrer-Policy"] == "same-origin"
        assert answer["Cross-Origin-Opener-Policy"] == "same-origin"
        assert answer["Strict-Transport-Security"].startswith("max-age=31536000")
