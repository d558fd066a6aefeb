"""Enrolment: who becomes a member, set-wise (from the order history, or by hand)."""

from odoo import api, models
from odoo.tools import SQL


class CustomerMembership(models.Model):
    _inherit = "customer.membership"

    # ------------------------------------------------------------------
    # Enrolment
    # ------------------------------------------------------------------
    @api.model
    def _enrol_partners(self, company, partners):
        """Enrol the commercial entities of ``partners`` in ``company``.

        Set-wise and idempotent: customers already enrolled are left alone.
        Return the memberships of those customers in that company.
        """
        commercial_ids = list(set(partners.commercial_partner_id.ids))
        if not commercial_ids:
            return self.browse()
        # the INSERT reads the partners' salesperson and existing memberships
        self.env["res.partner"].flush_model(["user_id"])
        self.flush_model()
        self._insert_memberships(
            company,
            SQL(
                """
                SELECT cp.id, %(today)s::date
                  FROM res_partner cp
                 WHERE cp.id = ANY(%(ids)s)
                   AND NOT EXISTS (
                       SELECT 1 FROM customer_membership m
                        WHERE m.partner_id = cp.id AND m.company_id = %(company)s)
                """,
                today=company._loyalty_today(),
                ids=commercial_ids,
                company=company.id,
            ),
        )
        return self.search(
            [("partner_id", "in", commercial_ids), ("company_id", "=", company.id)]
        )

    @api.model
    def _insert_memberships(self, company, select):
        """INSERT memberships from ``select`` (partner id, join date) rows, with
        their member number. Return the ids of the memberships created.

        The candidates are read first and inserted in a second statement: a
        statement that inserts memberships while probing the same table for
        existing ones may rescan its own new rows for every candidate.
        """
        self.env.cr.execute(select)
        rows = self.env.cr.fetchall()
        if not rows:
            return []
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO customer_membership (
                    id, name, partner_id, company_id, user_id, join_date, state,
                    create_uid, create_date, write_uid, write_date)
                SELECT new.id, 'M' || lpad(new.id::text, 7, '0'), new.partner_id,
                       %(company)s, new.user_id, new.join_date, 'active',
                       %(uid)s, now() at time zone 'UTC',
                       %(uid)s, now() at time zone 'UTC'
                  FROM (
                      SELECT nextval('customer_membership_id_seq') AS id,
                             src.partner_id, partner.user_id, src.join_date
                        FROM unnest(%(partners)s::int[], %(dates)s::date[])
                             AS src(partner_id, join_date)
                        JOIN res_partner partner ON partner.id = src.partner_id
                  ) AS new
                ON CONFLICT (partner_id, company_id) DO NOTHING
                RETURNING id
                """,
                company=company.id,
                uid=self.env.uid,
                partners=[row[0] for row in rows],
                dates=[row[1] for row in rows],
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _enrol_from_history(self, company):
        """Enrol every active customer with purchases in ``company``'s history.

        Scans the commercial partners that are not members yet and probes
        their documents through indexes, so a nightly run where everybody is
        enrolled already costs one pass over the partners. The join date is
        the customer's first purchase. Return the number of new members.
        """
        self.env.flush_all()
        not_member = SQL(
            """
            cp.active
            AND cp.id = cp.commercial_partner_id
            AND NOT EXISTS (
                SELECT 1 FROM customer_membership m
                 WHERE m.partner_id = cp.id AND m.company_id = %(company)s)
            """,
            company=company.id,
        )
        if company.loyalty_stats_source == "invoice":
            select = SQL(
                """
                SELECT cp.id, first.day
                  FROM res_partner cp
                  CROSS JOIN LATERAL (
                      SELECT min(am.invoice_date) AS day
                        FROM account_move am
                       WHERE am.commercial_partner_id = cp.id
                         AND am.company_id = %(company)s
                         AND am.state = 'posted'
                         AND am.move_type = 'out_invoice'
                  ) first
                 WHERE %(not_member)s AND first.day IS NOT NULL
                """,
                company=company.id,
                not_member=not_member,
            )
        else:
            select = SQL(
                """
                SELECT cp.id, first.day
                  FROM res_partner cp
                  CROSS JOIN LATERAL (
                      SELECT min((so.date_order AT TIME ZONE 'UTC'
                                  AT TIME ZONE %(tz)s)::date) AS day
                        FROM res_partner p
                        JOIN sale_order so ON so.partner_id = p.id
                       WHERE p.commercial_partner_id = cp.id
                         AND so.company_id = %(company)s
                         AND so.state = 'sale'
                  ) first
                 WHERE %(not_member)s AND first.day IS NOT NULL
                """,
                company=company.id,
                tz=company._loyalty_tz(),
                not_member=not_member,
            )
        return len(self._insert_memberships(company, select))
