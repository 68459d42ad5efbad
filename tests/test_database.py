"""Concurrent writers: no lost updates and no "database is locked" on either database."""
from __future__ import annotations

import threading

from sqlalchemy import select

from participation.models import User


def test_concurrent_read_then_write_loses_nothing(app, make_user):
    from participation.database import lock_for_update
    from participation.extensions import db

    user_id = make_user()
    workers, rounds, errors = 6, 25, []

    def work():
        try:
            for _ in range(rounds):
                with app.app_context():
                    user = db.session.scalars(lock_for_update(select(User).where(User.id == user_id))).one()
                    user.session_epoch += 1  # read, then write from what was read
                    db.session.commit()
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        assert db.session.get(User, user_id).session_epoch == workers * rounds
