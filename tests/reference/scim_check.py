"""Runs scim2-tester's checks against a SCIM server and prints each result
as one JSON line (status, title, resource type, reason).

Usage: scim_check.py BASE_URL TOKEN

Exit 0 once every check ran, whatever their outcome: the Rust test reads
the lines and decides what must pass. Exit 2 when the checks cannot run.
"""

import json
import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    base, token = sys.argv[1], sys.argv[2]
    http = httpx2.Client(
        base_url=base,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    client = SyncSCIMClient(http)
    results = check_server(client, raise_exceptions=False)
    for result in results:
        print(
            json.dumps(
                {
                    "status": result.status.name,
                    "title": result.title,
                    "resource_type": result.resource_type,
                    "reason": str(result.reason)[:600] if result.reason else None,
                    "tags": sorted(result.tags or []),
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
