"""``/v1/items``: the catalogue."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.routes import json_body, runtime

bp = Blueprint("items", __name__, url_prefix="/v1")


@bp.put("/items")
def put_items() -> ResponseReturnValue:
    return jsonify(runtime().items.upsert(json_body())), 200


@bp.get("/items/<item_id>")
def get_item(item_id: str) -> ResponseReturnValue:
    return jsonify(runtime().items.get(item_id))
