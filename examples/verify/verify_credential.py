"""Verify a Learning Passport credential offline, with nothing but the service's public keys.

    pip install "pyjwt[crypto]"
    python3 verify_credential.py https://passport.example.org CREDENTIAL_JWT

Checks the signature against /.well-known/jwks.json (EdDSA only), the issuer (the service's
did:web), the validity period, and the revocation bit in the Bitstring Status List. Prints the
verdict and the credential's subject as JSON; exits 1 when the credential is not valid.
"""

import base64
import gzip
import json
import sys
import urllib.parse
import urllib.request

import jwt


def did_web(base_url):
    url = urllib.parse.urlsplit(base_url)
    host = url.hostname + (f"%3A{url.port}" if url.port else "")
    path = "".join(f":{p}" for p in url.path.split("/") if p)
    return f"did:web:{host}{path}"


def main(base_url, token):
    base_url = base_url.rstrip("/")
    keys = jwt.PyJWKClient(f"{base_url}/.well-known/jwks.json")
    key = keys.get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        key.key,
        algorithms=["EdDSA"],
        issuer=did_web(base_url),
        options={"require": ["exp", "iss", "nbf"], "verify_aud": False},
    )
    status = claims["vc"]["credentialStatus"]
    with urllib.request.urlopen(status["statusListCredential"]) as response:
        status_token = response.read().decode()
    status_key = keys.get_signing_key_from_jwt(status_token)
    status_list = jwt.decode(status_token, status_key.key, algorithms=["EdDSA"], issuer=did_web(base_url), options={"verify_aud": False})
    encoded = status_list["vc"]["credentialSubject"]["encodedList"][1:]  # multibase "u": base64url
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    index = int(status["statusListIndex"])
    revoked = bool(bits[index // 8] & (0x80 >> (index % 8)))
    verdict = {"valid": not revoked, "revoked": revoked, "credential": claims["jti"], "subject": claims["vc"]["credentialSubject"]}
    print(json.dumps(verdict))
    return 0 if not revoked else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1], sys.argv[2]))
    except jwt.PyJWTError as error:
        print(json.dumps({"valid": False, "error": str(error)}))
        sys.exit(1)
