"""The purchase stream: what a purchase is, for every figure of the addon.

A purchase is a document of a customer, whatever the channel it came
through: a confirmed sales order (or a posted invoice, per the company's
statistics source), and what a channel bridge adds (the till's orders in
``repeat_customer_pos``). Every computation that needs purchases reads
``_documents_sql`` or ``_lines_sql`` and nothing else; a channel adds its
branch by overriding ``_document_branches`` and ``_line_branches``, the way
Odoo's ``pos_sale`` adds one ``UNION ALL`` to the sales report.
"""

from odoo import api, models
from odoo.tools import SQL

# the columns of a document row, in order, with the type every branch
# casts to (a UNION ALL needs them equal)
DOCUMENT_COLUMNS = (
    ("membership_id", "int"),  # the member, when the scope has members
    ("partner_id", "int"),  # the customer: the commercial partner
    ("day", "date"),  # the purchase day, in the company's time zone
    ("moment", "timestamp"),  # when it was bought, UTC
    ("delivered", "timestamp"),  # when it was handed over, UTC, or NULL
    ("amount", "numeric"),  # untaxed, company currency, < 0 for a return
    ("is_order", "int"),  # 1 a purchase, 0 a return
    ("channel", "varchar"),  # 'sale', 'invoice', 'pos', ...
    ("store_id", "int"),  # customer.store, or NULL
    ("team_id", "int"),  # crm.team, or NULL
    ("user_id", "int"),  # res.users: the salesperson, the cashier
    ("res_model", "varchar"),  # the source document
    ("res_id", "int"),
)
# the columns of a line row
LINE_COLUMNS = (
    ("membership_id", "int"),
    ("partner_id", "int"),
    ("order_id", "bigint"),  # the document, unique across channels
    ("local_at", "timestamp"),  # when it was bought, company time zone
    ("team_id", "int"),
    ("store_id", "int"),
    ("channel", "varchar"),
    ("product_id", "int"),
    ("categ_id", "int"),
    ("promoted", "boolean"),  # the document used a reward or points
    ("quantity", "numeric"),  # net of returns
    ("amount", "numeric"),  # untaxed, company currency, net of returns
)


class Scope:
    """Whose purchases a query reads: every customer of the company, the
    customers of a set of commercial partners (``partners``: SQL of a query
    of their ids, or of an outer column), or the members of a relation
    (``members``: SQL of a table or subquery with ``id`` and
    ``partner_id``), joined inside each channel's query so that the planner
    joins them there, as it would a query written for one channel."""

    def __init__(self, partners=None, members=None):
        self.partners = partners
        self.members = members

    def join(self, column):
        """The JOIN of the members on the commercial partner ``column``."""
        if self.members is None:
            return SQL()
        return SQL("JOIN %s AS mem ON mem.partner_id = %s", self.members, column)

    def member(self):
        """The membership id column of a row."""
        return SQL("mem.id") if self.members is not None else SQL("NULL::int")

    def filter(self, column):
        """The condition of ``partners`` on the commercial partner
        ``column`` (the members are joined)."""
        if self.partners is not None:
            return SQL("%s IN (%s)", column, self.partners)
        return SQL("TRUE")

    def where(self, column):
        """The condition on the commercial partner ``column``, members
        included (for a subquery that does not join them)."""
        if self.partners is not None:
            return SQL("%s IN (%s)", column, self.partners)
        if self.members is not None:
            return SQL("%s IN (SELECT partner_id FROM %s)", column, self.members)
        return SQL("TRUE")


