"""The Idempotency-Key protocol of the API.

Every POST that changes points, stock or money is decorated with ``@idempotent`` and
requires an ``Idempotency-Key`` header (1 to 128 visible ASCII characters, a UUID is
ideal). For one caller (token, or user without a token) and one key:

- the first request claims the key by inserting a row; the unique (principal, key)
  constraint lets exactly one concurrent request win, however many arrive at once;
- it runs, and its response (any status below 500) is stored in that row;
- every later or concurrent request with the same method, path and payload waits for
  the stored response and gets the same status and body (``Idempotent-Replayed: true``);
- the same key with another method, path or payload is refused with 409;
- a 5xx releases the key, so a retry runs again. The domain service receives the key
  in the caller's own namespace (``domain_key``, made by ``idempotency_keys.client_key``
  from caller, method and path, and key), so even that retry has its effect at most
  once, and no caller can name a server's key or another caller's.

When the database fails during or after the commit of the work, the answer is 503
``outcome_unknown`` and the key is released: the retry with the same key returns the
original result (the domain key finds what was committed) or does the work once.

A first request that died without storing its response (a killed worker) is taken
over after ``REQUEST_TIMEOUT_SECONDS``, the longest a request may run; the derived
domain key makes that safe too.
"""

import hashlib
import json
import secrets
import time
from copy import deepcopy
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps

from flask import current_app, g, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from ..database import forget_commits, write_transaction
from ..errors import IdempotencyConflict, PointsError
from ..extensions import db
from ..idempotency_keys import KEY_PATTERN, client_key, is_valid_sent_key
from ..timeutil import utcnow
from .auth import principal_id
from .models import IdempotentRequest

HEADER = "Idempotency-Key"
_FIRST_POLL_SECONDS = 0.01
_LONGEST_POLL_SECONDS = 0.2


class IdempotencyKeyRequired(PointsError):
    status = 400
    code = "idempotency_key_required"
    default_message = _l(
        "This request changes points, stock or money: send an Idempotency-Key header "
        "of 1 to 128 visible characters (a new UUID for each new request)."
    )


class IdempotencyInProgress(PointsError):
    status = 409
    code = "idempotency_key_in_progress"
    default_message = _l("A request with this key is still being processed; retry in a moment.")


HEADER_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": True,
    "description": "A new unique value (e.g. a UUID) for each new request; repeat it to retry safely.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": KEY_PATTERN},
}


@dataclass
class Claim:
    row_id: int | None = None
    owner: str | None = None
    status_code: int | None = None
    body: str | None = None

    @property
    def replay(self):
        return self.status_code is not None


def request_fingerprint():
    """SHA-256 of what the request asks for, independent of JSON spacing or multipart boundaries."""
    parts = {"args": sorted(request.args.items(multi=True))}
    if request.is_json:
        parts["json"] = request.get_json(silent=True)
    elif request.files or request.form:
        parts["form"] = sorted(request.form.items(multi=True))
        files = []
        for field, storage in sorted(request.files.items(multi=True), key=lambda item: item[0]):
            content = storage.stream.read()
            storage.stream.seek(0)
            files.append([field, storage.filename or "", hashlib.sha256(content).hexdigest()])
        parts["files"] = files
    else:
        parts["body"] = hashlib.sha256(request.get_data(cache=True)).hexdigest()
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def domain_key():
    """The key to pass to the domain service: the Idempotency-Key in the caller's own namespace."""
    return g.get("domain_idempotency_key")


def _read_fresh(principal, key):
    db.session.rollback()  # end any read transaction, so the poll sees committed rows
    return db.session.execute(
        select(
            IdempotentRequest.id,
            IdempotentRequest.method_path,
            IdempotentRequest.request_hash,
            IdempotentRequest.owner,
            IdempotentRequest.claimed_at,
            IdempotentRequest.status_code,
            IdempotentRequest.response_body,
        ).where(IdempotentRequest.principal == principal, IdempotentRequest.key == key)
    ).first()


