"""Operations started together in threads, each in its own app context and session."""

import threading
from concurrent.futures import ThreadPoolExecutor

from points_service.extensions import db


def run_concurrently(app, operations):
    """Run each callable in its own thread, all released at once; return their results or exceptions."""
    barrier = threading.Barrier(len(operations))

    def worker(operation):
        with app.app_context():
            barrier.wait()
            try:
                return operation()
            except Exception as error:  # collected and asserted on by the test
                return error
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=len(operations)) as pool:
        return list(pool.map(worker, operations))
