"""The README's walkthroughs, driven by a client generated from openapi/openapi.json.

A person keeps records and shares them with an employer, the employer reads them and checks
compliance, a learning platform pushes, corrects and voids completions, the person revokes the
employer's grant, and anyone verifies the person's credential. Only the generated client's
functions and models are used. Every answer is checked for its status code and for having parsed,
without losing or adding anything, into the model the document names for it; refused calls
parse into problem details.

Generate the client, then run this with the generated package on PYTHONPATH against a running
service (scripts/client-walkthrough does all of it, on SQLite and PostgreSQL):

    openapi-python-client generate --path openapi/openapi.json --meta none \
        --output-path /tmp/client/learning_passport_client
    PYTHONPATH=/tmp/client PASSPORT_URL=http://127.0.0.1:8080 PERSON_TOKEN=… EMPLOYER_ODS=RXX \
        EMPLOYER_CREDENTIALS=employer.json PLATFORM_CREDENTIALS=platform.json \
        python3 examples/python-client/walkthrough.py

PERSON_TOKEN is from `learning-passport token person`; the credentials files are what
`learning-passport org create` prints, for an employer (`shared:read`, with that ODS code) and a
learning platform (`records:write`).
"""

import base64
import json
import os
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar
from urllib.parse import quote_plus
from uuid import UUID

import attrs
from learning_passport_client import AuthenticatedClient, Client
from learning_passport_client.api.auth import get_jwks, issue_token
from learning_passport_client.api.completions import (
    correct_completion,
    push_completions,
    void_completion,
)
from learning_passport_client.api.compliance import (
    check_compliance,
    create_requirement_profile,
    list_compliance_worklist,
)
from learning_passport_client.api.credentials import (
    get_credential_status_list,
    get_did_document,
    issue_credential,
    list_my_credentials,
    revoke_credential,
    verify_credential,
)
from learning_passport_client.api.grants import (
    create_grant,
    get_grant,
    list_my_access_events,
    list_my_grants,
    revoke_grant,
)
from learning_passport_client.api.me import get_my_profile
from learning_passport_client.api.organisations import search_organisations
from learning_passport_client.api.records import (
    create_record,
    get_record,
    list_my_records,
    list_record_history,
)
from learning_passport_client.api.sharing import list_received_grants, list_shared_records
from learning_passport_client.models import (
    AllRecords,
    BatchResult,
    Compliance,
    CompletionBatch,
    CompletionInput,
    CredentialRequest,
    CredentialSummary,
    DidDocument,
    Evidence,
    Grant,
    GrantInput,
    GrantScope,
    GrantStatus,
    IssuedCredential,
    IssuedRecord,
    ItemStatus,
    Jwks,
    ListAccessEvent,
    ListCompliance,
    ListCredentialSummary,
    ListGrant,
    ListOrganisationView,
    ListReceivedGrant,
    ListRecord,
    ListRecordVersion,
    Permission,
    Problem,
    ProfileInput,
    Profile,
    Provenance,
    Record,
    RecordChoice,
    RecordInput,
    RecordKind,
    RecordPatch,
    RecordResult,
    RecordSelection,
    RequirementProfile,
    RequirementType0,
    RequirementType0Type,
    RequirementType1,
    RequirementType1Type,
    RejectReason,
    Status,
    TokenRequest,
    TokenResponse,
    VerifyRequest,
    VerifyResult,
    VoidInput,
)
from learning_passport_client.types import UNSET, Response

T = TypeVar("T")
checks = 0

# --- what every answer is checked for -------------------------------------------------------


def expect(response: Response[Any], status: int, model: type[T]) -> T:
    """The answer has this status, carries X-Request-Id, and parsed into `model`, losing nothing
    and adding nothing."""
    global checks
    body = response.content[:800].decode(errors="replace")
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {body}"
    assert isinstance(response.parsed, model), (
        f"expected the answer to parse into {model.__name__}, got {type(response.parsed).__name__}: {body}"
    )
    assert response.headers.get("x-request-id"), "every answer carries X-Request-Id"
    if attrs.has(model):
        undocumented(response.parsed, model.__name__)
        raw = json.loads(response.content)
        dumped = response.parsed.to_dict()  # type: ignore[attr-defined]
        difference = differs(raw, dumped, model.__name__)
        assert difference is None, f"{model.__name__} did not keep the answer as sent: {difference}"
    checks += 1
    return response.parsed


