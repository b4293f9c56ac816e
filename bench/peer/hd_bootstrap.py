"""Create the benchmark fixtures: superuser, staff user, one queue, KB category + items.

Run with the peer venv's python; finds the project via $PEER_DIR (default
~/peers/django-helpdesk). Idempotent.
"""

import os
import sys

# The Django project lives next to this script (bench/peer/project); PEER_DIR (data, static
# files) is set by bench/peer.py.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "project"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdproject.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.sites.models import Site  # noqa: E402
from django.utils import timezone  # noqa: E402
from helpdesk.models import KBCategory, KBItem, Queue  # noqa: E402

User = get_user_model()
ADMIN_PW = os.environ.get("HD_ADMIN_PASSWORD", "admin-pass-bench")
STAFF_PW = os.environ.get("HD_STAFF_PASSWORD", "staff-pass-bench")
N_KB = int(os.environ.get("HD_KB_ITEMS", "200"))

if not User.objects.filter(username="admin").exists():
    User.objects.create_superuser("admin", "admin@example.invalid", ADMIN_PW)
if not User.objects.filter(username="staff").exists():
    User.objects.create_user("staff", "staff@example.invalid", STAFF_PW, is_staff=True)

Site.objects.update_or_create(
    id=1, defaults={"domain": f"127.0.0.1:{os.environ.get('HD_PORT', '8765')}", "name": "peer"}
)

queue, _ = Queue.objects.get_or_create(
    slug="support",
    defaults=dict(
        title="Support",
        allow_public_submission=True,
        escalate_days=1,  # escalate_tickets bumps priority of tickets idle > 1 day
    ),
)

cat, _ = KBCategory.objects.get_or_create(
    slug="general",
    defaults=dict(name="General", title="General questions", description="Common questions", queue=queue),
)
have = cat.kbitem_set.count()
words = [
    "password",
    "reset",
    "login",
    "email",
    "printer",
    "vpn",
    "invoice",
    "refund",
    "account",
    "network",
    "laptop",
    "license",
    "backup",
    "calendar",
    "phone",
]
KBItem.objects.bulk_create(
    [
        KBItem(
            category=cat,
            title=f"How to fix {words[i % len(words)]} issue #{i}",
            question=f"My {words[i % len(words)]} does not work ({i}). What can I do?",
            answer=f"Try turning the **{words[(i * 7) % len(words)]}** off and on again. Step {i}.",
            order=i,
            last_updated=timezone.now(),
        )
        for i in range(have, N_KB)
    ]
)
print(f"users={User.objects.count()} queue={queue.slug}(id={queue.id}) kb_items={cat.kbitem_set.count()}")
