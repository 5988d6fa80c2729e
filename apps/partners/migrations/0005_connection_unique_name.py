"""Connection names become unique (ignoring case): commands name a connection by it.

Existing duplicates keep their oldest holder's name; the others get " (#<id>)" appended.
"""

from django.db import migrations, models
from django.db.models.functions import Lower

MAX_LENGTH = 100


def suffix_duplicate_names(apps, schema_editor):
    PartnerConnection = apps.get_model("partners", "PartnerConnection")
    taken = set()
    for connection in PartnerConnection.objects.order_by("pk"):
        name = connection.name
        if name.lower() in taken:
            suffix = f" (#{connection.pk})"
            name = connection.name[: MAX_LENGTH - len(suffix)] + suffix
            n = 1
            while name.lower() in taken:
                extra = f" (#{connection.pk}-{n})"
                name = connection.name[: MAX_LENGTH - len(extra)] + extra
                n += 1
            PartnerConnection.objects.filter(pk=connection.pk).update(name=name)
        taken.add(name.lower())


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0004_outbox_routing"),
    ]

    operations = [
        migrations.RunPython(suffix_duplicate_names, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="historicalpartnerconnection",
            name="name",
            field=models.CharField(
                help_text="Unique (ignoring case): commands name a connection by it.",
                max_length=100,
            ),
        ),
        migrations.AlterField(
            model_name="partnerconnection",
            name="name",
            field=models.CharField(
                help_text="Unique (ignoring case): commands name a connection by it.",
                max_length=100,
            ),
        ),
        migrations.AddConstraint(
            model_name="partnerconnection",
            constraint=models.UniqueConstraint(
                Lower("name"),
                name="partner_connection_unique_name",
                violation_error_message="A connection with this name exists already "
                "(names are compared ignoring case).",
            ),
        ),
    ]
