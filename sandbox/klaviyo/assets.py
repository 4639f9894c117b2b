"""Attributes of the resources that hang off the shop (``store/assets.py``): tags, tag groups, templates,
images and catalog variants, in revision 2026-07-15's shapes."""

from __future__ import annotations

from html import escape

from .render import iso


def tag(store, t, opts: set[str]) -> dict:
    return {"name": t.name}


def tag_group(store, g, opts: set[str]) -> dict:
    return {"name": g.name, "exclusive": g.exclusive, "default": g.default}


def template(store, t, opts: set[str]) -> dict:
    """A hand-coded HTML template (editor type CODE). The document says ``definition`` (asked for with
    ``additional-fields[template]=definition``) exists for SYSTEM_DRAGGABLE templates and is omitted for CODE
    ones, so it is left out here, as Klaviyo does."""
    html = (f"<!DOCTYPE html><html><head><title>{escape(t.subject)}</title></head><body>"
            f"<div class=\"preheader\">{escape(t.preview)}</div><h1>{escape(t.subject)}</h1>"
            "<p>Hand-picked for you by the Sandbox Goods team.</p>"
            "<a href=\"https://sandbox-goods.example/shop?utm_source=klaviyo\">Shop now</a>"
            "<p><a href=\"{% unsubscribe_url %}\">Unsubscribe</a></p></body></html>")
    attrs = {"name": t.name, "editor_type": "CODE", "html": html,
             "text": f"{t.subject}\n\n{t.preview}\n\nShop now: https://sandbox-goods.example/shop", "amp": None,
             "created": iso(t.created), "updated": iso(t.updated)}
    return attrs


def image(store, im, opts: set[str]) -> dict:
    return {"name": im.name, "image_url": im.url, "format": "jpeg", "size": im.size, "hidden": False,
            "updated_at": iso(im.updated)}


def catalog_variant(store, v, opts: set[str]) -> dict:
    cat = store.catalog
    k = v.item
    ext = v.external_id
    return {"external_id": ext, "title": f"{cat.titles[k]} - {v.label}",
            "description": f"{cat.titles[k]} in {v.label}.", "sku": ext, "inventory_policy": v.policy,
            "inventory_quantity": float(v.inventory), "price": v.price,
            "url": f"https://sandbox-goods.example/products/{cat.external_ids[k].lower()}?variant={ext.lower()}",
            "image_full_url": f"https://sandbox-goods.example/images/{ext.lower()}.jpg",
            "image_thumbnail_url": f"https://sandbox-goods.example/images/{ext.lower()}-thumb.jpg",
            "images": [f"https://sandbox-goods.example/images/{ext.lower()}.jpg"], "custom_metadata": {},
            "published": bool(cat.published[k]), "created": iso(cat.created[k]), "updated": iso(cat.updated[k])}
