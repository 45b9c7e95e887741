"""Push in: RentEngine's webhook deliveries, stored as they come, then applied to the mirror.

`receive.py` is the view (check the key, store the raw delivery, answer), `writers.py` where its
writes run under ASGI, `fast_path.py` the ASGI route that skips the dashboard's middleware,
`tasks.py` the Celery tasks and the "apply requested" flag, `apply.py` how a stored delivery becomes
mirror rows, `health.py` what /sync/ shows.
"""

from integrations.rentengine.webhooks.apply import ApplyReport, deliveries_apply_pending, deliveries_for_replay, deliveries_replay
from integrations.rentengine.webhooks.fast_path import webhook_fast_path
from integrations.rentengine.webhooks.health import deliveries_prune, webhook_health
from integrations.rentengine.webhooks.receive import (
    Delivery,
    DeliveryRefused,
    delivery_parse,
    delivery_store,
    webhook_key_refusal,
    webhook_receive,
    webhook_refusal_record,
)
from integrations.rentengine.webhooks.tasks import apply_request_flag_is_set, webhooks_apply, webhooks_sweep
from integrations.rentengine.webhooks.writers import writers_stop

__all__ = [
    "ApplyReport",
    "Delivery",
    "DeliveryRefused",
    "apply_request_flag_is_set",
    "deliveries_apply_pending",
    "deliveries_for_replay",
    "deliveries_prune",
    "deliveries_replay",
    "delivery_parse",
    "delivery_store",
    "webhook_fast_path",
    "webhook_health",
    "webhook_key_refusal",
    "webhook_receive",
    "webhook_refusal_record",
    "webhooks_apply",
    "webhooks_sweep",
    "writers_stop",
]