def _insert_claim(principal, key, method_path, request_hash):
    owner = secrets.token_hex(16)
    try:
        with write_transaction(bookkeeping=True) as session:
            row = IdempotentRequest(
                principal=principal,
                key=key,
                method_path=method_path,
                request_hash=request_hash,
                owner=owner,
                claimed_at=utcnow(),
            )
            session.add(row)
            session.flush()
            row_id = row.id
    except IntegrityError:
        return None
    return Claim(row_id=row_id, owner=owner)


def _take_over(row):
    owner = secrets.token_hex(16)
    with write_transaction(bookkeeping=True) as session:
        taken = session.execute(
            update(IdempotentRequest)
            .where(
                IdempotentRequest.id == row.id,
                IdempotentRequest.owner == row.owner,
                IdempotentRequest.status_code.is_(None),
            )
            .values(owner=owner, claimed_at=utcnow())
        ).rowcount
    return Claim(row_id=row.id, owner=owner) if taken == 1 else None


def claim(principal, key, method_path, request_hash):
    """Claim ``key`` for this request, or return the stored response to replay.

    Waits (polling with a growing pause) while another request holds the claim.
    """
    config = current_app.config
    deadline = time.monotonic() + config["IDEMPOTENCY_WAIT_SECONDS"]
    lease = timedelta(seconds=config["REQUEST_TIMEOUT_SECONDS"])
    pause = _FIRST_POLL_SECONDS
    while True:
        row = _read_fresh(principal, key)
        if row is None:
            won = _insert_claim(principal, key, method_path, request_hash)
            if won is not None:
                return won
            continue
        if row.method_path != method_path or row.request_hash != request_hash:
            raise IdempotencyConflict()
        if row.status_code is not None:
            return Claim(row_id=row.id, status_code=row.status_code, body=row.response_body)
        if row.claimed_at < utcnow() - lease:
            won = _take_over(row)
            if won is not None:
                return won
            continue
        if time.monotonic() >= deadline:
            raise IdempotencyInProgress()
        time.sleep(pause)
        pause = min(pause * 2, _LONGEST_POLL_SECONDS)


def _store(claimed, response):
    with write_transaction(bookkeeping=True) as session:
        session.execute(
            update(IdempotentRequest)
            .where(IdempotentRequest.id == claimed.row_id, IdempotentRequest.owner == claimed.owner)
            .values(
                status_code=response.status_code,
                response_body=response.get_data(as_text=True),
                completed_at=utcnow(),
            )
        )


def _release(claimed):
    db.session.rollback()
    with write_transaction(bookkeeping=True) as session:
        session.execute(
            delete(IdempotentRequest).where(
                IdempotentRequest.id == claimed.row_id,
                IdempotentRequest.owner == claimed.owner,
                IdempotentRequest.status_code.is_(None),
            )
        )


def _replay(claimed):
    response = current_app.response_class(claimed.body, status=claimed.status_code, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view):
    """Make a POST view follow the Idempotency-Key protocol (see the module docstring).

    Place it below ``@blp.arguments`` (invalid input claims nothing) and above
    ``@blp.response`` (the stored body is the serialized response).
    """
    return _follow_protocol(view, required=True)


def idempotent_when_keyed(view):
    """The protocol for a POST that changes no points, stock or money: the key is optional."""
    return _follow_protocol(view, required=False)


def idempotent_in_one_transaction(view):
    """``idempotent`` for a POST whose work is one unit of work: the work, the response and
    its stored copy commit together (see ``_in_one_transaction``)."""
    return _follow_protocol(view, required=True, one_transaction=True)


_INSERT_COMPLETE = insert(IdempotentRequest)  # the values are its parameters: built once


