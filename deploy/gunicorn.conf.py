"""gunicorn settings for musrenbang-web.service (`gunicorn -c deploy/gunicorn.conf.py app:app`).

Environment: GUNICORN_BIND (default: the unix socket nginx proxies to), GUNICORN_WORKERS
(default: 2 per CPU core + 1), GUNICORN_TIMEOUT (seconds, default 120: an inline PDF of up to
DOCUMENTS_INLINE_LETTERS letters renders within it; bigger ones go to the worker).
"""
import multiprocessing
import os

# A unix socket only nginx can open: nothing on the host can reach the app around nginx and send
# its own X-Forwarded-For (the app believes TRUSTED_PROXIES hops of it).
bind = [os.environ.get("GUNICORN_BIND", "unix:/run/musrenbang/web.sock")]
umask = 0o007  # the socket: owner and group (nginx's www-data joins the group), nobody else
workers = int(os.environ.get("GUNICORN_WORKERS") or multiprocessing.cpu_count() * 2 + 1)
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 120)
graceful_timeout = 30
# Workers are recycled now and then, staggered, so that slow growth in one never adds up.
max_requests = 2000
max_requests_jitter = 200
# Logs go to the journal (journalctl -u musrenbang-web).
accesslog = "-"
errorlog = "-"
# The client's address comes from nginx's X-Forwarded-For through the app's ProxyFix
# (TRUSTED_PROXIES); gunicorn itself trusts no forwarded headers.
forwarded_allow_ips = ""
