"""A corpus of hostile input, shared by every form's tests."""

HOSTILE = {
    "script_tag": "<script>alert('xss')</script>",
    "img_onerror": '"><img src=x onerror=alert(1)>',
    "nul_byte": "Usaha\x00Maju",
    "only_nul": "\x00",
    "ten_thousand": "A" * 10_000,
    "rtl_override": "Batik\u202egnp.exe",
    "template": "{{7*7}}",
    "template_block": "{% for x in range(99999999) %}x{% endfor %}",
    "formula": '=HYPERLINK("http://evil.example","klik")',
    "formula_plus": "+62812 @SUM(1+1)",
    "crlf": "budi@contoh.id\r\nBcc: korban@contoh.id",
    "sql": "' OR '1'='1'; DROP TABLE users; --",
    "unicode": "Keripik Ünïcødé 🍜 ñ",
    "whitespace": "   \t  ",
    "huge_number": "9" * 400,
    "negative": "-1",
    "float_overflow": "1e309",
    "nan": "NaN",
    "path": "../../etc/passwd",
    "control_bell": "Usaha\x07Bel",
    "zero_width": "Usa\u200bha",
}


def is_server_error(response) -> bool:
    """A 5xx answer, which hostile input must never produce."""
    return response.status_code >= 500


# What the database itself may treat differently: PostgreSQL refuses NUL bytes, enforces VARCHAR
# lengths and integer and float ranges that SQLite lets through, and stores text byte for byte.
# Markup, templates, formulas, header injection and paths meet the same Python code (validation,
# escaping, the XLSX writer) whichever database is behind it, so the long form-by-form sweeps run
# them on SQLite and give PostgreSQL only these, with one markup and one template payload to show
# that what this database stored comes back escaped and unevaluated too.
DATABASE_SENSITIVE = ("nul_byte", "only_nul", "ten_thousand", "huge_number", "float_overflow", "nan",
                      "unicode", "zero_width", "control_bell", "sql", "script_tag", "template")


def corpus_for(app) -> dict[str, str]:
    """The whole corpus on SQLite; on PostgreSQL the payloads the database may treat differently."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return HOSTILE
    return {label: HOSTILE[label] for label in DATABASE_SENSITIVE}