class CustomerPurchase(models.AbstractModel):
    _name = "customer.purchase"
    _description = "Purchases of Every Channel"

    # ------------------------------------------------------------------
    # Documents
    # ------------------------------------------------------------------
    @api.model
    def _documents_sql(self, company, partners=None, members=None):
        """SQL of the purchase documents of ``company``, one row each, with
        the columns of ``DOCUMENT_COLUMNS``, restricted to the customers of
        ``partners`` or to the members of ``members`` (see ``Scope``)."""
        return self._named(
            DOCUMENT_COLUMNS,
            self._document_branches(company, Scope(partners, members)),
        )

    @api.model
    def _document_branches(self, company, scope):
        """The ``SELECT``s of the documents, one per channel, restricted to
        ``scope`` (a ``Scope``). Override to add a channel."""
        if company.loyalty_stats_source == "invoice":
            return [self._invoice_documents(company, scope)]
        return [self._sale_documents(company, scope)]

    @api.model
    def _sale_documents(self, company, scope):
        # handed over: Inventory's effective date when sale_stock is
        # installed (none before the delivery), else the confirmation
        delivered = SQL.identifier(
            "so",
            "effective_date"
            if "effective_date" in self.env["sale.order"]._fields
            else "date_order",
        )
        return SQL(
            """
            SELECT %(member)s, p.commercial_partner_id::int,
                   (so.date_order AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date,
                   so.date_order::timestamp,
                   %(delivered)s::timestamp,
                   (so.amount_untaxed
                    / COALESCE(NULLIF(so.currency_rate, 0), 1.0))::numeric,
                   1,
                   'sale'::varchar,
                   %(store)s::int,
                   so.team_id::int,
                   so.user_id::int,
                   'sale.order'::varchar,
                   so.id
              FROM sale_order so
              JOIN res_partner p ON p.id = so.partner_id
              %(members)s
              %(store_join)s
             WHERE so.company_id = %(company)s
               AND so.state = 'sale'
               AND %(partners)s
            """,
            store=self._team_store(company, "so")[0],
            store_join=self._team_store(company, "so")[1],
            member=scope.member(),
            tz=company._loyalty_tz(),
            delivered=delivered,
            members=scope.join(SQL("p.commercial_partner_id")),
            company=company.id,
            partners=scope.filter(SQL("p.commercial_partner_id")),
        )

    @api.model
    def _invoice_documents(self, company, scope):
        return SQL(
            """
            SELECT %(member)s, am.commercial_partner_id::int,
                   am.invoice_date,
                   am.create_date::timestamp,
                   am.create_date::timestamp,
                   am.amount_untaxed_signed::numeric,
                   CASE WHEN am.move_type = 'out_invoice' THEN 1 ELSE 0 END,
                   'invoice'::varchar,
                   %(store)s::int,
                   am.team_id::int,
                   am.invoice_user_id::int,
                   'account.move'::varchar,
                   am.id
              FROM account_move am
              %(members)s
              %(store_join)s
             WHERE am.company_id = %(company)s
               AND am.state = 'posted'
               AND am.move_type IN ('out_invoice', 'out_refund')
               AND %(partners)s
               AND %(invoices)s
            """,
            store=self._team_store(company, "am")[0],
            store_join=self._team_store(company, "am")[1],
            member=scope.member(),
            members=scope.join(SQL("am.commercial_partner_id")),
            company=company.id,
            partners=scope.filter(SQL("am.commercial_partner_id")),
            invoices=self._counted_invoices(company),
        )

    @api.model
    def _counted_invoices(self, company):
        """The condition on ``am`` of the invoices that are purchases of the
        invoice source: a channel that counts its documents itself (a till
        order invoiced later) leaves its invoices out here."""
        return SQL("TRUE")

    # ------------------------------------------------------------------
    # Lines
    # ------------------------------------------------------------------
    @api.model
    def _lines_sql(self, company, partners=None, since=None, members=None):
        """SQL of the product lines of the purchases of ``company`` whose
        day is ``since`` or later (None: all), with the columns of
        ``LINE_COLUMNS``: product lines only (no notes, reward,
        points-redemption or down-payment lines), quantity and amount net of
        returns. Lines come from orders whatever the statistics source: an
        invoice's lines are its order's."""
        return self._named(
            LINE_COLUMNS,
            self._line_branches(company, Scope(partners, members), since),
        )

    @api.model
    def _line_branches(self, company, scope, since):
        """The ``SELECT``s of the lines, one per channel. Override to add
        a channel."""
        return [self._sale_lines(company, scope, since)]

    @api.model
    def _sale_lines(self, company, scope, since):
        tz = company._loyalty_tz()
        return SQL(
            """
            SELECT l.membership_id, l.partner_id, l.order_id::bigint, l.local_at,
                   l.team_id,
                   l.store_id, 'sale'::varchar, l.product_id, l.categ_id,
                   l.promoted,
                   GREATEST(l.ordered - COALESCE(r.quantity, 0), 0)::numeric,
                   (CASE WHEN l.ordered > 0
                        THEN l.price_subtotal
                             * GREATEST(l.ordered - COALESCE(r.quantity, 0), 0)
                             / l.ordered / l.rate
                        ELSE 0 END)::numeric
              FROM (
                SELECT %(member)s AS membership_id,
                       p.commercial_partner_id AS partner_id, so.id AS order_id,
                       so.date_order AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s
                           AS local_at,
                       so.team_id, %(store)s::int AS store_id,
                       COALESCE(NULLIF(so.currency_rate, 0), 1.0) AS rate,
                       EXISTS (
                           SELECT 1 FROM sale_order_line x
                            WHERE x.order_id = so.id
                              AND (x.reward_id IS NOT NULL
                                   OR x.loyalty_point_entry_id IS NOT NULL)
                       ) AS promoted,
                       sol.id AS line_id, sol.product_id, pt.categ_id,
                       sol.product_uom_qty AS ordered, sol.price_subtotal
                  FROM sale_order so
                  JOIN res_partner p ON p.id = so.partner_id
                  %(members)s
                  %(store_join)s
                  JOIN sale_order_line sol ON sol.order_id = so.id
                  JOIN product_product pp ON pp.id = sol.product_id
                  JOIN product_template pt ON pt.id = pp.product_tmpl_id
                 WHERE so.company_id = %(company)s AND so.state = 'sale'
                   AND %(partners)s
                   AND %(since)s
                   AND sol.display_type IS NULL
                   AND sol.reward_id IS NULL
                   AND NOT COALESCE(sol.is_downpayment, FALSE)
                   AND sol.loyalty_point_entry_id IS NULL
              ) l
              LEFT JOIN (
                SELECT rel.order_line_id, sum(aml.quantity) AS quantity
                  FROM sale_order_line_invoice_rel rel
                  JOIN account_move_line aml ON aml.id = rel.invoice_line_id
                  JOIN account_move am ON am.id = aml.move_id
                 WHERE am.state = 'posted' AND am.move_type = 'out_refund'
                   AND am.company_id = %(company)s
                   AND %(refund_partners)s
                 GROUP BY rel.order_line_id
              ) r ON r.order_line_id = l.line_id
            """,
            member=scope.member(),
            members=scope.join(SQL("p.commercial_partner_id")),
            store=self._team_store(company, "so")[0],
            store_join=self._team_store(company, "so")[1],
            tz=tz,
            company=company.id,
            partners=scope.filter(SQL("p.commercial_partner_id")),
            refund_partners=scope.where(SQL("am.commercial_partner_id")),
            since=self._since_day(SQL("so.date_order"), tz, since),
        )

    # ------------------------------------------------------------------
    # Changes
    # ------------------------------------------------------------------
    @api.model
    def _changed_partners_sql(self, company, since, old_start, new_start):
        """SQL of the commercial partners of ``company`` whose documents of
        any channel changed since ``since`` (in any state: a cancelled order
        changes its customer's figures), or whose purchases of the days
        after ``old_start`` up to ``new_start`` left a window starting on
        one of these days."""
        return SQL(" UNION ALL ").join(
            self._changed_branches(company, since, old_start, new_start)
        )

    @api.model
    def _changed_branches(self, company, since, old_start, new_start):
        if company.loyalty_stats_source == "invoice":
            return [
                SQL(
                    """
                    SELECT am.commercial_partner_id FROM account_move am
                     WHERE am.company_id = %(company)s
                       AND am.move_type IN ('out_invoice', 'out_refund')
                       AND (am.write_date >= %(since)s
                            OR (am.state = 'posted' AND am.invoice_date > %(old)s
                                AND am.invoice_date <= %(new)s))
                    """,
                    company=company.id,
                    since=since,
                    old=old_start,
                    new=new_start,
                )
            ]
        return [
            self._changed_orders(
                company,
                "sale_order",
                SQL("so.state = 'sale'"),
                since,
                old_start,
                new_start,
            )
        ]

    @api.model
    def _changed_orders(self, company, table, counted, since, old_start, new_start):
        """The partners of the orders of ``table`` (aliased ``so``, with a
        ``date_order``) changed since ``since`` or whose counted orders
        (``counted``) left the window."""
        return SQL(
            """
            SELECT p.commercial_partner_id
              FROM %(table)s so
              JOIN res_partner p ON p.id = so.partner_id
             WHERE so.company_id = %(company)s
               AND (so.write_date >= %(since)s
                    OR (%(counted)s
                        -- in UTC, a day around the local days
                        AND so.date_order >= %(old)s::date - 1
                        AND so.date_order < %(new)s::date + 2
                        AND (so.date_order AT TIME ZONE 'UTC'
                             AT TIME ZONE %(tz)s)::date
                            BETWEEN %(old)s::date + 1 AND %(new)s))
            """,
            table=SQL.identifier(table),
            company=company.id,
            since=since,
            counted=counted,
            old=old_start,
            new=new_start,
            tz=company._loyalty_tz(),
        )

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    @api.model
    def _channel_codes(self):
        """A small number per source model, unique: a report's row id made
        of a document's is ``res_id * 8 + 2 * code`` (even; odd ids are the
        report's other rows). Override to add a channel."""
        return {"sale.order": 0, "account.move": 1}

    @api.model
    def _document_row_id(self, alias):
        """SQL of that row id for the document rows of ``alias``."""
        cases = SQL(" ").join(
            SQL("WHEN %s THEN %s", model, code)
            for model, code in self._channel_codes().items()
        )
        return SQL(
            "(%(alias)s.res_id * 8 + 2 * CASE %(alias)s.res_model %(cases)s END)",
            alias=SQL.identifier(alias),
            cases=cases,
        )

    @api.model
    def _team_store(self, company, alias):
        """(the store column, its joins) of the documents of ``alias``, which
        have a ``team_id``: the store of the sales team, within the
        document's company; no join at all for a company without stores."""
        if not self._has_stores(company):
            return SQL("NULL"), SQL()
        doc = SQL.identifier(alias)
        return SQL("store.id"), SQL(
            """
            LEFT JOIN crm_team team ON team.id = %(doc)s.team_id
            LEFT JOIN customer_store store
              ON store.id = team.loyalty_store_id
             AND store.company_id = %(doc)s.company_id
            """,
            doc=doc,
        )

    @api.model
    def _has_stores(self, company):
        return bool(
            self.env["customer.store"]
            .sudo()
            .with_context(active_test=False)
            .search_count([("company_id", "=", company.id)], limit=1)
        )

    @api.model
    def _store_map(self, company):
        """Which store each source of documents counts for, as JSON-safe
        pairs: a change of it changes the statistics' signature, so the
        next night recomputes every member's figures per store."""
        self.env.cr.execute(
            SQL(
                """
                SELECT 'crm.team', t.id, t.loyalty_store_id FROM crm_team t
                  JOIN customer_store s ON s.id = t.loyalty_store_id
                 WHERE s.company_id = %s
                 ORDER BY t.id
                """,
                company.id,
            )
        )
        return [list(row) for row in self.env.cr.fetchall()]

    @api.model
    def _document_tables(self, company):
        """The tables the documents of ``company`` are read from, for the
        planner statistics a computation refreshes first."""
        if company.loyalty_stats_source == "invoice":
            return ["account_move"]
        return ["sale_order"]

    @api.model
    def _line_tables(self, company):
        """The tables the lines are read from."""
        return ["sale_order", "sale_order_line"]

    @api.model
    def _named(self, columns, branches):
        """The ``UNION ALL`` of ``branches``, its columns named."""
        return SQL(
            "SELECT * FROM (%s) AS purchase(%s)",
            SQL(" UNION ALL ").join(branches),
            SQL(", ".join(name for name, _type in columns)),
        )

    @api.model
    def _since_day(self, column, tz, since):
        """The condition that the UTC timestamp ``column`` falls on the
        local day ``since`` or later, on the column itself (so its index
        serves, a day of margin) and exactly."""
        if since is None:
            return SQL("TRUE")
        return SQL(
            "%(column)s >= %(since)s::date - 1 AND "
            "(%(column)s AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date >= %(since)s",
            column=column,
            since=since,
            tz=tz,
        )
