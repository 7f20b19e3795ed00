#!/usr/bin/env python3
"""Verify an Open Badges 3.0 credential from a Learning Passport with a stock OB 3.0 library.

openbadgeslib's OB3Verifier resolves the issuer's did:web (the service, or an organisation as
the service knows it), picks the key the JWT names, checks the signature, the issuer, the
JWT claims and the validity window; then the credential's revocation status is read from the
service's signed Bitstring Status List, and the holder is checked against the credential's salted identity
hashes with the library's own email hash.

    pip install openbadgeslib "pyjwt[crypto]"
    python3 verify_badge.py https://passport.example.org BADGE_JWT [EMAIL]

Prints the verdict as JSON; exits 1 when the badge is not valid.
"""

import base64
import gzip
import json
import re
import sys
import urllib.parse
import urllib.request

import jwt
from openbadgeslib.ob3 import OB3VerificationError, OB3Verifier
from openbadgeslib.util import hash_email


def downloader(base_url):
    """did:web resolves over https; a service reached over plain http (a test, a private
    network) is read at the address it was given."""
    base = urllib.parse.urlsplit(base_url)

    def download(url):
        parts = urllib.parse.urlsplit(url)
        if parts.netloc == base.netloc:
            url = urllib.parse.urlunsplit((base.scheme,) + tuple(parts[1:]))
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.read()

    return download


def revoked(base_url, status, download):
    """Whether the credential's bit is set in its status list, a VC-JWT signed by the service
    (its signature checked with the service's JWKS)."""
    token = download(status["statusListCredential"]).decode()
    key = jwt.PyJWKClient(f"{base_url}/.well-known/jwks.json").get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key, algorithms=["EdDSA"])
    subject = (claims.get("vc") or claims)["credentialSubject"]
    bits = gzip.decompress(base64.urlsafe_b64decode(subject["encodedList"][1:] + "=="))
    index = int(status["statusListIndex"])
    return bits[index >> 3] & (0x80 >> (index % 8)) != 0


def holder_matches(subject, email):
    for identity in subject.get("identifier", []):
        if identity.get("identityType") != "emailAddress":
            continue
        expected = hash_email(email.strip().lower(), identity.get("salt", ""))
        expected = expected.decode() if isinstance(expected, bytes) else expected
        if identity.get("identityHash") == f"sha256${expected}":
            return True
    return False


def did_web(base_url):
    parts = urllib.parse.urlsplit(base_url)
    path = "".join(f":{segment}" for segment in parts.path.split("/") if segment)
    return "did:web:" + parts.netloc.replace(":", "%3A") + path


def issued_by_service(base_url, issuer):
    """The service's DID, or an organisation's as the service knows it: nothing else is trusted
    to speak for the service, whatever key its DID document holds."""
    service = did_web(base_url)
    pattern = re.escape(service) + r":organisations:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    return issuer == service or re.fullmatch(pattern, issuer) is not None


def main(base_url, token, email=None):
    base_url = base_url.rstrip("/")
    download = downloader(base_url)
    issuer = jwt.decode(token, options={"verify_signature": False}).get("iss", "")
    if not issued_by_service(base_url, issuer):
        print(json.dumps({"valid": False, "error": f"not issued by this service: {issuer}"}))
        return 1
    try:
        credential = OB3Verifier.for_issuer_did(issuer, download=download).verify(token)
    except OB3VerificationError as error:
        print(json.dumps({"valid": False, "error": str(error)}))
        return 1
    payload = jwt.decode(token, options={"verify_signature": False})
    is_revoked = revoked(base_url, payload["credentialStatus"], download)
    verdict = {
        "valid": not is_revoked,
        "revoked": is_revoked,
        "issuer": credential.issuer.id,
        "achievement": payload["credentialSubject"]["achievement"]["name"],
    }
    if email is not None:
        verdict["holder"] = holder_matches(payload["credentialSubject"], email)
        verdict["valid"] = verdict["valid"] and verdict["holder"]
    print(json.dumps(verdict))
    return 0 if verdict["valid"] else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
