"""Imports every domain's tables so that Base.metadata is complete (Alembic, tests)."""

from tierdesk.accounts import models as accounts_models
from tierdesk.core.db import Base
from tierdesk.csat import models as csat_models
from tierdesk.customers import models as customers_models
from tierdesk.engineering import models as engineering_models
from tierdesk.kb import models as kb_models
from tierdesk.notifications import models as notifications_models
from tierdesk.routing import models as routing_models
from tierdesk.search import models as search_models
from tierdesk.sla import models as sla_models
from tierdesk.swarms import models as swarms_models
from tierdesk.tickets import models as tickets_models
from tierdesk.tiers import models as tiers_models
from tierdesk.vendors import models as vendors_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "csat_models",
    "customers_models",
    "engineering_models",
    "kb_models",
    "metadata",
    "notifications_models",
    "routing_models",
    "search_models",
    "sla_models",
    "swarms_models",
    "tickets_models",
    "tiers_models",
    "vendors_models",
]
