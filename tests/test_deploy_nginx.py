"""deploy/nginx/musrenbang.conf in front of gunicorn (deploy/gunicorn.conf.py), as a city's server runs them.

Debian's nginx runs the repository's site file (its @...@ values and listen addresses filled in for
loopback) with a self-signed certificate; gunicorn serves the app with the production config and
TRUSTED_PROXIES=1 on the test database, on a unix socket as in production. The client connects
from 127.0.0.2, so the address the app records must be that one, not nginx's 127.0.0.1.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import select

from participation.models import AuditEvent, Proposal, RateLimitHit
from tests.conftest import ROOT, TEST_PASSWORD, app_db
from tests.factories import PDF_BYTES

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SITE = ROOT / "deploy" / "nginx" / "musrenbang.conf"
CLIENT_IP = "127.0.0.2"

pytestmark = pytest.mark.skipif(
    not os.access(NGINX, os.X_OK),
    reason="nginx is not installed and could not be installed here: `make test` installs Debian's nginx "
           "(target `nginx`), as it does Chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(address: int | Path, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    """Until something accepts connections on the loopback port or unix socket `address`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args[0]} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if isinstance(address, Path):
                with socket.socket(socket.AF_UNIX) as sock:
                    sock.settimeout(0.5)
                    sock.connect(str(address))
            else:
                socket.create_connection(("127.0.0.1", address), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"nothing listened on {address} within {timeout} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def render_site(upstream: Path, https_port: int, http_port: int, cert: Path, key: Path) -> str:
    """The site file as a city would install it, listening on loopback ports instead of 443 and 80."""
    text = SITE.read_text()
    for name, value in {"@SERVER_NAME@": "musrenbang.test", "@APP_DIR@": str(ROOT),
                        "@UPSTREAM@": f"unix:{upstream}", "@TLS_CERTIFICATE@": str(cert),
                        "@TLS_CERTIFICATE_KEY@": str(key)}.items():
        assert name in text, f"{name} is not in {SITE}"
        text = text.replace(name, value)
    assert "@" not in re.sub(r"#.*", "", text), "a template value was left unfilled"
    listens = {"listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
               "listen 80;": f"listen 127.0.0.1:{http_port};"}
    for line, replacement in listens.items():
        assert text.count(line) == 1, line
        text = text.replace(line, replacement)
    return re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", text)  # the loopback test has no IPv6 to count on


def nginx_conf(prefix: Path, site: Path) -> str:
    """A main nginx.conf around the site: everything nginx writes stays under `prefix`."""
    user = "user root;\n" if os.geteuid() == 0 else ""  # as root, workers would otherwise be nobody
    temp = "".join(f"    {kind}_temp_path {prefix}/{kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log info;\n"
            "events { worker_connections 64; }\n"
            "http {\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
            f"    access_log {prefix}/access.log;\n{temp}    include {site};\n}}\n")


class FromAddress(HTTPAdapter):
    """Connections that leave from `address`, like a client on another host."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


@pytest.fixture
def deployment(app, make_world, database_url, tmp_path):
    """nginx (https and http ports) in front of gunicorn on the test database; yields what the test needs."""
    world = make_world(owner=True)
    root = tmp_path / "deploy"
    (root / "nginx").mkdir(parents=True)
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=musrenbang.test", "-addext", "subjectAltName=DNS:musrenbang.test,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    https_port, http_port = free_port(), free_port()
    # As in production, only nginx reaches the app, through a unix socket (in a short path: at
    # most 107 bytes).
    socket_dir = Path(tempfile.mkdtemp(prefix="mt-"))
    app_socket = socket_dir / "web.sock"

    access_log, gunicorn_log = root / "gunicorn-access.log", root / "gunicorn.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FLASK_", "APP_"))}
    env.update(APP_ENV="production", FLASK_SECRET_KEY="n" * 48, DATABASE_URL=database_url, TRUSTED_PROXIES="1",
               INSTANCE_PATH=str(root / "instance"), PUBLIC_BASE_URL="https://musrenbang.test",
               SECURITY_CONTACT="keamanan@kota.go.id", GUNICORN_BIND=f"unix:{app_socket}", GUNICORN_WORKERS="2")
    with gunicorn_log.open("w") as log:
        gunicorn = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
             "--access-logfile", str(access_log), "app:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    processes = [gunicorn]
    try:
        wait_for(app_socket, gunicorn, gunicorn_log)
        site = root / "site.conf"
        site.write_text(render_site(app_socket, https_port, http_port, cert, key))
        conf = root / "nginx" / "nginx.conf"
        conf.write_text(nginx_conf(root / "nginx", site))
        command = [NGINX, "-p", str(root / "nginx"), "-e", str(root / "nginx" / "error.log"), "-c", str(conf)]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stderr
        nginx_log = root / "nginx" / "stderr.log"
        with nginx_log.open("w") as log:
            nginx = subprocess.Popen([*command, "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT)
        processes.append(nginx)
        wait_for(https_port, nginx, nginx_log)

        client = requests.Session()
        client.trust_env = False  # no proxy, and REQUESTS_CA_BUNDLE would replace `verify`
        client.verify = str(cert)
        client.mount("https://", FromAddress(CLIENT_IP))
        client.mount("http://", FromAddress(CLIENT_IP))
        yield {"world": world, "client": client, "base": f"https://127.0.0.1:{https_port}",
               "http": f"http://127.0.0.1:{http_port}", "access_log": access_log, "app": app,
               "gunicorn_log": gunicorn_log}
    finally:
        for process in reversed(processes):
            stop(process)
        shutil.rmtree(socket_dir, ignore_errors=True)


def form_fields(page: str) -> dict:
    return dict(re.findall(r'name="(csrf_token|idempotency_key)"[^>]*value="([^"]+)"', page))


def test_nginx_serves_pages_static_files_and_uploads_and_passes_the_client_address(deployment):
    client, base, world = deployment["client"], deployment["base"], deployment["world"]
    # nginx's $host has no port and the app compares the Referer with it over https (CSRF): on 443,
    # where the site runs, a browser's Referer has none either.
    referer = "https://127.0.0.1"

    # A page, through TLS, from the app with its production headers.
    home = client.get(f"{base}/")
    assert home.status_code == 200 and "Masuk" in home.text
    assert home.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert home.headers["Server"] == "nginx"  # server_tokens off: no version
    # Plain http only redirects to https.
    redirect = client.get(f"{deployment['http']}/masuk", allow_redirects=False)
    assert redirect.status_code == 301 and redirect.headers["Location"] == "https://127.0.0.1/masuk"

    # Static files come from the disk through nginx, with nginx's caching.
    css = client.get(f"{base}/static/css/app.css")
    assert css.status_code == 200 and css.content == (ROOT / "static" / "css" / "app.css").read_bytes()
    assert css.headers["Cache-Control"] == "public, max-age=3600"
    assert css.headers["X-Content-Type-Options"] == "nosniff"
    vendor = client.get(f"{base}/static/vendor/bootstrap-5.3.9/css/bootstrap.min.css")
    assert vendor.status_code == 200 and vendor.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get(f"{base}/static/tidak-ada.css").status_code == 404

    # security.txt through the proxy, its Canonical URL from PUBLIC_BASE_URL.
    security = client.get(f"{base}/.well-known/security.txt")
    assert "Contact: mailto:keamanan@kota.go.id\n" in security.text
    assert "Canonical: https://musrenbang.test/.well-known/security.txt\n" in security.text

    # A wrong password, with a forged X-Forwarded-For: the app counts the real client address.
    with app_db(deployment["app"]) as session:
        from participation.models import User

        email = session.get(User, world.owner).email
    login_page = client.get(f"{base}/masuk")
    failed = client.post(f"{base}/masuk", headers={"Referer": f"{referer}/masuk", "X-Forwarded-For": "203.0.113.9"},
                         data={**form_fields(login_page.text), "email": email, "password": "Salah-Sandi-9999"},
                         allow_redirects=False)
    assert failed.status_code == 401, failed.text[:500]
    signed_in = client.post(f"{base}/masuk", headers={"Referer": f"{referer}/masuk"},
                            data={**form_fields(failed.text), "email": email, "password": TEST_PASSWORD},
                            allow_redirects=False)
    assert signed_in.status_code == 303, signed_in.text[:500]
    assert "__Host-mt_session" in client.cookies

    # An upload: a proposal with a PDF attachment of 700 KiB, which nginx buffers to its temp folder.
    attachment = PDF_BYTES + os.urandom(700 * 1024)
    page = client.get(f"{base}/usulan/baru/{world.session}")
    assert page.status_code == 200
    fields = {**form_fields(page.text), "title": "Mesin pengemas vakum untuk keripik",
              "category_id": str(world.categories[0]), "problem": "Keripik cepat lembek karena dikemas manual.",
              "description": "Pengadaan satu mesin pengemas vakum.", "estimated_cost": "Rp 45.500.000",
              "beneficiaries": "25", "jobs_created": "3", "kelurahan": "Sukamaju", "kecamatan": "Sukamaju",
              "action": "submit"}
    submitted = client.post(f"{base}/usulan/baru/{world.session}", headers={"Referer": f"{referer}/usulan/"},
                            data=fields, files={"attachment": ("penawaran.pdf", attachment, "application/pdf")},
                            allow_redirects=False)
    assert submitted.status_code == 303, submitted.text[:1000]
    with app_db(deployment["app"]) as session:
        proposal = session.scalars(select(Proposal)).one()
        proposal_id, receipt = proposal.id, proposal.receipt_number
        assert proposal.attachment_size == len(attachment)
    download = client.get(f"{base}/usulan/{proposal_id}/lampiran")
    assert download.status_code == 200 and download.content == attachment
    assert receipt in client.get(f"{base}{submitted.headers['Location']}").text

    # Over the app's MAX_CONTENT_LENGTH, nginx refuses the upload itself.
    too_big = client.post(f"{base}/usulan/baru/{world.session}", headers={"Referer": f"{referer}/usulan/"},
                          data=fields, files={"attachment": ("besar.pdf", PDF_BYTES + b"\0" * (9 * 1024 * 1024))})
    assert too_big.status_code == 413 and "nginx" in too_big.text

    # The app saw the client (127.0.0.2), never nginx (127.0.0.1) nor the forged address.
    with app_db(deployment["app"]) as session:
        audited = dict(session.execute(select(AuditEvent.action, AuditEvent.ip).where(
            AuditEvent.action.in_(["login.failure", "login.success", "proposal.submitted"]))).all())
        counted = set(session.scalars(select(RateLimitHit.ip).where(RateLimitHit.scope == "login.account")))
    assert audited == {"login.failure": CLIENT_IP, "login.success": CLIENT_IP, "proposal.submitted": CLIENT_IP}
    assert counted == {CLIENT_IP}

    # gunicorn answered the pages and the upload, but no static file and not the refused upload.
    requests_seen = deployment["access_log"].read_text()
    assert "GET /masuk" in requests_seen and "/lampiran" in requests_seen
    assert "/static/" not in requests_seen
    assert requests_seen.count(f"POST /usulan/baru/{world.session}") == 1
    # The suite's unhandled-exception guard cannot see into gunicorn: its log must be clean.
    assert "Traceback" not in deployment["gunicorn_log"].read_text()


def test_the_upload_limit_matches_the_apps(app):
    """nginx refuses what the app would refuse, no less: client_max_body_size is MAX_CONTENT_LENGTH."""
    limit = re.search(r"^\s*client_max_body_size (\d+)m;", SITE.read_text(), re.MULTILINE)
    assert limit and int(limit.group(1)) * 1024 * 1024 == app.config["MAX_CONTENT_LENGTH"]
