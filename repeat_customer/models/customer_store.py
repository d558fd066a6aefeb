"""Stores: the shops of a chain, and where each member buys.

A purchase carries its store (``customer.purchase``): a till order the
store of its point of sale, a sales order (or invoice) the store of its
sales team. A member's figures per store and home store (where most of
their purchases are) are written by the statistics pass.
"""

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.numbers import one_record, pg_array


class CustomerStore(models.Model):
    _name = "customer.store"
    _inherit = ["customer.values.mixin"]
    _description = "Store"
    _order = "sequence, name, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        string="Company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    team_ids = fields.One2many(
        "crm.team",
        "loyalty_store_id",
        string="Sales Teams",
        help="The sales orders and invoices of these teams count for this store.",
    )
    member_count = fields.Integer(
        string="Members",
        compute="_compute_member_count",
        help="Members whose home store this is: most of their purchases are here.",
    )

    _sql_constraints = [
        (
            "name_company_uniq",
            "unique(name, company_id)",
            "A store of that name already exists in this company.",
        ),
    ]

    def _compute_member_count(self):
        counts = dict(
            self.env["customer.membership"]._read_group(
                [("home_store_id", "in", self.ids)], ["home_store_id"], ["__count"]
            )
        )
        for store in self:
            store.member_count = counts.get(store, 0)

    def action_open_members(self):
        one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_membership_action"
        )
        action["domain"] = [("home_store_id", "=", self.id)]
        action["context"] = {}
        return action


class CrmTeam(models.Model):
    _inherit = "crm.team"

    loyalty_store_id = fields.Many2one(
        "customer.store",
        string="Store",
        index="btree_not_null",
        domain="[('company_id', 'in', [company_id] if company_id "
        "else allowed_company_ids)]",
        help="The store the team's sales orders and invoices count for in the "
        "loyalty figures (a chain's shop). Leave empty for a team that sells "
        "from no shop. A team of every company counts for its store in the "
        "store's company only.",
    )


class CustomerMembershipStore(models.Model):
    _name = "customer.membership.store"
    _inherit = ["customer.values.mixin"]
    _description = "Member's Purchases in a Store"
    _order = "order_count desc, total_spent desc, id"

    membership_id = fields.Many2one(
        "customer.membership",
        string="Member",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    company_id = fields.Many2one(
        "res.company", string="Company", required=True, index=True, readonly=True
    )
    store_id = fields.Many2one(
        "customer.store",
        string="Store",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    order_count = fields.Integer(string="Orders", readonly=True)
    total_spent = fields.Monetary(
        string="Total Spent",
        readonly=True,
        help="Untaxed, in the company's currency, net of returns.",
    )
    last_order_date = fields.Date(string="Last Purchase", readonly=True)

    _sql_constraints = [
        (
            "membership_store_uniq",
            "unique(membership_id, store_id)",
            "A member has one row per store.",
        ),
    ]


class CustomerMembership(models.Model):
    _inherit = "customer.membership"

    home_store_id = fields.Many2one(
        "customer.store",
        string="Home Store",
        readonly=True,
        index="btree_not_null",
        help="The store of most of the member's purchases (then the most spent, "
        "then the latest).",
    )
    store_figure_ids = fields.One2many(
        "customer.membership.store",
        "membership_id",
        string="Purchases per Store",
        readonly=True,
    )

    @api.model
    def _update_store_figures(self, company, membership_ids):
        """Rewrite the figures per store and the home store of the members
        ``membership_ids`` of ``company`` from their purchases: rows that
        changed are updated, new ones inserted, stale ones deleted."""
        if not membership_ids:
            return
        # a company without stores has no figures per store (deleting a
        # store deletes its rows and empties the home stores it was)
        if not self.env["customer.purchase"]._has_stores(company):
            return
        ids = pg_array(membership_ids)
        self.env.cr.execute(
            SQL(
                """
                WITH mem AS (
                    SELECT id, partner_id FROM customer_membership
                     WHERE id = ANY(%(ids)s::int[]) AND company_id = %(company)s
                ),
                purchase(membership_id, day, amount, is_order, store_id)
                    AS (%(purchases)s),
                fresh AS (
                    SELECT membership_id, store_id,
                           sum(is_order)::int AS order_count,
                           sum(amount) AS total_spent,
                           max(day) FILTER (WHERE is_order = 1) AS last_day
                      FROM purchase
                     WHERE store_id IS NOT NULL
                     GROUP BY membership_id, store_id
                ),
                gone AS (
                    DELETE FROM customer_membership_store s
                     WHERE s.membership_id = ANY(%(ids)s::int[])
                       AND NOT EXISTS (
                           SELECT 1 FROM fresh f
                            WHERE f.membership_id = s.membership_id
                              AND f.store_id = s.store_id)
                )
                INSERT INTO customer_membership_store AS s
                       (membership_id, company_id, store_id, order_count,
                        total_spent, last_order_date, create_uid, create_date,
                        write_uid, write_date)
                SELECT membership_id, %(company)s, store_id, order_count,
                       total_spent, last_day, %(uid)s, now() AT TIME ZONE 'UTC',
                       %(uid)s, now() AT TIME ZONE 'UTC'
                  FROM fresh
                ON CONFLICT (membership_id, store_id) DO UPDATE
                   SET order_count = EXCLUDED.order_count,
                       total_spent = EXCLUDED.total_spent,
                       last_order_date = EXCLUDED.last_order_date,
                       write_date = EXCLUDED.write_date
                 WHERE (s.order_count, s.total_spent, s.last_order_date)
                       IS DISTINCT FROM
                       (EXCLUDED.order_count, EXCLUDED.total_spent,
                        EXCLUDED.last_order_date)
                """,
                ids=ids,
                company=company.id,
                uid=self.env.uid,
                purchases=self._purchases_query(company),
            )
        )
        # the home store, from the rows just written (the DELETE above ran
        # in the same statement; its rows are gone now)
        self.env.cr.execute(
            SQL(
                """
                UPDATE customer_membership m
                   SET home_store_id = h.store_id
                  FROM (
                      SELECT mem.id,
                             (SELECT s.store_id FROM customer_membership_store s
                               WHERE s.membership_id = mem.id
                                 AND s.order_count > 0
                               ORDER BY s.order_count DESC, s.total_spent DESC,
                                        s.last_order_date DESC NULLS LAST,
                                        s.store_id
                               LIMIT 1) AS store_id
                        FROM unnest(%(ids)s::int[]) AS mem(id)
                  ) h
                 WHERE m.id = h.id
                   AND m.home_store_id IS DISTINCT FROM h.store_id
                """,
                ids=ids,
            )
        )
        self.env["customer.membership.store"].invalidate_model()
        self.invalidate_model(["home_store_id", "store_figure_ids"])
