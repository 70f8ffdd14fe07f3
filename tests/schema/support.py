"""What the schemathesis tests share: the data they run on, the checks, Hypothesis settings."""

import os
import string

import hypothesis
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance

# Every check schemathesis has except positive_data_acceptance: a schema cannot say which product
# ids exist or which cursors a `next` link produced, so a well-formed body naming an unknown
# product rightly gets 400.
EXCLUDED_CHECKS: list[schemathesis.CheckFunction] = [positive_data_acceptance]

# The products the schema's examples name, so the documented requests reach the happy path, and
# every one-character SKU, the ids generated bodies use most, so generated orders get placed too.
STOCK = {
    "SKU-1": 100_000_000,
    "SKU-2": 100_000_000,
    "SKU-5": 2,
    **dict.fromkeys(string.ascii_letters + string.digits + "._-", 1_000_000),
}

HYPOTHESIS_SETTINGS = hypothesis.settings(
    deadline=None,
    database=None,
    # Reproducible by default; SCHEMA_FUZZ_SEED=<n> explores other cases.
    derandomize="SCHEMA_FUZZ_SEED" not in os.environ,
    # The users and products of the fixture are meant to be shared by every generated case.
    suppress_health_check=[
        hypothesis.HealthCheck.function_scoped_fixture,
        hypothesis.HealthCheck.too_slow,
        hypothesis.HealthCheck.filter_too_much,
    ],
)
