"""The navigation bar: each area adds its entries with the permission that shows them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import url_for


@dataclass(frozen=True)
class NavItem:
    label: Any  # a lazy string
    endpoint: str
    permission: str | None = None  # None: everyone; "signed-in": any signed-in person
    order: int = 50


NAV_ITEMS: list[NavItem] = []


def add_nav_item(item: NavItem) -> None:
    if all(existing.endpoint != item.endpoint for existing in NAV_ITEMS):
        NAV_ITEMS.append(item)


def visible_items(actor) -> list[tuple[str, str, str]]:
    """(label, url, endpoint) of the entries `actor` may see, in order."""
    items = []
    for item in sorted(NAV_ITEMS, key=lambda i: i.order):
        if item.permission == "signed-in" and actor.person is None:
            continue
        if item.permission not in (None, "signed-in") and not actor.can(item.permission):
            continue
        items.append((str(item.label), url_for(item.endpoint), item.endpoint))
    return items
