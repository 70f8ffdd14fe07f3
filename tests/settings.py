"""Settings for the test run: the real settings, with what a test machine lacks filled in."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
# Encrypts webhook secrets; also inherited by the servers and workers the tests start.
os.environ.setdefault("WEBHOOK_SECRET_KEYS", "dGVzdC1vbmx5LXdlYmhvb2sta2V5LTAxMjM0NTY3ODk=")

from orderservice.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
