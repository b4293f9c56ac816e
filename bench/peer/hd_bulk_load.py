"""Top the peer's DB up to --target tickets, fast, through the ORM (bulk_create).

Each bulk ticket: queue 'support', status Open, not on hold, priority 2..5
(so every one is an escalation candidate; priority 1 is never escalated),
created 2..60 days ago, a submitter e-mail, ~300 chars of description, and
one public "Ticket Opened" FollowUp (what a real creation also leaves behind).

Usage: PEER_DIR=... venv/bin/python bulk_load.py --target 100000
"""

import argparse
import os
import random
import sys
import time
from datetime import timedelta

# The Django project lives next to this script (bench/peer/project); PEER_DIR (data, static
# files) is set by bench/peer.py.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "project"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdproject.settings")

import django

django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from helpdesk.models import FollowUp, Queue, Ticket  # noqa: E402

WORDS = [
    "printer",
    "vpn",
    "password",
    "email",
    "invoice",
    "laptop",
    "login",
    "refund",
    "network",
    "outlook",
    "license",
    "backup",
    "calendar",
    "phone",
    "monitor",
    "keyboard",
    "wifi",
    "access",
    "account",
    "server",
    "slow",
    "broken",
    "error",
    "crash",
    "update",
    "install",
    "missing",
    "locked",
    "reset",
    "sync",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", type=int, required=True)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    if args.target > 1_000_000:
        raise SystemExit("target capped at 1,000,000")

    rnd = random.Random(args.seed)
    queue = Queue.objects.get(slug="support")
    have = Ticket.objects.count()
    need = max(0, args.target - have)
    # auto_now_add/auto_now would overwrite the back-dated timestamps.
    Ticket._meta.get_field("created").auto_now_add = False
    Ticket._meta.get_field("modified").auto_now = False
    now = timezone.now()
    t0 = time.perf_counter()
    done = 0
    while done < need:
        n = min(args.batch, need - done)
        tickets = []
        for i in range(n):
            k = have + done + i
            created = now - timedelta(days=2 + rnd.random() * 58)
            w = rnd.sample(WORDS, 6)
            tickets.append(
                Ticket(
                    title=f"{w[0]} {w[1]} {w[2]} #{k}",
                    queue=queue,
                    created=created,
                    modified=created,
                    submitter_email=f"user{k % 20000}@example.invalid",
                    status=Ticket.OPEN_STATUS,
                    on_hold=False,
                    priority=rnd.randint(2, 5),
                    description=(" ".join(rnd.choice(WORDS) for _ in range(45)))[:300],
                )
            )
        with transaction.atomic():
            Ticket.objects.bulk_create(tickets, batch_size=1000)
            FollowUp.objects.bulk_create(
                [
                    FollowUp(
                        ticket=t, title="Ticket Opened", date=t.created, public=True, comment=t.description
                    )
                    for t in tickets
                ],
                batch_size=1000,
            )
        done += n
    dt = time.perf_counter() - t0
    print(
        f"tickets: had {have}, added {need} in {dt:.1f}s, now {Ticket.objects.count()}; "
        f"followups {FollowUp.objects.count()}"
    )


if __name__ == "__main__":
    main()
