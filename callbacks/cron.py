"""`rq cron` configuration: the reconciler runs every minute, whatever Redis forgot.

Production runs `python -m core.supervise -- rq cron callbacks/cron.py --url "$REDIS_URL"`
beside the workers. The cron process holds the schedule itself, so a Redis restart or flush
cannot lose it; `rq cron` exits when Redis goes away, and the supervisor starts it again
(with back-off) until Redis answers. It is the only schedule of the reconciler on RQ (the
self-rescheduling chain is for the in-process queue). Like any `rq cron` config file it
reads its settings when loaded.
"""

from __future__ import annotations

from rq import cron

from callbacks.privacy import enforce_retention_job
from callbacks.reconcile import reconcile
from core.config import load_settings

_settings = load_settings()
if _settings["CALLBACKS_RECONCILE_SECONDS"] > 0:
    cron.register(reconcile, f"{_settings['RQ_QUEUE_PREFIX']}-default",
                  interval=_settings["CALLBACKS_RECONCILE_SECONDS"],
                  name="callbacks-reconcile", job_timeout=300)
# The retention periods (callbacks.privacy), applied once a day at 03:15 server time.
cron.register(enforce_retention_job, f"{_settings['RQ_QUEUE_PREFIX']}-default",
              cron="15 3 * * *", name="callbacks-retention", job_timeout=1800)
