"""What the tokens app tells other apps without knowing them (they connect in their AppConfig)."""

from __future__ import annotations

from django.dispatch import Signal

# A partner's driver token was stored: a receiver PUT or PATCH, a pull, or a full pull making it
# invalid. Sent inside the transaction that stored it, with `token` (as saved) and `before` (an
# unsaved copy of the row as it was, or None when the token is new). Not sent for our own
# drivers' tokens, nor when an older version was ignored.
partner_token_stored = Signal()