def refused(response: Response[Any], status: int, problem_type: str) -> Problem:
    """A refusal: problem details of this type and status."""
    problem = expect(response, status, Problem)
    assert problem.status == status, problem
    assert problem.type_ == f"urn:learning-passport:problem:{problem_type}", problem.type_
    assert problem.detail, "a problem says what went wrong"
    return problem


def undocumented(value: Any, where: str) -> None:
    """Fails on a field the document does not declare (kept by a model as an additional
    property). A model that declares no field at all is a free-form object: its content is
    all additional properties."""
    if attrs.has(type(value)):
        declared = [f.name for f in attrs.fields(type(value)) if f.name != "additional_properties"]
        extra = getattr(value, "additional_properties", {})
        assert not (declared and extra), f"{where} has fields the document does not declare: {sorted(extra)}"
        for name in declared:
            undocumented(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            undocumented(item, f"{where}[{index}]")


def differs(raw: Any, dumped: Any, where: str) -> str | None:
    """Where the answer as sent and the parsed model written back differ (times compared as
    instants: the model writes `+00:00` where the service wrote `Z`)."""
    if isinstance(raw, dict) and isinstance(dumped, dict):
        if raw.keys() != dumped.keys():
            return f"{where}: keys {sorted(raw)} became {sorted(dumped)}"
        for key in raw:
            if (found := differs(raw[key], dumped[key], f"{where}.{key}")) is not None:
                return found
        return None
    if isinstance(raw, list) and isinstance(dumped, list):
        if len(raw) != len(dumped):
            return f"{where}: {len(raw)} items became {len(dumped)}"
        for index, (a, b) in enumerate(zip(raw, dumped)):
            if (found := differs(a, b, f"{where}[{index}]")) is not None:
                return found
        return None
    if isinstance(raw, str) and isinstance(dumped, str) and raw != dumped:
        try:
            if datetime.fromisoformat(raw) == datetime.fromisoformat(dumped):
                return None
        except ValueError:
            pass
    if raw == dumped and type(raw) is type(dumped) or (
        isinstance(raw, (int, float)) and isinstance(dumped, (int, float)) and raw == dumped
    ):
        return None
    return f"{where}: {raw!r} became {dumped!r}"


def check(condition: bool, message: str) -> None:
    global checks
    assert condition, message
    checks += 1


def at(days: float) -> datetime:
    """An instant `days` from now, to the second."""
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(microsecond=0)


# --- the callers ----------------------------------------------------------------------------


def organisation_client(base_url: str, credentials_file: str) -> tuple[AuthenticatedClient, UUID]:
    """An organisation's client gets its token at /v1/oauth/token, authenticating with HTTP
    Basic (RFC 6749 section 2.3.1: id and secret form-encoded): the generated client sends it
    as its `Authorization` header with the prefix `Basic`."""
    with open(credentials_file, encoding="utf-8") as file:
        credentials = json.load(file)
    basic = base64.b64encode(
        f"{quote_plus(credentials['client_id'])}:{quote_plus(credentials['client_secret'])}".encode()
    ).decode()
    login = AuthenticatedClient(base_url=base_url, token=basic, prefix="Basic", raise_on_unexpected_status=True)
    token = expect(
        issue_token.sync_detailed(client=login, body=TokenRequest(grant_type="client_credentials")),
        200,
        TokenResponse,
    )
    check(token.token_type.lower() == "bearer", f"a bearer token, not {token.token_type}")
    check(token.scope == credentials["scopes"], f"the client's scopes, not {token.scope}")

    wrong = AuthenticatedClient(
        base_url=base_url,
        token=base64.b64encode(f"{credentials['client_id']}:not-the-secret".encode()).decode(),
        prefix="Basic",
        raise_on_unexpected_status=True,
    )
    problem = refused(
        issue_token.sync_detailed(client=wrong, body=TokenRequest(grant_type="client_credentials")),
        401,
        "oauth",
    )
    check(problem.error == "invalid_client", f"RFC 6749's invalid_client, not {problem.error}")

    client = AuthenticatedClient(base_url=base_url, token=token.access_token, raise_on_unexpected_status=True)
    return client, UUID(credentials["organisation_id"])


def main() -> None:
    base_url = os.environ["PASSPORT_URL"]
    alice = AuthenticatedClient(
        base_url=base_url, token=os.environ["PERSON_TOKEN"], raise_on_unexpected_status=True
    )
    anyone = Client(base_url=base_url, raise_on_unexpected_status=True)

    # --- a person: profile, records, paging, a mistake ---
    me = expect(get_my_profile.sync_detailed(client=alice), 200, Profile)
    check(me.display_name == "Alice Example", f"the passport is created from the token: {me}")

    bls = expect(
        create_record.sync_detailed(
            client=alice,
            body=RecordInput(
                kind=RecordKind.STATUTORY_MANDATORY,
                title="Basic Life Support",
                completed_at=at(-30),
                expires_at=at(335),
                result=RecordResult.PASSED,
                hours=3,
                evidence=[Evidence(url="https://certificates.example.org/bls/123.pdf")],
            ),
        ),
        201,
        Record,
    )
    check(bls.provenance == Provenance.SELF_DECLARED, "what a person writes is self-declared")
    others = [
        expect(
            create_record.sync_detailed(
                client=alice,
                body=RecordInput(kind=kind, title=title, completed_at=at(-days), result=RecordResult.ATTENDED, hours=hours),
            ),
            201,
            Record,
        )
        for kind, title, days, hours in [
            (RecordKind.COURSE, "Dementia awareness", 60, 2),
            (RecordKind.CPD, "Journal club", 10, 1.5),
        ]
    ]
    mine = {bls.id, *(record.id for record in others)}

    seen = []
    first = expect(list_my_records.sync_detailed(client=alice, limit=2), 200, ListRecord)
    check(len(first.items) == 2 and isinstance(first.next_cursor, str), "a first page of two, and a cursor")
    seen += [record.id for record in first.items]
    assert isinstance(first.next_cursor, str)
    last = expect(list_my_records.sync_detailed(client=alice, limit=2, cursor=first.next_cursor), 200, ListRecord)
    check(len(last.items) == 1 and last.next_cursor is None, "the last page says so with a null cursor")
    seen += [record.id for record in last.items]
    check(sorted(seen) == sorted(mine), "paging gives every record once")

    problem = refused(
        create_record.sync_detailed(
            client=alice,
            body=RecordInput(kind=RecordKind.COURSE, title="", evidence=[Evidence(url="http://insecure.example.org")]),
        ),
        422,
        "validation",
    )
    fields = {error.field for error in problem.errors} if problem.errors is not UNSET else set()
    check({"title", "evidence[0].url"} <= fields, f"the problem names each field: {fields}")
    unchanged = expect(list_my_records.sync_detailed(client=alice), 200, ListRecord)
    check(len(unchanged.items) == 3, "a refused request changes nothing")

    # --- an employer: Alice shares her statutory and mandatory training with it for 30 days ---
    employer, employer_id = organisation_client(base_url, os.environ["EMPLOYER_CREDENTIALS"])
    directory = expect(
        search_organisations.sync_detailed(client=alice, ods_code=os.environ["EMPLOYER_ODS"]), 200, ListOrganisationView
    )
    check([o.id for o in directory.items] == [employer_id], "the directory finds the employer by ODS code")
    read_grant = expect(
        create_grant.sync_detailed(
            client=alice,
            body=GrantInput(
                organisation_id=directory.items[0].id,
                permission=Permission.READ,
                scope=GrantScope(records=RecordSelection(kinds=[RecordKind.STATUTORY_MANDATORY]), attainments=False),
                purpose="Pre-employment checks",
                expires_at=at(30),
            ),
        ),
        201,
        Grant,
    )
    check(read_grant.status == GrantStatus.LIVE, f"a new grant is live: {read_grant.status}")
    grants = expect(list_my_grants.sync_detailed(client=alice), 200, ListGrant)
    check([g.id for g in grants.items] == [read_grant.id], "Alice lists her grants")

    received = expect(list_received_grants.sync_detailed(client=employer), 200, ListReceivedGrant)
    check(
        [(g.id, g.person_id) for g in received.items] == [(read_grant.id, me.id)],
        "the employer sees the grant, and whose it is",
    )
    shared = expect(list_shared_records.sync_detailed(me.id, client=employer), 200, ListRecord)
    check([r.id for r in shared.items] == [bls.id], "the employer reads what the grant covers, nothing else")

    # --- a learning platform: pushes completions under Alice's write grant, corrects, voids ---
    platform, platform_id = organisation_client(base_url, os.environ["PLATFORM_CREDENTIALS"])
    expect(
        create_grant.sync_detailed(
            client=alice,
            body=GrantInput(
                organisation_id=platform_id,
                permission=Permission.WRITE,
                scope=GrantScope(records=AllRecords.ALL),
                purpose="Course completions",
                expires_at=at(30),
            ),
        ),
        201,
        Grant,
    )
    completed = at(-20)
    batch = CompletionBatch(
        completions=[
            CompletionInput(
                person_id=me.id,
                external_id="enrolment-1",
                activity_code="CSTF-INFORMATION-GOVERNANCE",
                completed_at=completed,
                result=RecordResult.PASSED,
            ),
            CompletionInput(
                person_id=me.id,
                external_id="enrolment-2",
                title="Fire safety",
                kind=RecordKind.STATUTORY_MANDATORY,
                completed_at=completed,
                result=RecordResult.PASSED,
            ),
        ]
    )
    pushed = expect(push_completions.sync_detailed(client=platform, body=batch), 200, BatchResult)
    check([r.status for r in pushed.results] == [ItemStatus.CREATED] * 2, f"both created: {pushed.results}")
    again = expect(push_completions.sync_detailed(client=platform, body=batch), 200, BatchResult)
    check([r.status for r in again.results] == [ItemStatus.UNCHANGED] * 2, "a retry changes nothing")
    stranger = expect(
        push_completions.sync_detailed(
            client=platform,
            body=CompletionBatch(
                completions=[
                    CompletionInput(
                        person_id=read_grant.id,  # nobody's passport
                        external_id="enrolment-3",
                        title="Fire safety",
                        kind=RecordKind.STATUTORY_MANDATORY,
                        completed_at=completed,
                    )
                ]
            ),
        ),
        200,
        BatchResult,
    )
    check(
        stranger.results[0].status == ItemStatus.REJECTED and stranger.results[0].reason == RejectReason.NO_WRITE_GRANT,
        "no write grant, no record",
    )

    governance_id = pushed.results[0].record_id
    assert isinstance(governance_id, UUID), pushed.results[0]
    governance = expect(get_record.sync_detailed(governance_id, client=alice), 200, Record)
    check(
        governance.provenance == Provenance.ISSUED and governance.title == "Information Governance and Data Security",
        "an issued record, titled from the catalogue",
    )
    check(governance.expires_at == completed + timedelta(days=365), f"a year's refresher: {governance.expires_at}")

    corrected = expect(
        correct_completion.sync_detailed(
            "enrolment-1", client=platform, body=RecordPatch(completed_at=completed - timedelta(days=1))
        ),
        200,
        IssuedRecord,
    )
    check(corrected.expires_at == completed + timedelta(days=364), "a correction of the date moves the expiry")
    voided = expect(
        void_completion.sync_detailed("enrolment-2", client=platform, body=VoidInput(reason="Enrolled in error")),
        200,
        IssuedRecord,
    )
    check(isinstance(voided.voided_at, datetime), "a voided record says when")
    history = expect(list_record_history.sync_detailed(governance_id, client=alice), 200, ListRecordVersion)
    check(len(history.items) == 1 and history.next_cursor is None, "the owner reads the earlier version")
    refused(list_shared_records.sync_detailed(me.id, client=platform), 403, "forbidden")

    # --- the employer checks compliance, with what Alice shares ---
    profile = expect(
        create_requirement_profile.sync_detailed(
            client=employer,
            body=ProfileInput(
                name="Registered nurse, band 5",
                requirements=[
                    RequirementType0(
                        type_=RequirementType0Type.ACTIVITY, activity_codes=["CSTF-INFORMATION-GOVERNANCE"]
                    ),
                    RequirementType1(type_=RequirementType1Type.HOURS, kind=RecordKind.CPD, hours=35, within_days=1095),
                ],
            ),
        ),
        201,
        RequirementProfile,
    )
    compliance = expect(check_compliance.sync_detailed(me.id, client=employer, profile=profile.id), 200, Compliance)
    activity, hours = compliance.requirements
    check(
        activity.status == Status.MET and activity.record_ids == [governance_id],
        f"the issued completion meets the first requirement: {activity}",
    )
    check(
        hours.status == Status.MISSING and hours.outside_scope,
        f"CPD is not shared with the employer, and the answer says so: {hours}",
    )
    check(compliance.status == Status.MISSING, "the overall status is the worst")
    worklist = expect(
        list_compliance_worklist.sync_detailed(client=employer, profile=profile.id, status=Status.MISSING),
        200,
        ListCompliance,
    )
    check([c.person_id for c in worklist.items] == [me.id], "Alice is on the worklist")

    # --- Alice sees those reads, revokes the grant (If-Match), and the employer is refused ---
    log = expect(
        list_my_access_events.sync_detailed(client=alice, organisation_id=read_grant.organisation_id),
        200,
        ListAccessEvent,
    )
    check(
        any(e.allowed and e.action == "records.list" for e in log.items),
        f"the employer's read is in the access log: {[e.action for e in log.items]}",
    )
    current = get_grant.sync_detailed(read_grant.id, client=alice)
    expect(current, 200, Grant)
    etag = current.headers["etag"]
    refused(revoke_grant.sync_detailed(read_grant.id, client=alice, if_match='"stale"'), 412, "precondition-failed")
    revoked = expect(revoke_grant.sync_detailed(read_grant.id, client=alice, if_match=etag), 200, Grant)
    check(revoked.status == GrantStatus.REVOKED, f"revoked: {revoked.status}")
    refused(list_shared_records.sync_detailed(me.id, client=employer), 404, "not-found")

    # --- anyone verifies Alice's credential ---
    credential = expect(
        issue_credential.sync_detailed(
            client=alice,
            body=CredentialRequest(records_where=RecordChoice(kinds=[RecordKind.STATUTORY_MANDATORY])),
        ),
        201,
        IssuedCredential,
    )
    listed = expect(list_my_credentials.sync_detailed(client=alice), 200, ListCredentialSummary)
    check([c.id for c in listed.items] == [credential.id], "Alice lists her credentials")
    verified = expect(verify_credential.sync_detailed(client=anyone, body=VerifyRequest(jwt=credential.jwt)), 200, VerifyResult)
    check(verified.valid and verified.errors == [], f"valid: {verified.errors}")
    did = expect(get_did_document.sync_detailed(client=anyone), 200, DidDocument)
    check(did.id.startswith("did:web:"), f"the issuer is did:web: {did.id}")
    jwks = expect(get_jwks.sync_detailed(client=anyone), 200, Jwks)
    check(
        {m.public_key_jwk.kid for m in did.verification_method} <= {k.kid for k in jwks.keys},
        "the DID document lists the JWKS's keys",
    )
    answer = get_credential_status_list.sync_detailed(1, client=anyone)
    status_list = expect(answer, 200, str)
    check(
        answer.headers["content-type"].startswith("application/vc+jwt") and status_list.count(".") == 2,
        "the status list is a VC-JWT",
    )
    withdrawn = expect(revoke_credential.sync_detailed(credential.id, client=alice), 200, CredentialSummary)
    check(isinstance(withdrawn.revoked_at, datetime), "a revoked credential says when")
    verified = expect(verify_credential.sync_detailed(client=anyone, body=VerifyRequest(jwt=credential.jwt)), 200, VerifyResult)
    check(not verified.valid and any("revoked" in e for e in verified.errors), f"revoked: {verified.errors}")

    print(f"walkthrough through the generated client: {checks} checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as failure:
        print(f"WALKTHROUGH FAILED: {failure}", file=sys.stderr)
        raise
