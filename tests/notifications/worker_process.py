"""`flask send-notifications --once` in a process of its own, against a test database and SMTP server.

python -m tests.notifications.worker_process DATABASE_URL SMTP_PORT LEASE_SECONDS [GO_FILE]

The app is built with the test configuration (which ignores the environment), pointed at the given
database and SMTP port; with GO_FILE the worker waits for that file to exist before it starts, so
that several workers begin together.
"""
from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path


def main(argv: list[str]) -> None:
    from flask.cli import ScriptInfo

    from participation import create_app

    url, port, lease = argv[0], int(argv[1]), float(argv[2])
    go = Path(argv[3]) if len(argv) > 3 else None
    app = create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": url, "MAIL_SERVER": "127.0.0.1",
                      "MAIL_PORT": port, "MAIL_TIMEOUT": 20, "MAIL_DEFAULT_SENDER": "noreply@musrenbang.test",
                      "PUBLIC_BASE_URL": "https://musrenbang.test", "NOTIFICATION_LEASE": timedelta(seconds=lease)})
    while go is not None and not go.exists():
        time.sleep(0.005)
    app.cli.main(args=["send-notifications", "--once"], obj=ScriptInfo(create_app=lambda: app),
                 prog_name="flask", standalone_mode=True)


if __name__ == "__main__":
    main(sys.argv[1:])
