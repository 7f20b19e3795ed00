"""The README's walkthroughs, driven by a Python client generated from openapi/openapi.json.

A person keeps records and shares them with an employer; the employer reads them and checks
compliance; a learning platform pushes, corrects and voids completions under a write grant; the
person revokes the employer's grant; the employer asks again and the person approves, and the
person hands another organisation a share code; anyone verifies the person's credential. Only the generated
client's functions and models are used, and every answer is checked (contract.py) for its status
and for having parsed into the model the document names for it; refusals into problem details.

scripts/client-walkthrough generates the client, starts the service and runs this, on SQLite and
PostgreSQL. By hand, against a running service:

    openapi-python-client generate --path openapi/openapi.json --meta none \\
        --output-path /tmp/client/learning_passport_client
    PYTHONPATH=/tmp/client PASSPORT_URL=http://127.0.0.1:8080 PERSON_TOKEN=… EMPLOYER_ODS=RXX \\
        EMPLOYER_CREDENTIALS=employer.json PLATFORM_CREDENTIALS=platform.json \\
        python3 examples/python-client/walkthrough.py

PERSON_TOKEN comes from `learning-passport token person` (for Alice Example); the credentials
files hold what `learning-passport org create` prints for an employer (`shared:read`, with that
ODS code) and for a learning platform (`records:write`), both new.
"""

import base64
import json
import os
from datetime import datetime, timedelta
from urllib.parse import quote_plus
from uuid import UUID

from learning_passport_client import AuthenticatedClient, Client
from learning_passport_client.api.access_requests import (
    approve_access_request,
    create_access_request,
    get_access_request,
    list_my_access_requests,
)
from learning_passport_client.api.auth import get_jwks, issue_token
from learning_passport_client.api.completions import correct_completion, push_completions, void_completion
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
from learning_passport_client.api.share_codes import create_share_code, list_my_share_codes, redeem_share_code
from learning_passport_client.api.sharing import list_received_grants, list_shared_records
from learning_passport_client.models import (
    AccessRequest,
    AccessRequestInput,
    AccessRequestStatus,
    ActivityRequirement,
    Addressee,
    Approval,
    ActivityRequirementType,
    AllRecords,
    BatchResult,
    CompletionBatch,
    CompletionInput,
    Compliance,
    CredentialRequest,
    CredentialSummary,
    DidDocument,
    Evidence,
    Grant,
    GrantInput,
    GrantScope,
    GrantStatus,
    HoursRequirement,
    HoursRequirementType,
    IncomingAccessRequest,
    CredentialFormat,
    IssuedBadges,
    IssuedCredential,
    RecipientClaim,
    IssuedRecord,
    ItemStatus,
    Jwks,
    ListAccessEvent,
    ListCompliance,
    ListCredentialSummary,
    ListGrant,
    ListIncomingAccessRequest,
    ListOrganisationView,
    ListReceivedGrant,
    ListRecord,
    ListRecordVersion,
    ListShareCode,
    NewShareCode,
    Permission,
    Profile,
    ProfileInput,
    ReceivedGrant,
    Provenance,
    Record,
    RecordChoice,
    RecordInput,
    RecordKind,
    RecordPatch,
    RecordResult,
    RecordSelection,
    RedeemInput,
    RejectReason,
    RequirementProfile,
    ShareCodeInput,
    ShareCodeStatus,
    Status,
    TokenRequest,
    TokenResponse,
    VerifyRequest,
    VerifyResult,
    VoidInput,
)
from learning_passport_client.types import UNSET

from contract import Tally, a_year_after, at, check, expect, refused

BASE_URL = os.environ["PASSPORT_URL"]
GOVERNANCE = "CSTF-INFORMATION-GOVERNANCE"


def organisation_client(credentials_file: str) -> tuple[AuthenticatedClient, UUID]:
    """An organisation's client gets its token at /v1/oauth/token, authenticating with HTTP
    Basic as RFC 6749 section 2.3.1 says (id and secret form-encoded): the generated client
    sends it as its `Authorization` header, with the prefix `Basic`. A wrong secret is refused."""
    with open(credentials_file, encoding="utf-8") as file:
        credentials = json.load(file)
    client_id, secret = quote_plus(credentials["client_id"]), quote_plus(credentials["client_secret"])

    def login(password: str) -> AuthenticatedClient:
        basic = base64.b64encode(f"{client_id}:{password}".encode()).decode()
        return AuthenticatedClient(
            base_url=BASE_URL, token=basic, prefix="Basic", raise_on_unexpected_status=True
        )

    request = TokenRequest(grant_type="client_credentials")
    token = expect(issue_token.sync_detailed(client=login(secret), body=request), 200, TokenResponse)
    check(token.token_type.lower() == "bearer", f"a bearer token, not {token.token_type}")
    check(token.scope == credentials["scopes"], f"the client's scopes, not {token.scope}")
    problem = refused(issue_token.sync_detailed(client=login("not-the-secret"), body=request), 401, "oauth")
    check(problem.error == "invalid_client", f"RFC 6749's invalid_client, not {problem.error}")
    client = AuthenticatedClient(base_url=BASE_URL, token=token.access_token, raise_on_unexpected_status=True)
    return client, UUID(credentials["organisation_id"])


