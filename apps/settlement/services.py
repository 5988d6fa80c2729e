"""Settlement writes: reconciling partners' CDRs into disputes, working disputes, building and
closing statements. Every step is recorded in history (who, why) and in the audit trail."""

from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import Decimal
from typing import Any, cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models.functions import Upper
from django.utils import timezone

from apps.audit.services import audit_event_record
from apps.cdrs.models import Cdr
from echargo.history import change_reason_set, system_user
from echargo.ocpi.routing import ci

from . import building
from .models import Dispute, DisputeReason, DisputeStatus, Statement, StatementStatus
from .reconciliation import CdrCheck, Finding, cdr_check, partner_figures

logger = logging.getLogger(__name__)
_REASON_MAX = 100  # simple-history's history_change_reason column


def _save_with_history(obj: Any, *, by: AbstractBaseUser | None, reason: str) -> None:
    obj._history_user = by or system_user()
    change_reason_set(obj, reason[:_REASON_MAX])
    obj.save()


# --- Reconciliation ----------------------------------------------------------------------


def _document(cdr: Cdr) -> dict[str, Any]:
    return json.loads(cdr.ocpi_json, parse_float=Decimal)


def _duplicate_of(cdr: Cdr, document: dict[str, Any]) -> Cdr | None:
    """Another live (not credited) CDR of the same CPO for the same session; without a
    session id, for the same token, start and end. Indexed (migration 0002)."""
    session_id = document.get("session_id")
    others = Cdr.objects.filter(owner_id=cdr.owner_id, credit=False)
    if isinstance(session_id, str) and session_id:
        others = others.annotate(session_key=Upper("session_id")).filter(session_key=ci(session_id))
    else:
        others = others.filter(
            start_date_time=cdr.start_date_time,
            end_date_time=cdr.end_date_time,
            token_uid__iexact=cdr.token_uid,
        )
    for other in others.exclude(pk=cdr.pk).only("pk", "cdr_id"):
        credited = (
            Cdr.objects.filter(owner_id=cdr.owner_id, credit=True)
            .annotate(reference=Upper("credit_reference_id"))
            .filter(reference=ci(other.cdr_id))
            .exists()
        )
        if not credited:
            return other
    return None


def cdr_reconcile(*, cdr: Cdr) -> Dispute | None:
    """Check a partner's CDR and open a dispute on what does not hold; None when it is clean.

    Credit CDRs are not priced: they must credit a CDR we hold, and they settle its dispute.
    """
    existing = Dispute.objects.filter(cdr=cdr).first()
    if existing is not None:
        return existing  # checked before: its dispute is being worked already
    document = _document(cdr)
    if cdr.credit:
        return _reconcile_credit(cdr, document)
    check = cdr_check(
        document=document,
        owner_id=cdr.owner_id,
        session=cdr.charging_session if cdr.charging_session_id else None,
    )
    duplicate = _duplicate_of(cdr, document)
    if duplicate is not None:
        check.findings.insert(
            0,
            Finding(
                DisputeReason.DUPLICATE,
                f"session {document.get('session_id') or '(no id, same token and times)'} was "
                f"billed already by CDR {duplicate.cdr_id}",
            ),
        )
    if not check.findings:
        return None
    return _dispute_open(cdr=cdr, check=check, by=None)


def _reconcile_credit(cdr: Cdr, document: dict[str, Any]) -> Dispute | None:
    reference = cdr.credit_reference_id or ""
    original = (
        Cdr.objects.filter(
            country_code=cdr.country_code,
            party_id=cdr.party_id,
            cdr_key=ci(reference),
            credit=False,
        )
        .select_related("dispute")
        .first()
        if reference
        else None
    )
    if original is None:
        check = CdrCheck(currency=cdr.currency, partner=partner_figures(document))
        check.add(
            DisputeReason.UNKNOWN_CREDIT_REFERENCE,
            f"credits CDR {reference or '(none named)'}, which we never received",
        )
        return _dispute_open(cdr=cdr, check=check, by=None)
    dispute = getattr(original, "dispute", None)
    if dispute is not None and dispute.status in (DisputeStatus.OPEN, DisputeStatus.REJECTED):
        dispute_credit(
            dispute=dispute,
            credit_cdr=cdr,
            by=None,
            reason=f"the partner sent credit CDR {cdr.cdr_id}",
        )
    return None


