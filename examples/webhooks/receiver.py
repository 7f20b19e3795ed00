"""A Learning Passport webhook receiver, checking signatures with the Standard Webhooks library
(`pip install standardwebhooks`).

Serve (POST /hook on the given port):
    WEBHOOK_SECRET=whsec_... python3 receiver.py serve 8000

Check one captured request (JSON on stdin: {"headers": {...}, "body": "..."}); prints the event
as JSON, or exits 1 saying why it was refused:
    python3 receiver.py check whsec_... < request.json
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def verify(secret, headers, body):
    """The event, if the request is signed with the secret (or raises)."""
    # The library checks the signature against every `v1,` entry (two during a secret rotation)
    # and refuses timestamps more than five minutes away.
    return Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})


def serve(port):
    secret = os.environ["WEBHOOK_SECRET"]
    seen = set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            try:
                event = verify(secret, dict(self.headers), body)
            except WebhookVerificationError as error:
                self.send_response(400)
                self.end_headers()
                self.wfile.write(str(error).encode())
                return
            # Delivery is at least once: the same webhook-id may come again.
            message_id = self.headers["webhook-id"]
            if message_id in seen:
                print("duplicate", message_id, flush=True)
            else:
                seen.add(message_id)
                print(event["type"], json.dumps(event["data"]), flush=True)
            self.send_response(204)
            self.end_headers()

    HTTPServer(("127.0.0.1", port), Handler).serve_forever()


def check(secret):
    request = json.load(sys.stdin)
    try:
        event = verify(secret, request["headers"], request["body"].encode())
    except WebhookVerificationError as error:
        print(f"refused: {error}")
        sys.exit(1)
    print(json.dumps(event))


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(int(sys.argv[2]))
    elif sys.argv[1:2] == ["check"]:
        check(sys.argv[2])
    else:
        sys.exit(__doc__)
