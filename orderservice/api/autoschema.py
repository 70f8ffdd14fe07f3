"""What drf-spectacular runs to build the document: AutoSchema and the post-processing hook.

AutoSchema adds what every operation shares: 400, 401 when authentication is required, 413/415
when there is a body, 429 when a throttle applies, 500 and 503, each with the one `Error`
component, and `Retry-After`/`WWW-Authenticate` where they are sent. A new cross-cutting error is
one line in `AutoSchema._shared_errors`. The hook applies generic rules and the operation
extensions of api.openapi (LINKS, BODY_RULES); it knows no app.
"""

from collections.abc import Iterable
from typing import Any, Literal

from django.urls import Resolver404, resolve
from drf_spectacular import openapi
from rest_framework import permissions, serializers

from orderservice.api import errors
from orderservice.api.errors import ErrorKind
from orderservice.api.fields import StrictSerializer
from orderservice.api.openapi import (
    BODY_RULES,
    LINKS,
    RETRY_AFTER,
    WWW_AUTHENTICATE,
    error_responses,
)

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_STRICT_DOC = (StrictSerializer.__doc__ or "").strip()
_SUCCESS_DESCRIPTIONS = {"200": "OK", "201": "Created"}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema plus the errors and headers every operation shares.

    A view validates its body with its nested `InputSerializer`: that is the request body, and
    its component is named after the operation (`order_place` -> `OrderPlaceRequest`).
    """

    def get_operation(
        self,
        path: str,
        path_regex: str,
        path_prefix: str,
        method: str,
        registry: Any,
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses: dict[str, Any] = operation["responses"]
        for status, response in error_responses(*self._shared_errors()).items():
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(response, str(status))
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def get_override_parameters(self) -> list[Any]:
        return [*super().get_override_parameters(), RETRY_AFTER, WWW_AUTHENTICATE]

    def get_request_serializer(self) -> Any:
        return getattr(self.view, "InputSerializer", None) or super().get_request_serializer()

    def get_serializer_name(
        self, serializer: serializers.Serializer, direction: Literal["request", "response"]
    ) -> str:
        # Nested serializers (`OrderListApi.InputSerializer`) all share a name: call each after
        # its operation instead.
        if "." in type(serializer).__qualname__:
            operation = "".join(word.capitalize() for word in self.get_operation_id().split("_"))
            return f"{operation}{direction.capitalize()}"
        return super().get_serializer_name(serializer, direction)

    def _shared_errors(self) -> Iterable[ErrorKind]:
        yield errors.INVALID_REQUEST  # bad Content-Length, ... anywhere
        yield errors.NOT_ACCEPTABLE  # an Accept header without JSON, anywhere
        if self._requires_authentication():
            yield errors.UNAUTHENTICATED
        if self.method in _BODY_METHODS:
            yield errors.PAYLOAD_TOO_LARGE
            yield errors.UNSUPPORTED_MEDIA_TYPE
        if self.view.get_throttles():
            yield errors.THROTTLED
        yield errors.INTERNAL_ERROR
        yield errors.INVENTORY_UNAVAILABLE

    def _requires_authentication(self) -> bool:
        allow_any = (permissions.AllowAny,)
        return bool(self.view.get_authenticators()) and not any(
            isinstance(permission, allow_any) for permission in self.view.get_permissions()
        )


# --- post-processing ------------------------------------------------------------------------


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _status_body(**fields: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: {"type": "string", "enum": [value]} for name, value in fields.items()},
        "required": list(fields),
        "additionalProperties": False,
    }


# Plain Django views (not DRF) that spectacular cannot see: written out here, and published
# only when the route exists.
_OPERATIONS_PATHS: dict[str, dict[str, Any]] = {
    "/healthz": {
        "get": {
            "operationId": "healthz",
            "summary": "Liveness: the process serves requests (never touches the database)",
            "tags": ["operations"],
            "security": [],
            "responses": {"200": _json(_status_body(status="ok"), "Alive.")},
        }
    },
    "/readyz": {
        "get": {
            "operationId": "readyz",
            "summary": "Readiness: the database answers",
            "tags": ["operations"],
            "security": [],
            "responses": {
                "200": _json(_status_body(status="ready", database="ok"), "Ready."),
                "503": {
                    **_json(
                        {"$ref": "#/components/schemas/Error"},
                        f"`{errors.INVENTORY_UNAVAILABLE.message}`",
                    ),
                    "headers": {
                        "Retry-After": {
                            "schema": {"type": "integer"},
                            "required": True,
                            "description": "Seconds to wait before asking again.",
                        }
                    },
                },
            },
        }
    },
    "/metrics": {
        "get": {
            "operationId": "metrics",
            "summary": "Prometheus metrics (text exposition format), summed over workers",
            "tags": ["operations"],
            "security": [],
            "responses": {
                "200": {
                    "description": "Metrics; the business counters are named `orders_*`.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        }
    },
}


def _route_exists(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def _apply_body_rules(
    operation: dict[str, Any], rules: dict[str, Any], schemas: dict[str, Any]
) -> None:
    for media in operation["requestBody"]["content"].values():
        schemas[media["schema"]["$ref"].rsplit("/", 1)[-1]].update(rules)


def postprocess_schema(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """SPECTACULAR_SETTINGS POSTPROCESSING_HOOKS: paths, closed objects, body rules, links."""
    schemas: dict[str, Any] = result.get("components", {}).get("schemas", {})
    for component in schemas.values():
        # Bodies are exact both ways: unknown request fields are 400, responses add none.
        if component.get("type") == "object" and "properties" in component:
            component.setdefault("additionalProperties", False)
        if component.get("description", "").strip() == _STRICT_DOC:
            component["description"] = "Unknown fields are refused (400), not ignored."
    # `/orders/?` comes out as `/orders/`; the canonical form has no slash (both answer).
    result["paths"] = {
        (path.rstrip("/") or "/"): item for path, item in result.get("paths", {}).items()
    }
    for path_item in result["paths"].values():
        for operation in path_item.values():
            links = operation.pop(LINKS, {})
            if BODY_RULES in operation:
                _apply_body_rules(operation, operation.pop(BODY_RULES), schemas)
            if "requestBody" in operation:
                operation["requestBody"]["required"] = True  # an empty body is a 400
            for status, response in operation.get("responses", {}).items():
                if not response.get("description"):
                    response["description"] = _SUCCESS_DESCRIPTIONS.get(status, status)
                if status in links:
                    response["links"] = links[status]
    for path, item in _OPERATIONS_PATHS.items():
        if _route_exists(path):
            result["paths"].setdefault(path, item)
    return result
