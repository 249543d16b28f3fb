"""A real SMTP server on loopback that records what it receives.

    python smtp_sink.py PORT RECORD_FILE [DELAY_SECONDS]

Each message is one JSON line in RECORD_FILE: envelope sender and
recipients, Message-ID, subject, the plain-text and HTML parts, and each
attachment (file name, media type, bytes in base64). With a
delay, a line {"receiving": Message-ID} is written when the message's data
has arrived and the answer is held back that long (to kill a sender
mid-delivery). Prints "smtp-sink: listening on PORT" when ready.
"""

import asyncio
import base64
import email
import email.policy
import json
import sys
import time

from aiosmtpd.controller import Controller

port, record_file = int(sys.argv[1]), sys.argv[2]
delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0


def append(line):
    with open(record_file, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")
        out.flush()


class Recorder:
    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        plain = message.get_body(("plain",))
        html = message.get_body(("html",))
        attachments = [
            {
                "filename": part.get_filename(),
                "content_type": part.get_content_type(),
                "base64": base64.b64encode(part.get_payload(decode=True)).decode("ascii"),
            }
            for part in message.iter_attachments()
        ]
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "message_id": message["Message-ID"],
            "subject": message["Subject"],
            "text": plain.get_content() if plain else None,
            "html": html.get_content() if html else None,
            "attachments": attachments,
            "received_at": time.time(),
        }
        if delay:
            append({"receiving": message["Message-ID"]})
            await asyncio.sleep(delay)
        append(record)
        return "250 Message accepted for delivery"


controller = Controller(Recorder(), hostname="127.0.0.1", port=port)
controller.start()
print(f"smtp-sink: listening on {port}", flush=True)
try:
    asyncio.get_event_loop().run_forever()
except KeyboardInterrupt:
    pass
finally:
    controller.stop()
