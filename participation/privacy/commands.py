"""`flask prune-audit-ips`: IP retention by hand (the worker runs the same once a day)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from participation.events import Actor
from participation.extensions import db


@click.command("prune-audit-ips")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Keep addresses this many days (default: AUDIT_IP_RETENTION_DAYS, 365).")
@with_appcontext
def prune_audit_ips_command(days: int | None) -> None:
    """Drop IP addresses older than the retention from the audit log and jobs; delete spent throttle counts."""
    from participation.privacy.services import prune_ip_addresses

    result = prune_ip_addresses(Actor.cli(), days=days)
    db.session.commit()
    click.echo(f"IP addresses dropped: {result['audit_events']} audit events, {result['jobs']} jobs; "
               f"{result['rate_limit_hits']} spent throttle counts deleted.")
