"""Push out: bulk assignments as an outbox of "Assign to User" posts, each sent exactly once.

`send.py` claims a due row and posts it, `reconcile.py` settles rows whose outcome is unknown,
`decisions.py` is what people decide about rows, `drain.py` the loop a worker runs, `tasks.py` the
Celery tasks that run it.
"""

from integrations.rentengine.outbox.decisions import row_mark_sent, row_resend, rows_fail_queued, rows_prune, rows_retry_failed
from integrations.rentengine.outbox.drain import DrainReport, next_due_in, outbox_drain
from integrations.rentengine.outbox.reconcile import reference_in, row_reconcile, rows_sweep
from integrations.rentengine.outbox.send import row_claim, row_send, rows_create
from integrations.rentengine.outbox.tasks import drain_on_commit, drain_soon

__all__ = [
    "DrainReport",
    "drain_on_commit",
    "drain_soon",
    "next_due_in",
    "outbox_drain",
    "reference_in",
    "row_claim",
    "row_mark_sent",
    "row_reconcile",
    "row_resend",
    "row_send",
    "rows_create",
    "rows_fail_queued",
    "rows_prune",
    "rows_retry_failed",
    "rows_sweep",
]
