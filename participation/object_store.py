"""The S3-compatible object store behind STORAGE_URL (boto3): stored files' bytes, under one prefix.

STORAGE_URL looks like

    s3://BUCKET/PREFIX?endpoint=http://127.0.0.1:9000&region=ap-southeast-3

`PREFIX` (optional) is the folder inside the bucket that the app owns: its objects are
`PREFIX/files/<40 hex digits>`, and nothing else under the bucket is ever listed or deleted.
`endpoint` names an S3-compatible server (MinIO, Ceph, Garage, a cloud provider's S3 API);
without it the client talks to AWS S3. `region` is the signing region (default: AWS_REGION or
AWS_DEFAULT_REGION, else us-east-1). `addressing` is `path` (default with an endpoint) or
`virtual`. Credentials come from the standard AWS chain (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance role) unless the URL carries them as
`s3://ACCESS_KEY:SECRET@BUCKET/...` (percent-encode `/`, `+` and `@` in the secret).

The bucket must exist; the app never creates or reconfigures it.
"""
from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlsplit

BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
PREFIX = re.compile(r"[A-Za-z0-9._\-]+(/[A-Za-z0-9._\-]+)*")
KEY_TOKEN = re.compile(r"[0-9a-f]{40}")
OPTIONS = {"endpoint", "region", "addressing"}
# Files go up in one PUT below this size (attachments are at most 5 MB) and in parts above it.
MULTIPART_THRESHOLD = 8 * 1024 * 1024


class StorageError(RuntimeError):
    """The object store could not be reached or refused an operation."""


class MissingObject(StorageError):
    """A row names an object that is not in the bucket."""


@dataclass(frozen=True)
class StorageLocation:
    """STORAGE_URL taken apart (see the module docstring)."""

    bucket: str
    prefix: str = ""  # "" or "some/folder/" (with the trailing slash)
    endpoint: str | None = None
    region: str | None = None
    addressing: str = "virtual"
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)

    @property
    def files_prefix(self) -> str:
        """Where the app's objects live; the sweep lists only this."""
        return f"{self.prefix}files/"

    def describe(self) -> str:
        """The location without credentials, for messages and logs."""
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"


def parse_storage_url(url: str) -> StorageLocation:
    """STORAGE_URL as a StorageLocation; ValueError naming what is wrong (never the secret)."""
    parts = urlsplit(url.strip())
    if parts.scheme != "s3":
        raise ValueError("STORAGE_URL must start with s3:// (s3://bucket/prefix?endpoint=...)")
    bucket = parts.hostname or ""
    if not BUCKET.fullmatch(bucket) or ".." in bucket:
        raise ValueError(f"STORAGE_URL: {bucket!r} is not a valid bucket name (3 to 63 lowercase letters, "
                         "digits, dots and hyphens)")
    prefix = parts.path.strip("/")
    if prefix and (not PREFIX.fullmatch(prefix) or any(part in {".", ".."} for part in prefix.split("/"))):
        raise ValueError(f"STORAGE_URL: the prefix {prefix!r} may hold only letters, digits, '.', '_', '-' "
                         "and '/' between folder names")
    options = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    unknown = set(options) - OPTIONS
    if unknown:
        raise ValueError(f"STORAGE_URL: unknown option(s) {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(sorted(OPTIONS))}")
    if any(len(values) > 1 for values in options.values()):
        raise ValueError("STORAGE_URL: each option may be given once")
    values = {name: found[0] for name, found in options.items()}
    endpoint = values.get("endpoint") or None
    if endpoint is not None:
        endpoint_parts = urlsplit(endpoint)
        if endpoint_parts.scheme not in {"http", "https"} or not endpoint_parts.hostname:
            raise ValueError(f"STORAGE_URL: endpoint must be an http:// or https:// address, not {endpoint!r}")
    addressing = values.get("addressing") or ("path" if endpoint else "virtual")
    if addressing not in {"path", "virtual"}:
        raise ValueError("STORAGE_URL: addressing must be path or virtual")
    if (parts.username is None) != (parts.password is None):
        raise ValueError("STORAGE_URL: give both the access key and the secret (s3://KEY:SECRET@bucket) or neither")
    return StorageLocation(
        bucket=bucket, prefix=f"{prefix}/" if prefix else "", endpoint=endpoint,
        region=values.get("region") or None, addressing=addressing,
        access_key=unquote(parts.username) if parts.username else None,
        secret_key=unquote(parts.password) if parts.password else None,
    )


@dataclass(frozen=True)
class ObjectInfo:
    """One listed object."""

    key: str
    size: int
    last_modified: datetime  # naive UTC, like every timestamp column


