"""The event sources made of orders: Placed Order, Ordered Product, and what orders imply (Checkout Started
shortly before each order, Viewed Product before each line, Fulfilled Order a few days after).

The first two are the order columns themselves (already sorted by time); the implied ones are the same rows
at a per-row offset, sorted once when first asked for.
"""

from __future__ import annotations

from .events import DAY, Derived, Sorted, Source


def _item(cat, product: int, qty: int, price: float) -> dict:
    ext = cat.external_ids[product]
    return {"ProductID": ext, "SKU": ext, "ProductName": cat.titles[product], "Quantity": qty, "ItemPrice": price,
            "RowTotal": round(price * qty, 2), "ProductURL": f"https://sandbox-goods.example/products/{ext.lower()}",
            "Categories": cat.category_names(product)}


def order_sources(store, metric_ids: dict[str, str]) -> list[Source]:
    o, cat = store.orders, store.catalog

    def items(k: int) -> list[dict]:
        return [_item(cat, int(o.line_product[j]), int(o.line_qty[j]), float(o.line_price[j]))
                for j in range(o.line_start[k], o.line_start[k + 1])]

    def placed(k: int) -> dict:
        its = items(k)
        return {"OrderId": o.order_number(k), "$value": float(o.value[k]), "$event_id": o.order_number(k),
                "Items": its, "ItemNames": [it["ProductName"] for it in its],
                "Categories": sorted({c for it in its for c in it["Categories"]}), "ItemCount": len(its)}

    def ordered(k: int) -> dict:
        order, prod = int(o.line_order[k]), int(o.line_product[k])
        return {"OrderId": o.order_number(order), "ProductID": cat.external_ids[prod], "SKU": cat.external_ids[prod],
                "ProductName": cat.titles[prod], "Quantity": int(o.line_qty[k]), "Categories": cat.category_names(prod),
                "$value": round(float(o.line_price[k] * o.line_qty[k]), 2), "$event_id": f"{o.order_number(order)}-{k}"}

    def checkout(k: int) -> dict:
        its = items(k)
        return {"$value": float(o.value[k]), "$event_id": f"checkout-{o.order_number(k)}", "Items": its,
                "ItemNames": [it["ProductName"] for it in its], "ItemCount": len(its),
                "CheckoutURL": f"https://sandbox-goods.example/checkouts/{100000 + k}"}

    def fulfilled(k: int) -> dict:
        its = items(k)
        return {"OrderId": o.order_number(k), "$value": float(o.value[k]), "$event_id": f"fulfilled-{o.order_number(k)}",
                "ItemNames": [it["ProductName"] for it in its], "ItemCount": len(its)}

    def viewed(k: int) -> dict:
        prod = int(o.line_product[k])
        ext = cat.external_ids[prod]
        return {"ProductID": ext, "SKU": ext, "ProductName": cat.titles[prod], "Categories": cat.category_names(prod),
                "Price": float(cat.price[prod]), "URL": f"https://sandbox-goods.example/products/{ext.lower()}",
                "$event_id": f"view-{k}"}

    line_owner = o.profile[o.line_order]
    made = {
        "Placed Order": lambda mid: Sorted("P", mid, store.t_end, o.time, o.profile, placed),
        "Ordered Product": lambda mid: Sorted("L", mid, store.t_end, o.line_time, line_owner, ordered),
        # A checkout 2-40 minutes before its order; a view of each product 10 minutes to 2 days before it.
        "Checkout Started": lambda mid: Derived("X", mid, store.t_end, o.time, o.profile, (-2400, -120), 11, checkout),
        "Viewed Product": lambda mid: Derived("W", mid, store.t_end, o.line_time, line_owner, (-2 * DAY, -600), 13,
                                              viewed),
        # Shipped one to four days after the order; orders of the last days are not fulfilled yet.
        "Fulfilled Order": lambda mid: Derived("F", mid, store.t_end, o.time, o.profile, (DAY, 4 * DAY), 17, fulfilled),
    }
    return [make(metric_ids[name]) for name, make in made.items() if name in metric_ids]
