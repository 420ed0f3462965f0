"""``/v1/items``: the catalogue."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.decide.catalogue import ItemsRequest
from service.http.contract import endpoint
from service.http.responses import Item, ItemsWritten
from service.http.routes import json_body, runtime

bp = Blueprint("items", __name__, url_prefix="/v1")


@bp.put("/items")
@endpoint(scope="admin", summary="Insert or replace catalogue items", body=ItemsRequest,
          responses={200: ItemsWritten}, errors=(422,), tags=("catalogue",))
def put_items() -> ResponseReturnValue:
    return jsonify(runtime().items.upsert(json_body())), 200


@bp.get("/items/<item_id>")
@endpoint(scope="read", summary="One catalogue item", responses={200: Item}, errors=(404, 422), tags=("catalogue",))
def get_item(item_id: str) -> ResponseReturnValue:
    return jsonify(runtime().items.get(item_id))
