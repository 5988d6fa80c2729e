"""Demo tokens of our own eMSP's drivers (for `manage.py seed_demo`)."""

from __future__ import annotations

from apps.partners.models import Party

from . import selectors
from .models import TokenType, WhitelistType
from .services import token_block_own, token_issue_own

DEMO_DRIVERS = [
    # uid, type, contract id, visual number, whitelist
    ("TRECH0001", TokenType.RFID, "TR-ECH-C00001001", "ECH 0001 0001", WhitelistType.ALLOWED),
    ("TRECH0002", TokenType.RFID, "TR-ECH-C00001002", "ECH 0001 0002", WhitelistType.ALLOWED),
    ("TRECH0003", TokenType.RFID, "TR-ECH-C00001003", "ECH 0001 0003", WhitelistType.ALWAYS),
    ("TRECH-APP-0004", TokenType.APP_USER, "TR-ECH-C00001004", "", WhitelistType.ALLOWED),
]
# A driver reported this card lost: blocked right after it was issued, so the token's history
# and the audit trail show a block as staff would make one.
LOST_CARD = "TRECH0002"


def demo_tokens_seed(*, owner: Party) -> int:
    """Issue the demo drivers' tokens we do not have yet (existing ones, maybe edited, stay)."""
    issued = 0
    for uid, type, contract_id, visual_number, whitelist in DEMO_DRIVERS:
        if selectors.token_of_partner(owner=owner, uid=uid, type=type) is not None:
            continue
        token = token_issue_own(
            owner=owner,
            uid=uid,
            type=type,
            contract_id=contract_id,
            issuer="echargo Demo Operator",
            whitelist=whitelist,
            **({"visual_number": visual_number} if visual_number else {}),
        )
        if uid == LOST_CARD:
            token_block_own(token=token, reason="Demo: card reported lost by the driver")
        issued += 1
    return issued
