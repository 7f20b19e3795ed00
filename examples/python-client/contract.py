"""What the walkthrough checks of every answer the generated client gives it: the status code,
`X-Request-Id`, and that the body parsed into the model the document names for that status —
losing nothing (the model written back is the body as sent) and adding nothing (no field the
document does not declare)."""

import json
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import attrs
from learning_passport_client.models import Problem
from learning_passport_client.types import Response, Unset

T = TypeVar("T")


class Tally:
    """How many checks passed, for the closing line."""

    checks = 0


def expect(response: Response[Any], status: int, model: type[T]) -> T:
    """The answer has this status, carries X-Request-Id, and parsed into `model`, losing nothing
    and adding nothing. Returns the parsed model."""
    body = response.content[:800].decode(errors="replace")
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {body}"
    assert isinstance(response.parsed, model), (
        f"expected the answer to parse into {model.__name__}, got {type(response.parsed).__name__}: {body}"
    )
    assert response.headers.get("x-request-id"), "every answer carries X-Request-Id"
    if attrs.has(model):
        undocumented(response.parsed, model.__name__)
        written_back = response.parsed.to_dict()  # type: ignore[attr-defined]
        difference = differs(json.loads(response.content), written_back, model.__name__)
        assert difference is None, f"{model.__name__} did not keep the answer as sent: {difference}"
    Tally.checks += 1
    return response.parsed


def refused(response: Response[Any], status: int, problem_type: str) -> Problem:
    """A refusal: RFC 9457 problem details of this type and status, saying what went wrong."""
    problem = expect(response, status, Problem)
    assert problem.status == status, problem
    assert problem.type_ == f"urn:learning-passport:problem:{problem_type}", problem.type_
    assert problem.detail, "a problem says what went wrong"
    return problem


def check(condition: bool, message: str) -> None:
    assert condition, message
    Tally.checks += 1


def at(days: float) -> datetime:
    """An instant `days` from now, to the second."""
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(microsecond=0)


def a_year_after(instant: datetime | None | Unset) -> datetime:
    """The catalogue's refresher period of 12 months: the same day a year on (28 February for
    29 February)."""
    assert isinstance(instant, datetime), instant
    try:
        return instant.replace(year=instant.year + 1)
    except ValueError:
        return instant.replace(year=instant.year + 1, day=28)


def undocumented(value: Any, where: str) -> None:
    """Fails on a field the document does not declare, which a generated model keeps as an
    additional property. A model that declares no field is a free-form object (a credential's
    claims): all its content is additional properties."""
    if attrs.has(type(value)):
        declared = [f.name for f in attrs.fields(type(value)) if f.name != "additional_properties"]
        extra = getattr(value, "additional_properties", {})
        assert not (declared and extra), f"{where} has fields the document does not declare: {sorted(extra)}"
        for name in declared:
            undocumented(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            undocumented(item, f"{where}[{index}]")


def differs(sent: Any, written_back: Any, where: str) -> str | None:
    """Where the body as sent and the parsed model written back differ, or None. Times compare
    as instants: a model writes `+00:00` where the service wrote `Z`."""
    if isinstance(sent, dict) and isinstance(written_back, dict):
        if sent.keys() != written_back.keys():
            return f"{where}: keys {sorted(sent)} became {sorted(written_back)}"
        found = (differs(sent[key], written_back[key], f"{where}.{key}") for key in sent)
        return next((difference for difference in found if difference), None)
    if isinstance(sent, list) and isinstance(written_back, list):
        if len(sent) != len(written_back):
            return f"{where}: {len(sent)} items became {len(written_back)}"
        found = (differs(a, b, f"{where}[{i}]") for i, (a, b) in enumerate(zip(sent, written_back)))
        return next((difference for difference in found if difference), None)
    if isinstance(sent, str) and isinstance(written_back, str) and sent != written_back:
        try:
            if datetime.fromisoformat(sent) == datetime.fromisoformat(written_back):
                return None
        except ValueError:
            pass
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (sent, written_back))
    if sent == written_back and (numbers or type(sent) is type(written_back)):
        return None
    return f"{where}: {sent!r} became {written_back!r}"