class ObjectStore:
    """The bucket of one app: put, read in chunks, delete and list its objects.

    One boto3 client per app process, made on first use (after gunicorn forks) and shared by its
    threads (boto3 clients are thread-safe).
    """

    def __init__(self, location: StorageLocation):
        self.location = location
        self._client = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<ObjectStore {self.location.describe()}>"

    @property
    def client(self):
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def _make_client(self):
        import boto3
        from botocore.config import Config

        location = self.location
        region = location.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") \
            or "us-east-1"
        checksums = {}
        if location.endpoint:
            # Many S3-compatible servers refuse the CRC trailers boto3 adds to every upload by
            # default (aws-chunked encoding); send checksums only where the API requires them.
            checksums = {"request_checksum_calculation": "when_required",
                         "response_checksum_validation": "when_required"}
        config = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=5, read_timeout=60,
                        s3={"addressing_style": location.addressing}, **checksums)
        credentials = {}
        if location.access_key:
            credentials = {"aws_access_key_id": location.access_key,
                           "aws_secret_access_key": location.secret_key}
        return boto3.session.Session().client("s3", endpoint_url=location.endpoint, region_name=region,
                                              config=config, **credentials)

    def new_key(self) -> str:
        """A fresh key under the app's prefix; random, so it is known before the row has an id."""
        return f"{self.location.files_prefix}{secrets.token_hex(20)}"

    def owns(self, key: str) -> bool:
        """True for a key of the form new_key() makes (nothing else is ever deleted)."""
        prefix = self.location.files_prefix
        return key.startswith(prefix) and KEY_TOKEN.fullmatch(key[len(prefix):]) is not None

    def put(self, key: str, fileobj, content_type: str, sha256: str) -> None:
        """Stream `fileobj` into the bucket (one PUT, or a multipart upload for a large file)."""
        from boto3.s3.transfer import TransferConfig

        extra = {"ContentType": content_type, "ContentDisposition": "attachment",
                 "Metadata": {"sha256": sha256}}
        transfer = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, use_threads=False)
        with _errors("upload", key):
            self.client.upload_fileobj(fileobj, self.location.bucket, key, ExtraArgs=extra, Config=transfer)

    def open(self, key: str):
        """The object's streaming body (botocore StreamingBody); MissingObject when it is gone."""
        with _errors("download", key):
            return self.client.get_object(Bucket=self.location.bucket, Key=key)["Body"]

    def chunks(self, key: str, chunk_bytes: int) -> Iterator[bytes]:
        """The object's bytes in pieces, read from the HTTP response as they arrive."""
        body = self.open(key)
        try:
            with _errors("download", key):
                yield from body.iter_chunks(chunk_bytes)
        finally:
            body.close()

    def size(self, key: str) -> int | None:
        """The object's size, or None when there is no such object."""
        try:
            with _errors("look up", key):
                return self.client.head_object(Bucket=self.location.bucket, Key=key)["ContentLength"]
        except MissingObject:
            return None

    def delete(self, keys) -> None:
        """Delete objects (at most 1,000 per request); keys the app does not own are refused."""
        keys = list(keys)
        foreign = [key for key in keys if not self.owns(key)]
        if foreign:
            raise ValueError(f"refusing to delete objects outside {self.location.files_prefix}: {foreign[:3]}")
        for start in range(0, len(keys), 1000):
            batch = keys[start:start + 1000]
            with _errors("delete", batch[0]):
                answer = self.client.delete_objects(Bucket=self.location.bucket, Delete={
                    "Objects": [{"Key": key} for key in batch], "Quiet": True})
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise StorageError(f"could not delete {first.get('Key')}: {first.get('Code')} {first.get('Message')}")

    def list(self) -> Iterator[ObjectInfo]:
        """Every object under the app's prefix, in key order."""
        paginator = self.client.get_paginator("list_objects_v2")
        with _errors("list", self.location.files_prefix):
            for page in paginator.paginate(Bucket=self.location.bucket, Prefix=self.location.files_prefix):
                for item in page.get("Contents", ()):
                    modified = item["LastModified"]
                    if modified.tzinfo is not None:
                        modified = modified.astimezone(UTC).replace(tzinfo=None)
                    yield ObjectInfo(item["Key"], item["Size"], modified)


class _ErrorContext:
    """Turns botocore's errors into StorageError / MissingObject naming the operation and key."""

    def __init__(self, action: str, key: str):
        self.action, self.key = action, key

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if error is None or isinstance(error, StorageError):
            return False
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(error, ClientError):
            code = error.response.get("Error", {}).get("Code", "")
            if code in {"NoSuchKey", "404", "NotFound"}:
                raise MissingObject(f"{self.key}: no such object") from error
            raise StorageError(f"object store: could not {self.action} {self.key}: {code or error}") from error
        if isinstance(error, BotoCoreError):
            raise StorageError(f"object store: could not {self.action} {self.key}: {error}") from error
        return False


def _errors(action: str, key: str) -> _ErrorContext:
    return _ErrorContext(action, key)
