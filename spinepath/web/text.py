"""Text the production database can hold.

PostgreSQL refuses a NUL character in text (and in JSON), and no database stores an unpaired
surrogate (a string Python holds but UTF-8 cannot write). SQLite would keep a NUL, so a record
made on one engine could not be restored on the other. Such text is refused where it enters,
with the field named, on every route:

- :class:`UnstorableInputMiddleware`: the address, its query and every posted form field;
- :func:`json_problems`: a JSON document (a workup import, a FHIR or CDS Hooks body), by path;
- :func:`refuse_unstorable_fields`: any model saved with such text (whatever route reached it);
- :func:`refuse_unstorable_parameters`: the database connections' last check of every query
  parameter (installed by the database backends), so nothing reaches the database with it.

Each refusal is an :class:`UnstorableText` (a 400 named by field, never a 500).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse

from spinepath.errors import Invalid

MAX_PROBLEMS = 5


class UnstorableText(Invalid, SuspiciousOperation):
    """Text with a character the database cannot store (400). Also a SuspiciousOperation, so
    that outside a view (a session cookie, a middleware) Django answers 400 too."""


def text_problem(text: str) -> str | None:
    """What in ``text`` the database cannot store, in words, or None."""
    if "\x00" in text:
        return "contains a NUL character (U+0000), which cannot be stored"
    if not text.isascii():
        for char in text:
            if "\ud800" <= char <= "\udfff":
                return (
                    f"contains an unpaired surrogate (U+{ord(char):04X}), which is not text "
                    "and cannot be stored"
                )
    return None


def refuse(field: str, problem: str) -> UnstorableText:
    message = f"{field}: {problem}. Remove it and try again."
    return UnstorableText(message, fields={field: message})


def json_problems(value: Any, path: str = "") -> list[str]:
    """``path: problem`` for each string (key or value) in a decoded JSON document that the
    database cannot store; at most a few."""
    found: list[str] = []

    def walk(item: Any, where: str) -> None:
        if len(found) >= MAX_PROBLEMS:
            return
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                found.append(f"{where or '(the document)'}: {problem}")
        elif isinstance(item, dict):
            for key, inner in item.items():
                key_text = str(key)
                problem = text_problem(key_text)
                if problem:
                    found.append(f"{where or '(the document)'}: a key {problem}")
                    continue
                walk(inner, f"{where}.{key_text}" if where else key_text)
        elif isinstance(item, list | tuple):
            for index, inner in enumerate(item):
                walk(inner, f"{where}[{index}]")

    walk(value, path)
    return found


# --- Requests ----------------------------------------------------------------------------------


def request_problems(
    request: HttpRequest, view_kwargs: dict[str, Any], *, form: bool = True
) -> list[tuple[str, str]]:
    """(field, problem) for the address's parts, the query and (``form``) the posted form
    fields."""
    found: list[tuple[str, str]] = []
    for name, value in view_kwargs.items():
        if isinstance(value, str) and (problem := text_problem(value)):
            found.append((f"address ({name})", problem))
    sources: list[Any] = [request.GET]
    if (
        form
        and request.method == "POST"
        and request.content_type
        in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        )
    ):
        sources += [request.POST, request.FILES]
    for params in sources:
        for key in params:
            problem = text_problem(str(key))
            if problem:
                found.append(("a field's name", problem))
                continue
            for value in params.getlist(key):
                text = value if isinstance(value, str) else getattr(value, "name", "")
                if text and (problem := text_problem(text)):
                    found.append((str(key), problem))
                    break
    return found[:MAX_PROBLEMS]


class UnstorableInputMiddleware:
    """Refuses a request whose address, query or form fields carry text the database cannot
    store, naming each field (400), before any view reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., HttpResponse],
        view_args: Iterable[Any],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        # The API's views (exempt from CSRF, called with JSON) read the body themselves and
        # check the JSON they find; parsing it as a form here would spend it.
        problems = request_problems(
            request, view_kwargs, form=not getattr(view, "csrf_exempt", False)
        )
        if not problems:
            return None
        refused = UnstorableText(
            [f"{field}: {problem}. Remove it and try again." for field, problem in problems],
            fields={field: f"{problem}." for field, problem in problems},
        )
        if request.path.startswith(("/fhir", "/cds-services")):
            from spinepath.web.refusals import operation_outcome as outcome

            return outcome(400, "invalid", " ".join(refused.reasons))
        from spinepath.web.refusals import refusal_response

        return refusal_response(request, refused)


# --- Models and the database -------------------------------------------------------------------


def refuse_unstorable_fields(sender: Any, instance: Any, raw: bool = False, **_: Any) -> None:
    """pre_save: a text or JSON field holding what the database cannot store is refused,
    named by the field (whatever route saved it: a form, an import, a command, an API)."""
    if raw:
        return
    for field in instance._meta.concrete_fields:
        value = getattr(instance, field.attname, None)
        if isinstance(value, str):
            problem = text_problem(value)
        elif isinstance(value, dict | list):
            problems = json_problems(value)
            problem = problems[0] if problems else None
        else:
            continue
        if problem:
            raise refuse(str(field.verbose_name), problem)


def _parameter_problem(value: Any) -> str | None:
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, list | tuple):
        for item in value:
            problem = _parameter_problem(item)
            if problem:
                return problem
        return None
    inner = getattr(value, "obj", None)  # psycopg's Json and Jsonb adapters (JSON fields)
    if inner is not None and not isinstance(value, str | bytes):
        problems = json_problems(inner)
        return problems[0] if problems else None
    return None


def refuse_unstorable_parameters(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """A database execute wrapper: no query parameter carries what the database cannot store
    (a lookup too: PostgreSQL refuses a NUL in a WHERE clause as in an INSERT)."""
    if params:
        if many and not isinstance(params, list | tuple):
            params = list(params)  # an iterator is read once: here, then by the database
        rows = params if many else [params]
        for row in rows:
            values = row.values() if isinstance(row, dict) else row
            problem = _parameter_problem(list(values)) if values is not None else None
            if problem:
                raise refuse("a value given", problem)
    return execute(sql, params, many, context)
