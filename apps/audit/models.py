"""The audit trail: every OCPI exchange, and the business events behind them."""

from __future__ import annotations

from django.db import models


class OcpiExchange(models.Model):
    """One OCPI request and its answer, in or out. Tokens are masked, large bodies cut."""

    class Direction(models.TextChoices):
        INBOUND = "in", "Inbound (partner -> us)"
        OUTBOUND = "out", "Outbound (us -> partner)"

    created_at = models.DateTimeField(db_index=True)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    connection = models.ForeignKey(
        "partners.PartnerConnection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="exchanges",
        db_index=False,  # exchange_conn_time leads with it
    )
    module = models.CharField(max_length=32, blank=True)
    method = models.CharField(max_length=8)
    url = models.TextField()
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    ocpi_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.FloatField()
    request_id = models.CharField(max_length=100)
    correlation_id = models.CharField(max_length=100)
    request_body = models.TextField(blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        # A row is written on every partner call, so every index costs on the busiest path:
        # only what staff look up (by time, by partner, by exact message id). Plain indexes for
        # the ids: db_index=True would add a LIKE-pattern index nobody searches with.
        indexes = [
            models.Index(fields=["connection", "-created_at"], name="exchange_conn_time"),
            models.Index(fields=["request_id"], name="exchange_request_id"),
            models.Index(fields=["correlation_id"], name="exchange_correlation_id"),
        ]

    def __str__(self) -> str:
        answer = "no answer" if self.http_status is None else f"HTTP {self.http_status}"
        return f"{self.method} {self.url} ({self.direction}): {answer}"

    @property
    def succeeded(self) -> bool:
        return (
            self.http_status is not None
            and self.http_status < 400
            and self.ocpi_status_code is not None
            and 1000 <= self.ocpi_status_code < 2000
        )


class AuditEvent(models.Model):
    """A business event an auditor asks about: who shared what with whom, and why."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    verb = models.CharField(max_length=64, db_index=True)
    connection = models.ForeignKey(
        "partners.PartnerConnection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
    )
    object_type = models.CharField(max_length=64, blank=True)
    object_key = models.CharField(max_length=100, blank=True)
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.verb}: {self.message}"
