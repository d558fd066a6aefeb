"""The till's demo: two shops of the demo's tea and dim sum business, with
their sessions and two years of till orders, synced through Odoo's POS API
(``pos.order.sync_from_ui``) as the tills would have sent them."""

import logging
import random
import time
import uuid
from datetime import timedelta

from odoo import SUPERUSER_ID, Command, fields

from odoo.addons.repeat_customer.demo.demo_generator import (
    DEMO_HOUR_WEIGHTS,
    DEMO_HOURS,
    HISTORY_DAYS,
    DemoGenerator,
)

_logger = logging.getLogger(__name__)

# (xmlid suffix, shop name): the store of each is named after it; in both
# languages, as the demo's products are
DEMO_SHOPS = [
    ("jingan", "静安寺店 Jing'an Temple Shop"),
    ("xuhui", "徐汇店 Xuhui Shop"),
]
# what sells at the counter: the demo's dim sum, pastries, teas and coffee
COUNTER_CODES = (
    "RC-DUMP", "RC-XLB", "RC-HG", "RC-CSB", "RC-SM", "RC-FLS", "RC-DHS",
    "RC-LDG", "RC-JAS", "RC-DH", "RC-TGY", "RC-LJ", "RC-DRIP", "RC-COF",
    "RC-MOON", "RC-ZONG",
)  # fmt: skip
# share of the demo's private customers who also buy at a till
BOTH_CHANNELS_SHARE = 0.35
# customers who buy only at the tills
TILL_ONLY_CUSTOMERS = 30
# till orders of nobody (a walk-in who gives no name)
ANONYMOUS_ORDERS = 150
SYNC_BATCH = 100