def _dispute_open(*, cdr: Cdr, check: CdrCheck, by: AbstractBaseUser | None) -> Dispute:
    partner_excl, partner_incl = check.partner.get("total", (None, None))
    our_excl, our_incl = check.ours.get("total", (None, None))
    dispute = Dispute(
        cdr=cdr,
        reason=check.findings[0].code,
        findings=[{"code": f.code, "message": f.message} for f in check.findings],
        currency=check.currency or cdr.currency,
        partner_total_excl_vat=partner_excl,
        partner_total_incl_vat=partner_incl,
        our_total_excl_vat=our_excl,
        our_total_incl_vat=our_incl,
        lines=check.lines(),
        tariff_source=check.tariff_source[:255],
        our_breakdown=check.breakdown,
    )
    reason = "; ".join(f.message for f in check.findings)
    _save_with_history(dispute, by=by, reason=reason)
    audit_event_record(
        verb="dispute.opened",
        message=f"Dispute on CDR {cdr.cdr_id}: {reason}"[:1000],
        connection_id=cdr.received_from_id,
        object_type="cdr",
        object_key=f"{cdr.country_code}/{cdr.party_id}/{cdr.cdr_id}",
        data={"dispute": dispute.pk, "reason": dispute.reason},
    )
    return dispute


def cdrs_reconcile_period(*, period_start: dt.date) -> tuple[int, int]:
    """Check again the partners' CDRs of a month that have no dispute (CDRs received before
    settlement was installed, or after a tolerance changed); (checked, disputes opened)."""
    from .building import period_end_instant

    start = dt.datetime.combine(period_start, dt.time(), tzinfo=dt.UTC)
    cdrs = (
        Cdr.objects.filter(
            owner__is_own=False,
            end_date_time__gte=start,
            end_date_time__lt=period_end_instant(period_start),
            dispute__isnull=True,
        )
        .order_by("pk")
        .iterator(chunk_size=500)
    )
    checked = opened = 0
    for cdr in cdrs:
        checked += 1
        with transaction.atomic():
            opened += cdr_reconcile(cdr=cdr) is not None
    return checked, opened


def cdr_reconcile_on_receipt(sender: Any, *, cdr: Cdr, **kwargs: Any) -> None:
    """`cdr_received` listener: reconcile in a savepoint, so a failure here (logged) never
    refuses the partner's CDR; staff can reconcile it again from the admin."""
    try:
        with transaction.atomic():
            cdr_reconcile(cdr=cdr)
    except Exception:
        logger.exception("Reconciliation of CDR %s failed", cdr.pk)


def dispute_open_by_staff(*, cdr: Cdr, by: AbstractBaseUser, reason: str) -> Dispute:
    """Staff hold a CDR out of settlement (a partner complained about one of ours, say)."""
    if not reason.strip():
        raise ValidationError("Say why the dispute is opened.")
    if Dispute.objects.filter(cdr=cdr).exists():
        raise ValidationError(f"CDR {cdr.cdr_id} has a dispute already.")
    check = CdrCheck(currency=cdr.currency, partner=partner_figures(_document(cdr)))
    check.add(DisputeReason.STAFF, reason.strip())
    return _dispute_open(cdr=cdr, check=check, by=by)


# --- Dispute workflow ----------------------------------------------------------------------

_NEXT: dict[str, tuple[str, ...]] = {
    DisputeStatus.ACCEPTED: (DisputeStatus.OPEN,),
    DisputeStatus.REJECTED: (DisputeStatus.OPEN,),
    DisputeStatus.CREDITED: (DisputeStatus.OPEN, DisputeStatus.REJECTED),
    DisputeStatus.OPEN: (DisputeStatus.ACCEPTED, DisputeStatus.REJECTED),
}


@transaction.atomic
def _dispute_move(
    *,
    dispute: Dispute,
    status: str,
    by: AbstractBaseUser | None,
    reason: str,
    credit_cdr: Cdr | None = None,
) -> Dispute:
    reason = reason.strip()
    if not reason:
        raise ValidationError("Say why (the reason is kept in the dispute's history).")
    dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
    if dispute.status not in _NEXT[status]:
        raise ValidationError(
            f"A dispute that is {dispute.get_status_display().lower()} cannot become {status}."
        )
    dispute.status = status
    dispute.note = reason
    dispute.credit_cdr = credit_cdr or dispute.credit_cdr
    reopened = status == DisputeStatus.OPEN
    dispute.resolved_at = None if reopened else timezone.now()
    # A staff user, or nobody for the system (partner credit CDRs, jobs).
    dispute.resolved_by = cast(Any, by) if by is not None and by.is_authenticated else None
    _save_with_history(dispute, by=by, reason=f"{status}: {reason}")
    audit_event_record(
        verb=f"dispute.{status}",
        message=f"Dispute {dispute.pk} on CDR {dispute.cdr.cdr_id} {status}: {reason}"[:1000],
        connection_id=dispute.cdr.received_from_id,
        object_type="cdr",
        object_key=f"{dispute.cdr.country_code}/{dispute.cdr.party_id}/{dispute.cdr.cdr_id}",
        data={"dispute": dispute.pk},
    )
    return dispute


