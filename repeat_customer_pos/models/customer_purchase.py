"""The till's orders in the purchase stream (``customer.purchase``).

Paid, posted and invoiced orders of a customer are purchases; an order whose
total is negative (a refund at the till) is a return. An order invoiced later
stays one purchase: the till order counts, its invoice does not.
"""

from odoo import api, models
from odoo.tools import SQL

# the states of a till order that count: paid, posted with its session,
# invoiced (a draft is a cart, a cancelled order never was)
COUNTED_STATES = ("paid", "done", "invoiced")


class CustomerPurchase(models.AbstractModel):
    _inherit = "customer.purchase"

    @api.model
    def _document_branches(self, company, scope):
        return [
            *super()._document_branches(company, scope),
            self._pos_documents(company, scope),
        ]

    @api.model
    def _line_branches(self, company, scope, since):
        return [
            *super()._line_branches(company, scope, since),
            self._pos_lines(company, scope, since),
        ]

    @api.model
    def _changed_branches(self, company, since, old_start, new_start):
        return [
            *super()._changed_branches(company, since, old_start, new_start),
            self._changed_orders(
                company,
                "pos_order",
                SQL("so.state IN %s", COUNTED_STATES),
                since,
                old_start,
                new_start,
            ),
        ]

    @api.model
    def _counted_invoices(self, company):
        # the invoice of a till order: the order itself counts
        return SQL(
            "%s AND NOT EXISTS (SELECT 1 FROM pos_order po "
            "WHERE po.account_move = am.id)",
            super()._counted_invoices(company),
        )

    @api.model
    def _channel_codes(self):
        return {**super()._channel_codes(), "pos.order": 2}

    @api.model
    def _store_map(self, company):
        self.env.cr.execute(
            SQL(
                "SELECT 'pos.config', id, loyalty_store_id FROM pos_config "
                "WHERE company_id = %s ORDER BY id",
                company.id,
            )
        )
        tills = [list(row) for row in self.env.cr.fetchall()]
        return super()._store_map(company) + tills

    @api.model
    def _document_tables(self, company):
        return [*super()._document_tables(company), "pos_order"]

    @api.model
    def _line_tables(self, company):
        return [*super()._line_tables(company), "pos_order", "pos_order_line"]

    @api.model
    def _pos_team(self):
        # the sales team of a till order exists with pos_sale only
        if "crm_team_id" in self.env["pos.order"]._fields:
            return SQL("po.crm_team_id")
        return SQL("NULL")

    @api.model
    def _pos_documents(self, company, scope):
        return SQL(
            """
            SELECT %(member)s, p.commercial_partner_id::int,
                   (po.date_order AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date,
                   po.date_order::timestamp,
                   po.date_order::timestamp,
                   ((po.amount_total - po.amount_tax)
                    / COALESCE(NULLIF(po.currency_rate, 0), 1.0))::numeric,
                   CASE WHEN po.amount_total < 0 THEN 0 ELSE 1 END,
                   'pos'::varchar,
                   pc.loyalty_store_id::int,
                   %(team)s::int,
                   po.user_id::int,
                   'pos.order'::varchar,
                   po.id
              FROM pos_order po
              JOIN res_partner p ON p.id = po.partner_id
              %(members)s
              JOIN pos_config pc ON pc.id = po.config_id
             WHERE po.company_id = %(company)s
               AND po.state IN %(states)s
               AND %(partners)s
            """,
            member=scope.member(),
            members=scope.join(SQL("p.commercial_partner_id")),
            tz=company._loyalty_tz(),
            team=self._pos_team(),
            company=company.id,
            states=COUNTED_STATES,
            partners=scope.filter(SQL("p.commercial_partner_id")),
        )

    @api.model
    def _pos_lines(self, company, scope, since):
        """Product lines of the counted till orders: not the combo headers
        (their items are lines of their own), tips, or reward lines; a
        refund's lines are negative, which nets the returned products."""
        tz = company._loyalty_tz()
        rewarded = "reward_id" in self.env["pos.order.line"]._fields
        return SQL(
            """
            SELECT %(member)s, p.commercial_partner_id::int,
                   -po.id::bigint,
                   po.date_order AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s,
                   %(team)s::int,
                   pc.loyalty_store_id::int,
                   'pos'::varchar,
                   pol.product_id,
                   pt.categ_id,
                   %(promoted)s,
                   pol.qty::numeric,
                   (pol.price_subtotal
                    / COALESCE(NULLIF(po.currency_rate, 0), 1.0))::numeric
              FROM pos_order po
              JOIN res_partner p ON p.id = po.partner_id
              %(members)s
              JOIN pos_config pc ON pc.id = po.config_id
              JOIN pos_order_line pol ON pol.order_id = po.id
              JOIN product_product pp ON pp.id = pol.product_id
              JOIN product_template pt ON pt.id = pp.product_tmpl_id
             WHERE po.company_id = %(company)s
               AND po.state IN %(states)s
               AND %(partners)s
               AND %(since)s
               AND pt.type <> 'combo'
               AND pol.product_id IS DISTINCT FROM pc.tip_product_id
               AND %(not_reward)s
            """,
            member=scope.member(),
            members=scope.join(SQL("p.commercial_partner_id")),
            tz=tz,
            team=self._pos_team(),
            promoted=SQL(
                "EXISTS (SELECT 1 FROM pos_order_line x "
                "WHERE x.order_id = po.id AND x.reward_id IS NOT NULL)"
            )
            if rewarded
            else SQL("FALSE"),
            company=company.id,
            states=COUNTED_STATES,
            partners=scope.filter(SQL("p.commercial_partner_id")),
            since=self._since_day(SQL("po.date_order"), tz, since),
            not_reward=SQL("pol.reward_id IS NULL") if rewarded else SQL("TRUE"),
        )
