"""Checks a Gavel attestation with the reference implementations: the DSSE
envelope with securesystemslib (an Ed25519 key, matched by keyid) and the
in-toto Statement v1 with in-toto-attestation's own validation.

usage: verify_attestation.py ENVELOPE.json KEY.json [PREDICATE_TYPE]
Prints the statement's predicateType and its subjects' digests; exits 1
with the reason when either check fails.
"""

import json
import sys

from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as file:
        envelope = Envelope.from_dict(json.load(file))
    with open(sys.argv[2], encoding="utf-8") as file:
        document = json.load(file)
    key = SSlibKey.from_dict(
        document["keyid"],
        {name: document[name] for name in ("keytype", "scheme", "keyval")},
    )
    try:
        envelope.verify([key], 1)
    except Exception as err:  # securesystemslib's VerificationError and kin
        print(f"DSSE: {err}")
        return 1
    if envelope.payload_type != "application/vnd.in-toto+json":
        print(f"payloadType: {envelope.payload_type}")
        return 1
    proto = json_format.Parse(envelope.payload, statement_pb2.Statement())
    statement = Statement.copy_from_pb(proto)
    try:
        statement.validate()
    except ValueError as err:
        print(f"in-toto: {err}")
        return 1
    if len(sys.argv) > 3 and proto.predicate_type != sys.argv[3]:
        print(f"predicateType: {proto.predicate_type}")
        return 1
    print(proto.predicate_type)
    for subject in proto.subject:
        print(subject.name, subject.digest["sha256"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