def person_keeps_records(alice: AuthenticatedClient) -> tuple[Profile, Record]:
    """The first walkthrough: the passport, records, paging, and a mistake refused."""
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
    mine = {bls.id}
    for kind, title, days, hours in [
        (RecordKind.COURSE, "Dementia awareness", 60, 2),
        (RecordKind.CPD, "Journal club", 10, 1.5),
    ]:
        body = RecordInput(
            kind=kind, title=title, completed_at=at(-days), result=RecordResult.ATTENDED, hours=hours
        )
        mine.add(expect(create_record.sync_detailed(client=alice, body=body), 201, Record).id)

    first = expect(list_my_records.sync_detailed(client=alice, limit=2), 200, ListRecord)
    check(len(first.items) == 2 and isinstance(first.next_cursor, str), "a first page of two, and a cursor")
    assert isinstance(first.next_cursor, str)
    last = expect(
        list_my_records.sync_detailed(client=alice, limit=2, cursor=first.next_cursor), 200, ListRecord
    )
    check(len(last.items) == 1 and last.next_cursor is None, "the last page says so with a null cursor")
    check(sorted(r.id for r in first.items + last.items) == sorted(mine), "paging gives every record once")

    mistake = RecordInput(
        kind=RecordKind.COURSE, title="", evidence=[Evidence(url="http://insecure.example.org")]
    )
    problem = refused(create_record.sync_detailed(client=alice, body=mistake), 422, "validation")
    fields = set() if problem.errors is UNSET else {error.field for error in problem.errors}
    check({"title", "evidence[0].url"} <= fields, f"the problem names each field: {fields}")
    unchanged = expect(list_my_records.sync_detailed(client=alice), 200, ListRecord)
    check(len(unchanged.items) == 3, "a refused request changes nothing")
    return me, bls


def person_shares_with_employer(
    alice: AuthenticatedClient, employer: AuthenticatedClient, employer_id: UUID, me: Profile, bls: Record
) -> Grant:
    """Alice finds the employer in the directory and shares her statutory and mandatory training
    for 30 days; the employer sees the grant and reads what it covers, nothing else."""
    found = search_organisations.sync_detailed(client=alice, ods_code=os.environ["EMPLOYER_ODS"])
    directory = expect(found, 200, ListOrganisationView)
    check([o.id for o in directory.items] == [employer_id], "the directory finds the employer by ODS code")
    scope = GrantScope(records=RecordSelection(kinds=[RecordKind.STATUTORY_MANDATORY]), attainments=False)
    body = GrantInput(
        organisation_id=employer_id,
        permission=Permission.READ,
        scope=scope,
        purpose="Pre-employment checks",
        expires_at=at(30),
    )
    grant = expect(create_grant.sync_detailed(client=alice, body=body), 201, Grant)
    check(grant.status == GrantStatus.LIVE, f"a new grant is live: {grant.status}")
    mine = expect(list_my_grants.sync_detailed(client=alice), 200, ListGrant)
    check([g.id for g in mine.items] == [grant.id], "Alice lists her grants")

    received = expect(list_received_grants.sync_detailed(client=employer), 200, ListReceivedGrant)
    check(
        [(g.id, g.person_id) for g in received.items] == [(grant.id, me.id)],
        "the employer sees the grant, and whose",
    )
    shared = expect(list_shared_records.sync_detailed(me.id, client=employer), 200, ListRecord)
    check([r.id for r in shared.items] == [bls.id], "the employer reads what the grant covers, nothing else")
    return grant