def dispute_accept(*, dispute: Dispute, by: AbstractBaseUser | None, reason: str) -> Dispute:
    """The CDR stands as the partner sent it: it is settled in the next draft statement."""
    return _dispute_move(dispute=dispute, status=DisputeStatus.ACCEPTED, by=by, reason=reason)


def dispute_reject(*, dispute: Dispute, by: AbstractBaseUser | None, reason: str) -> Dispute:
    """We do not pay the CDR as sent: it stays held out until the partner credits it."""
    return _dispute_move(dispute=dispute, status=DisputeStatus.REJECTED, by=by, reason=reason)


def dispute_reopen(*, dispute: Dispute, by: AbstractBaseUser | None, reason: str) -> Dispute:
    """Back to open (an accepted or rejected dispute looked at again)."""
    return _dispute_move(dispute=dispute, status=DisputeStatus.OPEN, by=by, reason=reason)


def dispute_credit(
    *, dispute: Dispute, credit_cdr: Cdr | None, by: AbstractBaseUser | None, reason: str
) -> Dispute:
    """The partner credited the CDR: original and credit both settle and net to zero."""
    if credit_cdr is not None and (
        not credit_cdr.credit
        or credit_cdr.owner_id != dispute.cdr.owner_id
        or ci(credit_cdr.credit_reference_id or "") != ci(dispute.cdr.cdr_id)
    ):
        raise ValidationError(f"CDR {credit_cdr.cdr_id} does not credit {dispute.cdr.cdr_id}.")
    return _dispute_move(
        dispute=dispute, status=DisputeStatus.CREDITED, by=by, reason=reason, credit_cdr=credit_cdr
    )


# --- Statements ----------------------------------------------------------------------------


def statements_build(
    *,
    period_start: dt.date,
    counterparty: tuple[str, str] | None = None,
    by: AbstractBaseUser | None = None,
) -> list[Statement]:
    """Build (or rebuild, idempotently) the draft statements of a period, both directions.

    Approved and closed statements are never touched; the CDRs they did not cover wait for the
    next period's. The counting and summing is done by the database (building.py).
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # One builder at a time: two would race for the same CDRs.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x5E771E])
        statements = building.build_period(period_start=period_start, counterparty=counterparty)
        for statement in statements:
            _save_with_history(statement, by=by, reason=f"built: {statement.cdr_count} CDRs")
        if statements:
            audit_event_record(
                verb="statements.built",
                message=f"{len(statements)} draft statements built for {period_start:%Y-%m}",
                object_type="statement",
                object_key=f"{period_start:%Y-%m}",
                data={"statements": [s.pk for s in statements]},
            )
    return statements


@transaction.atomic
def _statement_move(
    *, statement: Statement, status: str, by: AbstractBaseUser | None, reason: str
) -> Statement:
    statement = Statement.objects.select_for_update().get(pk=statement.pk)
    before: dict[str, str] = {
        StatementStatus.APPROVED: StatementStatus.DRAFT,
        StatementStatus.CLOSED: StatementStatus.APPROVED,
    }
    if statement.status != before[status]:
        raise ValidationError(
            f"Statement {statement} is {statement.status}; only a {before[status]} one can be "
            f"{status}."
        )
    statement.status = status
    setattr(statement, f"{status}_at", timezone.now())
    _save_with_history(statement, by=by, reason=f"{status}: {reason}" if reason else status)
    audit_event_record(
        verb=f"statement.{status}",
        message=f"Statement {statement} {status}",
        connection_id=statement.connection_id,
        object_type="statement",
        object_key=str(statement.pk),
    )
    return statement


def statement_approve(
    *, statement: Statement, by: AbstractBaseUser | None, reason: str = ""
) -> Statement:
    """draft -> approved: its CDRs are final; rebuilding no longer touches it."""
    return _statement_move(
        statement=statement, status=StatementStatus.APPROVED, by=by, reason=reason
    )


def statement_close(
    *, statement: Statement, by: AbstractBaseUser | None, reason: str = ""
) -> Statement:
    """approved -> closed: settled between the operators; it never changes again."""
    return _statement_move(statement=statement, status=StatementStatus.CLOSED, by=by, reason=reason)