class TillDemo:
    def __init__(self, env):
        # a user of Point of Sale works the tills (Odoo opens no session for
        # the superuser): the administrator when the demo is loaded
        if env.uid == SUPERUSER_ID or not env.user.has_group(
            "point_of_sale.group_pos_user"
        ):
            env = env(user=env.ref("base.user_admin").id)
        self.env = env

    def generate(self, seed=2025):
        company = self.env.company
        if self.env.ref(
            f"repeat_customer_pos.demo_pos_config_{DEMO_SHOPS[0][0]}",
            raise_if_not_found=False,
        ):
            return False
        if not company.chart_template:
            _logger.info("repeat_customer_pos demo: no chart of accounts, no tills")
            return False
        start = time.monotonic()
        rng = random.Random(seed)
        products = self._counter_products()
        if not products:
            return False
        configs = self._shops(company)
        visits = self._visits(rng, company)
        now = fields.Datetime.now()
        orders = 0
        # the history's stock moves in one transfer per session, not one per
        # order (the company's setting comes back afterwards)
        stock_setting = company.point_of_sale_update_stock_quantities
        company.point_of_sale_update_stock_quantities = "closing"
        for index, config in enumerate(configs):
            mine = [v for v in visits if v[2] == index]
            orders += self._sell(rng, config, products, mine, now)
        company.point_of_sale_update_stock_quantities = stock_setting
        self._online_store(company)
        memberships = self.env["customer.membership"]
        memberships._compute_company(company)
        activity = self.env["customer.activity.month"]
        last_id = 0
        while ids := memberships._next_batch(company, last_id, 2000):
            activity._update_activity(company, ids)
            memberships._update_profiles(company, ids)
            last_id = ids[-1]
        _logger.info(
            "repeat_customer demo: %s till orders in two shops (%.0f s)",
            orders,
            time.monotonic() - start,
        )
        return True

    def _online_store(self, company):
        """The demo's sales orders are the web and phone orders of the chain:
        their sales team counts for an online store."""
        team = self.env.ref(
            "sales_team.team_sales_department", raise_if_not_found=False
        )
        if not team:
            return
        store = self.env["customer.store"].create(
            {"name": "网店 Online Shop", "company_id": company.id, "sequence": 20}
        )
        team.loyalty_store_id = store
        self.env["ir.model.data"]._update_xmlids(
            [
                {
                    "xml_id": "repeat_customer_pos.demo_store_online",
                    "record": store,
                    "noupdate": True,
                }
            ]
        )

    def _counter_products(self):
        products = self.env["product.product"]
        for code in COUNTER_CODES:
            product = self.env.ref(
                f"repeat_customer.demo_product_{code[3:].lower()}",
                raise_if_not_found=False,
            )
            if product:
                products |= product
        products.write({"available_in_pos": True})
        return products

    def _shops(self, company):
        """Two points of sale, each with its own cash drawer (Odoo allows a
        cash journal on one point of sale only) and a shared WeChat Pay."""
        bank_journal = self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
        )
        wechat = self.env["pos.payment.method"].create(
            {"name": "WeChat Pay", "journal_id": bank_journal.id}
        )
        configs = self.env["pos.config"]
        for index, (_key, name) in enumerate(DEMO_SHOPS, start=1):
            drawer = self.env["account.journal"].create(
                {"name": f"Cash {name}", "type": "cash", "code": f"TILL{index}"}
            )
            cash = self.env["pos.payment.method"].create(
                {"name": "Cash", "journal_id": drawer.id, "is_cash_count": True}
            )
            configs |= self.env["pos.config"].create(
                {"name": name, "payment_method_ids": [Command.set((cash | wechat).ids)]}
            )
        self.env["ir.model.data"]._update_xmlids(
            [
                {
                    "xml_id": f"repeat_customer_pos.demo_{kind}_{key}",
                    "record": record,
                    "noupdate": True,
                }
                for (key, _name), config in zip(DEMO_SHOPS, configs, strict=True)
                for kind, record in (
                    ("pos_config", config),
                    ("store", config.loyalty_store_id),
                )
            ]
        )
        return configs

    def _visits(self, rng, company):
        """(partner id or False, days ago, shop index) of every till order."""
        members = self.env["customer.membership"].search(
            [("company_id", "=", company.id), ("order_count", ">", 0)]
        )
        visits = []
        for member in members.filtered(lambda m: not m.partner_id.is_company):
            if rng.random() >= BOTH_CHANNELS_SHARE:
                continue
            shop = rng.randrange(len(DEMO_SHOPS))
            first = (company._loyalty_today() - member.first_order_date).days
            last = (company._loyalty_today() - member.last_order_date).days
            for _index in range(rng.randint(1, 6)):
                # mostly their home shop, around the time they buy online
                where = shop if rng.random() < 0.85 else 1 - shop
                visits.append(
                    (member.partner_id.id, rng.randint(max(last - 15, 0), first), where)
                )
        generator = DemoGenerator(self.env)
        used = set(self.env["res.partner"].search([]).mapped("email"))
        for _index in range(TILL_ONLY_CUSTOMERS):
            name, email, mobile = generator._demo_person(rng, used)
            partner = self.env["res.partner"].create(
                {"name": name, "email": email, "mobile": mobile}
            )
            shop = rng.randrange(len(DEMO_SHOPS))
            last = rng.choice([rng.randint(0, 40), rng.randint(40, 400)])
            for _visit in range(rng.randint(1, 12)):
                visits.append(
                    (partner.id, rng.randint(last, min(last + 300, HISTORY_DAYS)), shop)
                )
        for _index in range(ANONYMOUS_ORDERS):
            visits.append(
                (False, rng.randint(0, HISTORY_DAYS), rng.randrange(len(DEMO_SHOPS)))
            )
        return sorted(visits, key=lambda visit: -visit[1])

    def _sell(self, rng, config, products, visits, now):
        """Open a session of ``config``, sync its orders, close it."""
        config.open_ui()
        session = config.current_session_id
        session.set_opening_control(0, None)
        cash = config.payment_method_ids.filtered("is_cash_count")[:1]
        other = config.payment_method_ids - cash
        orders = self.env["pos.order"]
        for start in range(0, len(visits), SYNC_BATCH):
            batch = [
                self._order_data(
                    rng, session, products, partner, days_ago, now, cash, other
                )
                for partner, days_ago, _shop in visits[start : start + SYNC_BATCH]
            ]
            result = orders.sync_from_ui(batch)
            self.env.flush_all()
            self.env.invalidate_all()
            _logger.debug("%s orders synced", len(result["pos.order"]))
        cash_total = sum(
            session.order_ids.payment_ids.filtered(
                lambda p: p.payment_method_id == cash
            ).mapped("amount")
        )
        session.post_closing_cash_details(cash_total)
        session.close_session_from_ui()
        return len(visits)

    def _order_data(self, rng, session, products, partner, days_ago, now, cash, other):
        when = now.replace(
            hour=rng.choices(DEMO_HOURS, weights=DEMO_HOUR_WEIGHTS)[0],
            minute=rng.randint(0, 59),
            second=rng.randint(0, 59),
        ) - timedelta(days=days_ago)
        when = min(when, now - timedelta(minutes=rng.randint(5, 90)))
        lines = []
        for product in rng.sample(
            products, k=min(rng.choice([1, 1, 2, 2, 3]), len(products))
        ):
            qty = rng.choices([1, 2, 3, 4], weights=[60, 25, 10, 5])[0]
            taxes = product.taxes_id.filtered(
                lambda t: t.company_id == session.company_id
            )
            price = product.lst_price
            computed = taxes.compute_all(price, session.currency_id, qty, product)
            lines.append(
                Command.create(
                    {
                        "product_id": product.id,
                        "qty": qty,
                        "price_unit": price,
                        "discount": 0.0,
                        "price_subtotal": computed["total_excluded"],
                        "price_subtotal_incl": computed["total_included"],
                        "tax_ids": [Command.set(taxes.ids)],
                    }
                )
            )
        total = sum(line[2]["price_subtotal_incl"] for line in lines)
        untaxed = sum(line[2]["price_subtotal"] for line in lines)
        method = cash if rng.random() < 0.3 or not other else other[:1]
        return {
            "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
            "name": f"Order {session.id}-{rng.getrandbits(32)}",
            "session_id": session.id,
            "partner_id": partner,
            "date_order": fields.Datetime.to_string(when),
            "user_id": self.env.uid,
            "pricelist_id": session.config_id.pricelist_id.id,
            "fiscal_position_id": False,
            "sequence_number": 1,
            "lines": lines,
            "payment_ids": [
                Command.create(
                    {
                        "amount": total,
                        "name": fields.Datetime.to_string(when),
                        "payment_method_id": method.id,
                    }
                )
            ],
            "amount_paid": total,
            "amount_total": total,
            "amount_tax": total - untaxed,
            "amount_return": 0,
            "to_invoice": False,
            "last_order_preparation_change": "{}",
        }
