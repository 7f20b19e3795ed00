#!/usr/bin/env python3
"""Validate Open Badges 3.0 credentials from a Learning Passport against 1EdTech's official
AchievementCredential JSON schema (draft 2019-09), with format assertions on.

The schema is published at
https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json;
the source distribution of openbadgeslib on PyPI carries a verbatim copy
(tests/fixtures/ob_schemas/), which this script fetches once with pip into a cache folder, so
that it runs where only package registries can be reached. Give another copy with OB3_SCHEMA=FILE.

A badge's JWT payload is validated whole; a CLR's every embedded badge (the CLR 2.0 schema
itself is in no package).

    pip install jsonschema
    python3 validate_schema.py JWT [JWT ...]

Prints {"valid": ..., "validated": N, "errors": [...]}; exits 1 when any is invalid.
"""

import base64
import json
import os
import pathlib
import subprocess
import sys
import tarfile
import tempfile

from jsonschema import Draft201909Validator

PACKAGE = "openbadgeslib==4.6.3"
MEMBER = "tests/fixtures/ob_schemas/ob_v3p0_achievementcredential_schema.json"


def schema_file():
    if os.environ.get("OB3_SCHEMA"):
        return pathlib.Path(os.environ["OB3_SCHEMA"])
    cache = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache"))
    target = cache / "learning-passport" / "ob_v3p0_achievementcredential_schema.json"
    if target.exists():
        return target
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
             "--dest", folder, PACKAGE],
            check=True, stdout=subprocess.DEVNULL,
        )
        (archive,) = pathlib.Path(folder).glob("*.tar.gz")
        with tarfile.open(archive) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith(MEMBER))
            data = tar.extractfile(member).read()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(target)
    return target


def payload(jwt):
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def main(tokens):
    schema = json.loads(schema_file().read_text())
    validator = Draft201909Validator(schema, format_checker=Draft201909Validator.FORMAT_CHECKER)
    errors, validated = [], 0
    for token in tokens:
        credential = payload(token)
        if "ClrCredential" in credential.get("type", []):
            badges = credential["credentialSubject"]["verifiableCredential"]
        else:
            badges = [credential]
        for badge in badges:
            validated += 1
            for error in validator.iter_errors(badge):
                where = "/".join(map(str, error.absolute_path)) or "<root>"
                errors.append(f"{badge.get('id')}: {where}: {error.message}")
    print(json.dumps({"valid": not errors, "validated": validated, "errors": errors}))
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
