"""What the CDRs app tells the floors above it (settlement may import cdrs; cdrs never imports
settlement).

`cdr_received(sender=Cdr, cdr=...)` is sent inside the transaction that stored a NEW partner
CDR on our eMSP side (a POST or a pull), never for a duplicate re-send. Reconciliation hooks
onto it; a receiver that can fail for its own reasons must catch them in its own savepoint,
or the CDR is not stored and the partner is answered with an error.

`cdr_created(sender=Cdr, cdr=...)` is sent inside the transaction that created one of ours
(we are the CPO): from a completed session, or a credit / replacement CDR staff issued.
"""

from django.dispatch import Signal

cdr_received = Signal()
cdr_created = Signal()
