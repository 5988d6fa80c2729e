"""What the sessions app tells the floors above it (they may import sessions; sessions never
imports them, DESIGN.md "Who may import whom").

`session_completed(sender=Session, session=...)` is sent once per session, inside the
transaction that stopped it, when it became COMPLETED (not INVALID, not a repeated stop). The
CDRs app turns it into a CDR and its delivery in that same transaction, so a session is never
completed without its CDR (or a flag saying why none could be made). A receiver that can fail
for its own reasons must catch them in its own savepoint: an exception here would roll back the
charger's stop.
"""

from django.dispatch import Signal

session_completed = Signal()