def platform_pushes(
    alice: AuthenticatedClient, platform: AuthenticatedClient, platform_id: UUID, me: Profile
) -> UUID:
    """Alice grants a learning platform write access; it pushes completions (idempotently),
    corrects one and voids another; Alice reads the issued record and its history."""
    body = GrantInput(
        organisation_id=platform_id,
        permission=Permission.WRITE,
        scope=GrantScope(records=AllRecords.ALL),
        purpose="Course completions",
        expires_at=at(30),
    )
    expect(create_grant.sync_detailed(client=alice, body=body), 201, Grant)
    completed = at(-20)
    batch = CompletionBatch(
        completions=[
            CompletionInput(
                person_id=me.id,
                external_id="enrolment-1",
                activity_code=GOVERNANCE,
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
    nobody = CompletionInput(
        person_id=platform_id,  # nobody's passport
        external_id="enrolment-3",
        title="Fire safety",
        kind=RecordKind.STATUTORY_MANDATORY,
        completed_at=completed,
    )
    stray = expect(
        push_completions.sync_detailed(client=platform, body=CompletionBatch(completions=[nobody])),
        200,
        BatchResult,
    )
    check(
        (stray.results[0].status, stray.results[0].reason)
        == (ItemStatus.REJECTED, RejectReason.NO_WRITE_GRANT),
        f"no write grant, no record: {stray.results[0]}",
    )

    governance_id = pushed.results[0].record_id
    assert isinstance(governance_id, UUID), pushed.results[0]
    governance = expect(get_record.sync_detailed(governance_id, client=alice), 200, Record)
    check(governance.provenance == Provenance.ISSUED, "what a platform pushes is issued")
    check(governance.title == "Information Governance and Data Security", "titled from the catalogue")
    check(
        governance.expires_at == a_year_after(completed),
        f"a year's refresher: {governance.expires_at}",
    )

    earlier = RecordPatch(completed_at=completed - timedelta(days=1))
    corrected = expect(
        correct_completion.sync_detailed("enrolment-1", client=platform, body=earlier), 200, IssuedRecord
    )
    check(
        corrected.expires_at == a_year_after(earlier.completed_at),
        "a correction of the date moves the expiry",
    )
    reason = VoidInput(reason="Enrolled in error")
    voided = expect(
        void_completion.sync_detailed("enrolment-2", client=platform, body=reason), 200, IssuedRecord
    )
    check(isinstance(voided.voided_at, datetime), "a voided record says when")
    history = expect(list_record_history.sync_detailed(governance_id, client=alice), 200, ListRecordVersion)
    check(len(history.items) == 1 and history.next_cursor is None, "the owner reads the version corrected")
    refused(list_shared_records.sync_detailed(me.id, client=platform), 403, "forbidden")
    return governance_id


def employer_checks_compliance(employer: AuthenticatedClient, me: Profile, governance_id: UUID) -> None:
    """A requirement profile for a role, a check of Alice against it, and the worklist."""
    requirements: list[ActivityRequirement | HoursRequirement] = [
        ActivityRequirement(type_=ActivityRequirementType.ACTIVITY, activity_codes=[GOVERNANCE]),
        HoursRequirement(type_=HoursRequirementType.HOURS, kind=RecordKind.CPD, hours=35, within_days=1095),
    ]
    body = ProfileInput(name="Registered nurse, band 5", requirements=list(requirements))
    profile = expect(
        create_requirement_profile.sync_detailed(client=employer, body=body), 201, RequirementProfile
    )
    check(
        [type(r) for r in profile.requirements] == [ActivityRequirement, HoursRequirement], "each kind parses"
    )
    compliance = expect(
        check_compliance.sync_detailed(me.id, client=employer, profile=profile.id), 200, Compliance
    )
    activity, hours = compliance.requirements
    check(
        activity.status == Status.MET and activity.record_ids == [governance_id],
        f"the issued completion meets the first requirement: {activity}",
    )
    check(
        hours.status == Status.MISSING and hours.outside_scope,
        f"CPD is not shared, and the answer says so: {hours}",
    )
    check(compliance.status == Status.MISSING, "the overall status is the worst")
    worklist = list_compliance_worklist.sync_detailed(
        client=employer, profile=profile.id, status=Status.MISSING
    )
    check(
        [c.person_id for c in expect(worklist, 200, ListCompliance).items] == [me.id],
        "Alice is on the worklist",
    )


def person_revokes(
    alice: AuthenticatedClient, employer: AuthenticatedClient, me: Profile, grant: Grant
) -> None:
    """Alice sees the employer's reads in her access log and revokes the grant, sending its ETag
    as If-Match; the employer's next request is refused."""
    events = list_my_access_events.sync_detailed(client=alice, organisation_id=grant.organisation_id)
    log = expect(events, 200, ListAccessEvent)
    check(
        any(e.allowed and e.action == "records.list" for e in log.items),
        f"the employer's read is in the access log: {[e.action for e in log.items]}",
    )
    current = get_grant.sync_detailed(grant.id, client=alice)
    expect(current, 200, Grant)
    stale = revoke_grant.sync_detailed(grant.id, client=alice, if_match='"stale"')
    refused(stale, 412, "precondition-failed")
    revoked = expect(
        revoke_grant.sync_detailed(grant.id, client=alice, if_match=current.headers["etag"]), 200, Grant
    )
    check(revoked.status == GrantStatus.REVOKED, f"revoked: {revoked.status}")
    refused(list_shared_records.sync_detailed(me.id, client=employer), 404, "not-found")


def employer_asks_person_approves(alice: AuthenticatedClient, employer: AuthenticatedClient, me: Profile, bls: Record) -> None:
    """The employer asks Alice, by the email her identity provider vouched for, for her
    statutory and mandatory training; she approves it for a shorter term, and the employer
    learns whose passport it is and reads it."""
    scope = GrantScope(records=RecordSelection(kinds=[RecordKind.STATUTORY_MANDATORY]), attainments=False)
    ask = AccessRequestInput(
        addressee=Addressee(email="alice@example.org"),
        permission=Permission.READ,
        scope=scope,
        purpose="Pre-employment checks for your post on Ward 7",
        duration_days=90,
        message="Welcome to St Elsewhere! We need this before your first shift.",
    )
    asked = expect(create_access_request.sync_detailed(client=employer, body=ask), 202, AccessRequest)
    check(asked.status == AccessRequestStatus.PENDING, f"a new request is pending: {asked.status}")
    check(not asked.person_id, "asking does not say whose passport it is")
    pending = list_my_access_requests.sync_detailed(client=alice, status=AccessRequestStatus.PENDING)
    check([r.id for r in expect(pending, 200, ListIncomingAccessRequest).items] == [asked.id], "Alice sees the request")
    approval = Approval(duration_days=30)
    approved = approve_access_request.sync_detailed(asked.id, client=alice, body=approval)
    answer = expect(approved, 200, IncomingAccessRequest)
    check(answer.status == AccessRequestStatus.APPROVED and bool(answer.grant_id), "approved, with its grant")
    refused(approve_access_request.sync_detailed(asked.id, client=alice, body=approval), 409, "conflict")
    now = expect(get_access_request.sync_detailed(asked.id, client=employer), 200, AccessRequest)
    check(now.person_id == me.id, f"the approval tells the employer whose passport: {now.person_id}")
    shared = expect(list_shared_records.sync_detailed(me.id, client=employer), 200, ListRecord)
    check(
        bls.id in [r.id for r in shared.items] and {r.kind for r in shared.items} == {RecordKind.STATUTORY_MANDATORY},
        "the employer reads what Alice approved: her statutory and mandatory training, nothing else",
    )


def person_hands_over_a_share_code(alice: AuthenticatedClient, platform: AuthenticatedClient, me: Profile) -> None:
    """Alice makes a share code and reads it out; the learning platform redeems it (typed in
    lower case, with a space) for a write grant; she sees who redeemed it."""
    offer = ShareCodeInput(
        permission=Permission.WRITE,
        scope=GrantScope(records=AllRecords.ALL, attainments=False),
        purpose="Completions from my induction course",
        grant_expires_at=at(30),
        expires_in_minutes=15,
    )
    made = expect(create_share_code.sync_detailed(client=alice, body=offer), 201, NewShareCode)
    check(made.url.endswith("/share/" + made.code), f"the code as a link for a QR code: {made.url}")
    typed = made.code.lower().replace("-", " ")
    grant = expect(redeem_share_code.sync_detailed(client=platform, body=RedeemInput(code=typed)), 201, ReceivedGrant)
    check(grant.person_id == me.id and grant.permission == Permission.WRITE, "the code became a write grant")
    refused(redeem_share_code.sync_detailed(client=platform, body=RedeemInput(code=typed)), 422, "validation")
    codes = expect(list_my_share_codes.sync_detailed(client=alice), 200, ListShareCode)
    check(
        [(c.status, bool(c.redemption)) for c in codes.items] == [(ShareCodeStatus.REDEEMED, True)],
        "Alice sees the code redeemed, and by whom",
    )


def anyone_verifies(alice: AuthenticatedClient) -> None:
    """Alice takes a signed copy of her statutory and mandatory training; anyone, without
    authentication, verifies it, reads the issuer's DID document, keys and status list; once
    Alice revokes it, it verifies as revoked."""
    anyone = Client(base_url=BASE_URL, raise_on_unexpected_status=True)
    chosen = CredentialRequest(records_where=RecordChoice(kinds=[RecordKind.STATUTORY_MANDATORY]))
    credential = expect(issue_credential.sync_detailed(client=alice, body=chosen), 201, IssuedCredential)
    listed = expect(list_my_credentials.sync_detailed(client=alice), 200, ListCredentialSummary)
    check([c.id for c in listed.items] == [credential.id], "Alice lists her credentials")
    jwt = VerifyRequest(jwt=credential.jwt)
    verified = expect(verify_credential.sync_detailed(client=anyone, body=jwt), 200, VerifyResult)
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
    check(answer.headers["content-type"].startswith("application/vc+jwt"), "the status list is a VC-JWT")
    check(status_list.count(".") == 2, "a compact JWS")
    withdrawn = expect(revoke_credential.sync_detailed(credential.id, client=alice), 200, CredentialSummary)
    check(isinstance(withdrawn.revoked_at, datetime), "a revoked credential says when")
    verified = expect(verify_credential.sync_detailed(client=anyone, body=jwt), 200, VerifyResult)
    check(not verified.valid and any("revoked" in e for e in verified.errors), f"revoked: {verified.errors}")


def badges_for_wallets(alice: AuthenticatedClient) -> None:
    """Alice takes her statutory and mandatory training as Open Badges 3.0 credentials, one per
    record, bound to her vouched-for email by a salted hash; anyone verifies one, and that it
    was issued to Alice (and not to Bob). Her passport as a CLR 2.0 credential verifies too,
    until she revokes it."""
    anyone = Client(base_url=BASE_URL, raise_on_unexpected_status=True)
    chosen = CredentialRequest(
        format_=CredentialFormat.OB3,
        records_where=RecordChoice(kinds=[RecordKind.STATUTORY_MANDATORY]),
    )
    badges = expect(issue_credential.sync_detailed(client=alice, body=chosen), 201, IssuedBadges)
    check(len(badges.credentials) >= 1, "a badge per record")
    check(all(b.format_ == CredentialFormat.OB3 and b.record_id for b in badges.credentials), "each names its record")
    badge = badges.credentials[0]
    holder = VerifyRequest(jwt=badge.jwt, recipient=RecipientClaim(email="alice@example.org"))
    verified = expect(verify_credential.sync_detailed(client=anyone, body=holder), 200, VerifyResult)
    check(verified.valid and verified.format_ == CredentialFormat.OB3, f"the badge verifies: {verified.errors}")
    check([c.check for c in verified.checks] == ["signature", "issuer", "validity_period", "status", "recipient"],
          "each check is answered")
    someone_else = VerifyRequest(jwt=badge.jwt, recipient=RecipientClaim(email="bob@example.org"))
    verified = expect(verify_credential.sync_detailed(client=anyone, body=someone_else), 200, VerifyResult)
    check(not verified.valid, "not Bob's")
    passport = CredentialRequest(format_=CredentialFormat.CLR2, records_where=RecordChoice(kinds=list(RecordKind)))
    clr = expect(issue_credential.sync_detailed(client=alice, body=passport), 201, IssuedCredential)
    verified = expect(verify_credential.sync_detailed(client=anyone, body=VerifyRequest(jwt=clr.jwt)), 200, VerifyResult)
    check(verified.valid and verified.format_ == CredentialFormat.CLR2, f"the CLR verifies: {verified.errors}")
    expect(revoke_credential.sync_detailed(clr.id, client=alice), 200, CredentialSummary)
    verified = expect(verify_credential.sync_detailed(client=anyone, body=VerifyRequest(jwt=clr.jwt)), 200, VerifyResult)
    check(not verified.valid, "a revoked CLR does not verify")


def main() -> None:
    alice = AuthenticatedClient(
        base_url=BASE_URL, token=os.environ["PERSON_TOKEN"], raise_on_unexpected_status=True
    )
    me, bls = person_keeps_records(alice)
    employer, employer_id = organisation_client(os.environ["EMPLOYER_CREDENTIALS"])
    grant = person_shares_with_employer(alice, employer, employer_id, me, bls)
    platform, platform_id = organisation_client(os.environ["PLATFORM_CREDENTIALS"])
    governance_id = platform_pushes(alice, platform, platform_id, me)
    employer_checks_compliance(employer, me, governance_id)
    person_revokes(alice, employer, me, grant)
    employer_asks_person_approves(alice, employer, me, bls)
    person_hands_over_a_share_code(alice, platform, me)
    anyone_verifies(alice)
    badges_for_wallets(alice)
    print(f"the README's walkthroughs through the generated client: {Tally.checks} checks passed")


if __name__ == "__main__":
    main()
