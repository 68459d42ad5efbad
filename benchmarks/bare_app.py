"""A bare Flask app, the baseline of benchmarks/load.py: same gunicorn, same clients, no work."""
from __future__ import annotations

import itertools
import os

from flask import Flask, redirect, request

app = Flask(__name__)
ids = itertools.count(1)
# The same hidden fields the real form carries, so that the benchmark's clients run unchanged.
PAGE = """<!doctype html><html lang="id"><head><meta charset="utf-8"><title>Usulan</title></head>
<body><form method="post"><input name="csrf_token" type="hidden" value="bare">
<input name="idempotency_key" type="hidden" value="{key}">
<select name="category_id"><option value="1">Pelatihan</option></select>
<button name="action" value="submit">Kirim</button></form></body></html>"""


@app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
@app.route("/<path:path>", methods=["GET", "POST"])
def page(path: str):
    if request.method == "POST":  # what the app answers to an accepted form: 303 to the new page
        return redirect(f"/usulan/{os.getpid()}{next(ids)}", code=303)
    return PAGE.format(key=os.urandom(16).hex())
