"""What the chargers app tells the floors above it (the OCPI commands app may import chargers;
chargers never imports it, DESIGN.md "Who may import whom").

`charger_command_finished(sender=ChargerCommand, command=...)` is sent once per command, after
the transaction that gave it its final state commits: queued for a charger that is offline,
answered (or not) by the charger, or expired by the sweep. Receivers run outside that
transaction and errors they raise are logged, never passed on: the ocpp_server's command worker
must go on sending.

`remote_start_claimed(sender=Charger, charger=..., id_tag=...)` is sent when a tag starts or
is authorized at a charger, before the tag is decided as a tap. A receiver that started this
tag remotely (an OCPI START_SESSION) answers `(cdr_token, authorization_reference)`: the
session then carries the remote start's token and reference, with auth_method COMMAND. Any
other receiver answers None.
"""

from django.dispatch import Signal

charger_command_finished = Signal()
remote_start_claimed = Signal()
