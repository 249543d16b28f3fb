"""A webhook receiver on loopback that checks each delivery with the
Standard Webhooks reference verifier (the `standardwebhooks` package) and
records what it got.

    python webhook_receiver.py SECRET RECORD_FILE

Each request is one JSON line: the path, whether the signature verified
(or why not), the webhook-id, and the body. Answers 204 when verified (or
for paths under /chat/, which carry unsigned Slack or Teams messages), 400
when not. Prints "webhook-receiver: listening on PORT" when ready.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

secret, record_file = sys.argv[1], sys.argv[2]
verifier = Webhook(secret)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        record = {"path": self.path, "id": headers.get("webhook-id"), "body": json.loads(body)}
        if self.path.startswith("/chat/"):
            record["ok"] = True
        else:
            try:
                verifier.verify(body, headers)
                record["ok"] = True
            except Exception as err:  # the verifier's reason, recorded
                record["ok"] = False
                record["error"] = f"{type(err).__name__}: {err}"
        with open(record_file, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        self.send_response(204 if record["ok"] else 400)
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
print(f"webhook-receiver: listening on {server.server_address[1]}", flush=True)
server.serve_forever()
