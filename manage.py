#!/usr/bin/env python
"""Django's command-line utility."""

import os
import shlex
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderservice.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    # Settings loaded here, not inside Django's command lookup: a bad set-up (no SECRET_KEY with
    # DEBUG off) is one line saying what to set, not a traceback behind "Unknown command".
    try:
        settings.INSTALLED_APPS  # noqa: B018  (the access loads the settings)
    except ImproperlyConfigured as exc:
        command = shlex.join(["python", "manage.py", *sys.argv[1:]])
        sys.stderr.write(f"manage.py: {exc} For a local try: DEBUG=1 {command}\n")
        sys.exit(2)
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
