"""Enrolment: who becomes a member, set-wise (from the order history, or by hand)."""

from odoo import api, models
from odoo.tools import SQL

from ..tools.demographics import age_band_sql

# up to this many candidates, enrolment probes each one through indexes;
# above, it matches them all in one pass over the documents
FEW_CANDIDATES = 2000


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
                    country_id, state_id, city, gender, age_band,
                    create_uid, create_date, write_uid, write_date)
                SELECT new.id, 'M' || lpad(new.id::text, 7, '0'), new.partner_id,
                       %(company)s, new.user_id, new.join_date, 'active',
                       new.country_id, new.state_id, new.city, new.gender,
                       new.age_band,
                       %(uid)s, now() at time zone 'UTC',
                       %(uid)s, now() at time zone 'UTC'
                  FROM (
                      SELECT nextval('customer_membership_id_seq') AS id,
                             src.partner_id, partner.user_id, src.join_date,
                             partner.country_id, partner.state_id, partner.city,
                             partner.gender, %(age_band)s AS age_band
                        FROM unnest(%(partners)s::int[], %(dates)s::date[])
                             AS src(partner_id, join_date)
                        JOIN res_partner partner ON partner.id = src.partner_id
                  ) AS new
                ON CONFLICT (partner_id, company_id) DO NOTHING
                RETURNING id
                """,
                company=company.id,
                uid=self.env.uid,
                age_band=age_band_sql(
                    SQL("partner.birthdate_date"),
                    SQL("%s::date", company._loyalty_today()),
                ),
                partners=[row[0] for row in rows],
                dates=[row[1] for row in rows],
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _enrol_from_history(self, company):
        """Enrol every active customer with purchases in ``company``'s history.

        Set-wise whatever the planner's estimates (a history bulk-loaded just
        before has none):

        1. the tables read are analysed first when their statistics are
           missing or stale (``_job_analyze``);
        2. the candidates, active commercial partners not yet members, are
           read in one anti-join;
        3. a few candidates (a normal night) are probed through the indexes
           on their documents; many (the install on a history) are matched in
           one pass over the documents with hash joins, never nested loops.

        The join date is the customer's first purchase. Return the number of
        new members.
        """
        self.env.flush_all()
        self._analyze_sources(company)
        with self._job_setwise_plans():
            self.env.cr.execute(
                SQL(
                    """
                    SELECT cp.id FROM res_partner cp
                     WHERE cp.active AND cp.id = cp.commercial_partner_id
                       AND NOT EXISTS (
                           SELECT 1 FROM customer_membership m
                            WHERE m.partner_id = cp.id AND m.company_id = %s)
                    """,
                    company.id,
                )
            )
            candidates = [row[0] for row in self.env.cr.fetchall()]
        if not candidates:
            return 0
        Purchase = self.env["customer.purchase"]
        if len(candidates) <= FEW_CANDIDATES:
            # each candidate's documents, through the indexes
            select = SQL(
                """
                SELECT id, day FROM (
                    SELECT c.id, (SELECT min(d.day) FROM (%(documents)s) d
                                   WHERE d.is_order = 1) AS day
                      FROM unnest(%(ids)s::int[]) AS c(id)
                ) first
                 WHERE day IS NOT NULL
                """,
                ids=candidates,
                documents=Purchase._documents_sql(company, SQL("c.id")),
            )
            created = self._insert_memberships(company, select)
        else:
            select = SQL(
                """
                SELECT d.partner_id, min(d.day) FROM (%(documents)s) d
                 WHERE d.is_order = 1
                 GROUP BY d.partner_id
                """,
                documents=Purchase._documents_sql(
                    company, SQL("SELECT unnest(%s::int[])", candidates)
                ),
            )
            with self._job_setwise_plans():
                created = self._insert_memberships(company, select)
        # the figures that follow read the new memberships
        self._job_analyze(["customer_membership"])
        # new members with a history qualify for their tier at once
        self.env["customer.tier"].sudo()._apply_tiers(company, created)
        return len(created)

    @api.model
    def _analyze_sources(self, company):
        """Refresh the planner statistics of the tables the computation of
        ``company`` reads, where they are missing or stale."""
        return self._job_analyze(
            [
                "res_partner",
                "customer_membership",
                *self.env["customer.purchase"]._document_tables(company),
            ]
        )
