"""Payment events received from Stripe, kept so each is applied once.

Stripe delivers an event at least once and retries it until it is acknowledged: the
event's id is stored when it is applied, in the same unit of work, so a second
delivery changes nothing.
"""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow


class PaymentEvent(db.Model):
    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    # The PaymentIntent (or other object) the event is about.
    object_id: Mapped[str | None] = mapped_column(String(255), index=True)
    # What applying it did (``applied``, ``ignored``), for whoever reads the table.
    outcome: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self):
        return f"<PaymentEvent {self.event_id} {self.event_type} {self.outcome}>"