def _record(principal, key, method_path, request_hash, response):
    """Store the response of a request that ran in one transaction (a row inserted complete)."""
    now = utcnow()
    db.session.execute(
        _INSERT_COMPLETE,
        {
            "principal": principal,
            "key": key,
            "method_path": method_path,
            "request_hash": request_hash,
            "owner": secrets.token_hex(16),
            "claimed_at": now,
            "status_code": response.status_code,
            "response_body": response.get_data(as_text=True),
            "completed_at": now,
        },
    )


def _in_one_transaction(view, args, kwargs, principal, key, operation, request_hash):
    """Run the view and store its response in its own unit of work; None when the key is taken.

    No claim is written first: the stored response is inserted at the end of the work's
    transaction, so the unique (principal, key) row and the work commit together or not
    at all. A second request with the key (at the same moment or later) finds the row
    taken when it inserts its own: its work is rolled back and the caller falls back to
    ``claim``, which replays the stored response or refuses another payload. A refusal
    (4xx) is stored in a short transaction of its own, as ``idempotent`` does. The
    response is built before the commit, and nothing loaded is expired by the commits
    of this path: the request reads nothing after its commit.
    """
    g.domain_idempotency_key = client_key(principal, operation, key)
    forget_commits()
    session = db.session()
    expiring = session.expire_on_commit
    session.expire_on_commit = False
    try:
        try:
            with write_transaction(join_reads=True):
                response = current_app.make_response(view(*args, **kwargs))
                _record(principal, key, operation, request_hash, response)
            return response
        except (PointsError, HTTPException) as error:
            if isinstance(error, HTTPException) and (error.code or 500) >= 500:
                raise
            response = current_app.make_response(current_app.handle_user_exception(error))
        if response.status_code >= 500:
            return response
        with write_transaction(bookkeeping=True):
            _record(principal, key, operation, request_hash, response)
        return response
    except IntegrityError:
        db.session.rollback()
        return None
    finally:
        session.expire_on_commit = expiring


def _follow_protocol(view, required, one_transaction=False):
    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None and not required:
            return view(*args, **kwargs)
        if not is_valid_sent_key(key):
            raise IdempotencyKeyRequired()
        principal = principal_id()
        operation = f"{request.method} {request.path}"
        request_hash = request_fingerprint()
        if one_transaction:
            response = _in_one_transaction(view, args, kwargs, principal, key, operation, request_hash)
            if response is not None:
                return response
        claimed = claim(principal, key, operation, request_hash)
        if claimed.replay:
            return _replay(claimed)
        g.domain_idempotency_key = client_key(principal, operation, key)
        forget_commits()  # what the request did so far (a token's last use) is not what it asked for
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except (PointsError, HTTPException) as error:
            if isinstance(error, HTTPException) and (error.code or 500) >= 500:
                _release(claimed)
                raise
            response = current_app.make_response(current_app.handle_user_exception(error))
        except BaseException:
            _release(claimed)
            raise
        if response.status_code >= 500:
            _release(claimed)
        else:
            _store(claimed, response)
        return response

    # Documented as a parameter next to those of @blp.arguments, which is applied after this.
    wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
    parameter = {**HEADER_PARAMETER, "required": required}
    wrapper._apidoc.setdefault("arguments", {}).setdefault("parameters", []).append(parameter)
    return wrapper


def purge_idempotent_requests(now=None):
    """Forget stored responses finished, and claims left unfinished, more than
    ``IDEMPOTENCY_RETENTION_DAYS`` ago; returns how many. Safe: a retry with a forgotten
    key runs again and its domain key finds what was committed, so the work is still done
    at most once. Running it twice at once deletes each row once."""
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["IDEMPOTENCY_RETENTION_DAYS"])
    with write_transaction() as session:
        result = session.execute(
            delete(IdempotentRequest).where(
                (IdempotentRequest.completed_at < cutoff)
                | (IdempotentRequest.completed_at.is_(None) & (IdempotentRequest.claimed_at < cutoff))
            )
        )
    return result.rowcount
