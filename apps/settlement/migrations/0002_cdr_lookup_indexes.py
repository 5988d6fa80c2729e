"""Indexes on the CDRs table for reconciliation's lookups, which run inside every CDR POST.

Reconciliation asks, per received CDR: which other live CDR of this CPO bills the same session
(or the same token and start, without a session id), and which credit CDR credits a given id.
Without these, each is a scan of the CPO's CDRs (240 ms at a million CDRs). They live here,
beside the queries that need them, because the cdrs app does not run those queries; plain SQL,
since they index the cdrs app's table (its model state is unchanged).
"""

from django.db import migrations

INDEXES = {
    "settlement_cdr_session": "(owner_id, UPPER(session_id))",
    "settlement_cdr_start": "(owner_id, start_date_time)",
    "settlement_cdr_credits": "(owner_id, UPPER(credit_reference_id)) WHERE credit",
}


class Migration(migrations.Migration):
    dependencies = [("settlement", "0001_initial"), ("cdrs", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {name} ON cdrs_cdr {columns}",
            reverse_sql=f"DROP INDEX IF EXISTS {name}",
        )
        for name, columns in INDEXES.items()
    ]
