"""Paginated lists: `page` and `per_page` (at most 100, 20 by default), ordered by id.

A `per_page` above 100 (or below 1, or a `page` below 1) is refused with 422 naming the field,
never silently clamped: a client that asked for 1000 learns at once that it gets fewer.
The answer carries `items` and `pagination` (page, per_page, total, pages) and an RFC 8288
`Link` header with the first, previous, next and last pages.
"""
from __future__ import annotations

import math

import marshmallow as ma
from flask import request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from participation.extensions import db

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


class PageArgsSchema(ma.Schema):
    """The query parameters of every list; any other parameter is refused (422), as in a JSON body."""

    error_messages = {"unknown": _l("This parameter is not part of this request.")}

    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1_000_000),
                             metadata={"description": "Page number, from 1"})
    per_page = ma.fields.Integer(load_default=DEFAULT_PER_PAGE, validate=ma.validate.Range(min=1, max=MAX_PER_PAGE),
                                 metadata={"description": f"Items per page, 1 to {MAX_PER_PAGE}"})


class PaginationSchema(ma.Schema):
    page = ma.fields.Integer(required=True)
    per_page = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True, metadata={"description": "Items on every page together"})
    pages = ma.fields.Integer(required=True, metadata={"description": "Number of pages (0 when empty)"})


_page_schemas: dict[type, type] = {}


def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The schema of one page of `item_schema` items (one class per item schema, named after it)."""
    if item_schema not in _page_schemas:
        name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
        _page_schemas[item_schema] = type(name, (ma.Schema,), {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "pagination": ma.fields.Nested(PaginationSchema, required=True),
            "__doc__": f"One page of {item_schema.__name__.removesuffix('Schema')} items.",
        })
    return _page_schemas[item_schema]


def paginate(statement: Select, id_column, page: int, per_page: int) -> tuple[dict, dict]:
    """One page of `statement`'s rows and its Link header.

    Ordered by `id_column` ascending: ids are never reused, so a row keeps its place between
    requests and no row is seen twice or skipped while the client walks the pages.
    """
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    items = db.session.scalars(statement.order_by(id_column).limit(per_page).offset((page - 1) * per_page)).all()
    pages = math.ceil(total / per_page)
    body = {"items": items, "pagination": {"page": page, "per_page": per_page, "total": total, "pages": pages}}
    return body, {"Link": link_header(page, per_page, pages)} if pages else {}


def link_header(page: int, per_page: int, pages: int) -> str:
    """RFC 8288 links to the neighbouring pages of the current request."""
    relations = {"first": 1, "last": pages}
    if page > 1:
        relations["prev"] = min(page - 1, pages)
    if page < pages:
        relations["next"] = page + 1
    arguments = {**(request.view_args or {}), **request.args.to_dict()}
    links = []
    for relation, number in relations.items():
        target = url_for(request.endpoint, **{**arguments, "page": number, "per_page": per_page})
        links.append(f'<{target}>; rel="{relation}"')
    return ", ".join(links)
