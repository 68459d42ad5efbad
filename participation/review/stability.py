"""Selection stability that is too slow for a page: computed by the worker, kept by its inputs.

With `optimal` selection under a planner's constraints, each of the stability's draws is an exact
0/1 program solved by HiGHS: at 2,000 proposals that is a few hundred milliseconds to seconds a
draw, far more than a page may take. The ranked list then shows no stability until it is computed:
a planner queues a job (`selection_stability`), the worker computes the shares exactly as the
page would, and the job's result keeps them with a digest of everything they were computed from
(the proposals, their values, weights, costs, budget, methods, constraints, draws and seed).
The page uses a result whose digest matches its own figures; any change to those figures makes
a new digest, so a stale result is never shown. Greedy selection, and `optimal` without
constraints, stay fast and are computed on the page as before.

The one exact constrained selection the page itself needs (a few hundred milliseconds at 2,000
proposals) is kept per process by the digest of its inputs (`SELECTIONS`), so that planners
opening the list again while nothing changed do not wait for HiGHS each time.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict

import numpy as np
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from participation import jobs
from participation.database import reading
from participation.extensions import db
from participation.models import Job, JobState, ThemedSession
from participation.scoring.constraints import check_constraints

KIND = "selection_stability"
LOOKBACK = 20  # finished jobs of a session searched for a matching digest, newest first


def is_slow(selection: str, costs: np.ndarray, limits: dict) -> bool:
    """Whether the stability solves an exact program per draw: `optimal` under an active constraint."""
    if selection != "optimal":
        return False
    return check_constraints(costs.shape[0], limits["must"], limits["exclusive"], limits["groups"],
                             limits["group_caps"]).active(costs)


def inputs_digest(ids: list[int], matrix: np.ndarray, weights: np.ndarray, directions: np.ndarray,
                  costs: np.ndarray, budget: int, settings: dict, limits: dict) -> str:
    """SHA-256 of everything `selection_stability` is given, in a fixed layout."""
    return _digest(((ids, np.int64), (matrix, np.float64), (weights, np.float64), (directions, np.float64),
                    (costs, np.int64)), budget, settings, limits)


def selection_digest(scores: np.ndarray, costs: np.ndarray, budget: int, selection: str, limits: dict) -> str:
    """SHA-256 of everything `select_within_budget` is given."""
    return _digest(((scores, np.float64), (costs, np.int64)), budget, {"selection": selection}, limits)


def _digest(arrays, budget: int, settings: dict, limits: dict) -> str:
    digest = hashlib.sha256()
    for array, dtype in arrays:
        part = np.ascontiguousarray(np.asarray(array, dtype=dtype))
        digest.update(repr(part.shape).encode())
        digest.update(part.tobytes())
    must = limits["must"]
    described = {
        "budget": int(budget),
        "settings": settings,
        "must": None if must is None else np.flatnonzero(must).tolist(),
        "exclusive": [sorted(int(i) for i in members) for members in limits["exclusive"]],
        "groups": None if limits["groups"] is None else [int(label) for label in limits["groups"]],
        "group_caps": None if not limits["group_caps"] else sorted((int(k), int(v)) for k, v in
                                                                  limits["group_caps"].items()),
    }
    digest.update(json.dumps(described, sort_keys=True).encode())
    return digest.hexdigest()


class SelectionMemo:
    """The last few exact constrained selections of this process, by the digest of their inputs.

    One such selection takes a few hundred milliseconds at 2,000 proposals; planners open the
    ranked list again and again while nothing changes, so a repeated view reuses it. The digest
    covers every input, and the solver is deterministic, so a hit is the very set it would solve.
    """

    def __init__(self, size: int = 16):
        self.size = size
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, compute) -> np.ndarray:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key].copy()
        value = compute()
        with self._lock:
            self._items[key] = value.copy()
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


SELECTIONS = SelectionMemo()


def cached_shares(session_id: int, digest: str) -> dict[int, float] | None:
    """The shares by proposal id of the newest finished job computed from exactly these inputs."""
    results = db.session.scalars(
        select(Job.result).where(Job.kind == KIND, Job.session_id == session_id, Job.state == JobState.DONE)
        .order_by(Job.id.desc()).limit(LOOKBACK))
    for result in results:
        if result and result.get("digest") == digest:
            return {int(key): float(value) for key, value in result["shares"].items()}
    return None


def pending_job(themed_session: ThemedSession) -> Job | None:
    """The session's stability job waiting for or held by the worker, if any."""
    return db.session.scalar(
        select(Job).where(Job.kind == KIND, Job.session_id == themed_session.id,
                          Job.state.in_((JobState.PENDING, JobState.RUNNING))).order_by(Job.id).limit(1))


def _summary(job: Job) -> str:
    return _("The stability of the selection is computed over %(draws)d draws: the ranked list shows it.",
             draws=(job.result or {}).get("draws", 0))


@jobs.handler(KIND, title=_l("Compute the selection's stability"), summary=_summary,
              back=lambda job: url_for("review.ranking", session_id=job.session_id))
def selection_stability_job(job: Job, actor, progress) -> jobs.Outcome:
    from participation.review.ranking import STABILITY_DRAWS, build_ranking

    # Seconds of solving: in read-only transactions, which on SQLite hold no write lock.
    with reading():
        themed_session = db.session.get(ThemedSession, job.session_id)
        draws = STABILITY_DRAWS[themed_session.selection_method.value]
        ranking = build_ranking(themed_session, stability=True)
    shares = {str(item.proposal.id): item.stability for item in ranking.ranked if item.stability is not None}
    return jobs.Outcome({"digest": ranking.stability_digest, "draws": draws, "shares": shares})
