"""gunicorn reads this file when started from the project folder (``gunicorn wsgi:app``).

- It refuses to start several worker processes while rate limits are counted in each
  process's memory (``RATELIMIT_STORAGE_URI=memory://``, the default): each worker would
  allow the full limit. Set ``RATELIMIT_STORAGE_URI=redis://...`` or run one worker with
  threads (what ``make run`` does).
- With several workers, Prometheus metrics are added up over every worker through
  ``PROMETHEUS_MULTIPROC_DIR``: an empty folder is made for each start when none is set
  (a folder that is set is emptied at start), and a dead worker's figures are merged.
"""

import glob
import os
import tempfile

timeout = int(os.environ.get("REQUEST_TIMEOUT_SECONDS", 30))


def on_starting(server):
    from points_service.config import ConfigurationError, check_rate_limit_storage

    try:
        check_rate_limit_storage(server.cfg.workers)
    except ConfigurationError as error:
        server.log.error("refusing to start: %s", error)
        raise SystemExit(3) from None
    if server.cfg.workers > 1:
        folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if folder:
            for stale in glob.glob(os.path.join(folder, "*.db")):
                os.remove(stale)
        else:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="points-metrics-")


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
