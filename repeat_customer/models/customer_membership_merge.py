from datetime import date

from odoo import api, models
from odoo.tools import SQL

from ..tools.numbers import one_record


class CustomerMembership(models.Model):
    """Merging memberships when Odoo's *Merge Contacts* merges customers."""

    _inherit = "customer.membership"

    @api.model
    def _merge_partners(self, src_partners, dst_partner):
        """Before Odoo moves the references of ``src_partners`` to
        ``dst_partner``: in each company, the memberships of all these
        customers become one, so that nothing is lost or counted twice.

        1. The surviving membership is the destination customer's, else the
           oldest one; it keeps its number, and the numbers of the others are
           written in its chatter.
        2. Ledger lines, coupons, tier history, RFM snapshots (but those of a
           day it already has), coupon batch targets, messages, followers and
           activities move to it; a batch's coupons are renumbered after the
           survivor's own, so that both customers' coupons stay.
        3. It keeps the higher of the tiers (a merge never downgrades), and
           the later of the tier floors.
        4. The balances add up, and a debt of one is settled from the
           other's available points, as later points settle a debt (see the
           ledger's ``_post``).

        Statistics, RFM and churn are recomputed by ``_merge_recompute``
        once Odoo has moved the orders. Return the surviving memberships.
        """
        target = dst_partner.commercial_partner_id
        partners = src_partners | dst_partner | target
        memberships = (
            self.sudo()
            .with_context(active_test=False)
            .search(
                [("partner_id", "in", partners.commercial_partner_id.ids)],
                order="id",
            )
        )
        survivors = self.browse()
        for company in memberships.company_id:
            in_company = memberships.filtered(lambda m, c=company: m.company_id == c)
            survivor = in_company.filtered(lambda m: m.partner_id == target)[:1]
            survivor = survivor or in_company[:1]
            for lost in in_company - survivor:
                survivor._merge_absorb(lost)
            survivor._merge_set_partner(target)
            survivors |= survivor
        return survivors

    def _merge_absorb(self, lost):
        """Move everything of the membership ``lost`` to this one, then
        delete ``lost`` (see ``_merge_partners``)."""
        one_record(self)
        self.env.flush_all()
        number, customer = lost.name, lost.partner_id.display_name
        params = {"dst": self.id, "src": lost.id}
        for query in (
            # 4. the balances move with the lines (by delta, as a posting)
            """UPDATE customer_membership d
                  SET points_balance = COALESCE(d.points_balance, 0)
                                       + COALESCE(s.points_balance, 0),
                      points_pending = COALESCE(d.points_pending, 0)
                                       + COALESCE(s.points_pending, 0),
                      has_negative_balance = COALESCE(d.points_balance, 0)
                                             + COALESCE(s.points_balance, 0) < 0
                 FROM customer_membership s
                WHERE d.id = %(dst)s AND s.id = %(src)s""",
            # 2. the ledger, tier history and coupons
            "UPDATE customer_point_entry SET membership_id = %(dst)s"
            " WHERE membership_id = %(src)s",
            "UPDATE customer_tier_change SET membership_id = %(dst)s"
            " WHERE membership_id = %(src)s",
            """UPDATE customer_coupon c
                  SET membership_id = %(dst)s,
                      batch_index = c.batch_index + COALESCE((
                          SELECT max(d.batch_index) FROM customer_coupon d
                           WHERE d.batch_id = c.batch_id
                             AND d.membership_id = %(dst)s), 0)
                WHERE c.membership_id = %(src)s""",
            # a day's snapshot of the survivor wins over the lost one's
            """DELETE FROM customer_rfm_snapshot s
                WHERE s.membership_id = %(src)s
                  AND EXISTS (SELECT 1 FROM customer_rfm_snapshot d
                               WHERE d.membership_id = %(dst)s
                                 AND d.snapshot_date = s.snapshot_date)""",
            "UPDATE customer_rfm_snapshot SET membership_id = %(dst)s"
            " WHERE membership_id = %(src)s",
            # both may have had the same occasion of a campaign: the lost
            # member's delivery stays, under a key of its own
            """UPDATE customer_campaign_delivery s
                  SET occurrence_key = s.occurrence_key || ' (' || %(src)s || ')'
                WHERE s.membership_id = %(src)s
                  AND EXISTS (SELECT 1 FROM customer_campaign_delivery d
                               WHERE d.membership_id = %(dst)s
                                 AND d.campaign_id = s.campaign_id
                                 AND d.occurrence_key = s.occurrence_key)""",
            "UPDATE customer_campaign_delivery SET membership_id = %(dst)s"
            " WHERE membership_id = %(src)s",
            """INSERT INTO customer_coupon_batch_customer_membership_rel
                      (customer_coupon_batch_id, customer_membership_id)
               SELECT customer_coupon_batch_id, %(dst)s
                 FROM customer_coupon_batch_customer_membership_rel
                WHERE customer_membership_id = %(src)s
               ON CONFLICT DO NOTHING""",
            "DELETE FROM customer_coupon_batch_customer_membership_rel"
            " WHERE customer_membership_id = %(src)s",
            # the chatter
            "UPDATE mail_message SET res_id = %(dst)s"
            " WHERE model = 'customer.membership' AND res_id = %(src)s",
            "UPDATE mail_activity SET res_id = %(dst)s"
            " WHERE res_model = 'customer.membership' AND res_id = %(src)s",
            """DELETE FROM mail_followers f
                WHERE f.res_model = 'customer.membership' AND f.res_id = %(src)s
                  AND EXISTS (SELECT 1 FROM mail_followers g
                               WHERE g.res_model = f.res_model
                                 AND g.res_id = %(dst)s
                                 AND g.partner_id = f.partner_id)""",
            "UPDATE mail_followers SET res_id = %(dst)s"
            " WHERE res_model = 'customer.membership' AND res_id = %(src)s",
        ):
            self.env.cr.execute(SQL(query, **params))
        self._merge_tier(lost)
        self.env.invalidate_all()
        lost.unlink()
        # 4. a debt of either is settled from the other's points
        entries = self.env["customer.point.entry"].sudo()
        entries._settle_debts(self.ids)
        self.message_post(
            body=self.env._(
                "Merged with membership %(number)s of %(customer)s (Merge "
                "Contacts): its points, coupons, tier history and RFM history "
                "are now on this membership.",
                number=number,
                customer=customer,
            ),
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )

    def _merge_tier(self, lost):
        """3. The higher tier and the later floor of the two stay."""
        programme = self.company_id._loyalty_programme()
        ladder = [tier_id for tier_id, *_rest in programme["tiers"]]
        rank = {tier_id: index for index, tier_id in enumerate(ladder)}
        vals = {}
        if lost.tier_id and rank.get(lost.tier_id.id, -1) > rank.get(
            self.tier_id.id, -1
        ):
            vals.update(tier_id=lost.tier_id.id, tier_since_date=lost.tier_since_date)
        if lost.tier_floor_id and (
            not self.tier_floor_id
            or (lost.tier_floor_end_date or date.min)
            > (self.tier_floor_end_date or date.min)
        ):
            vals.update(
                tier_floor_id=lost.tier_floor_id.id,
                tier_floor_end_date=lost.tier_floor_end_date,
            )
        if vals:
            self.sudo().with_context(tracking_disable=True).write(vals)

    def _merge_set_partner(self, partner):
        """The surviving membership belongs to the merged customer (a
        commercial entity), and so do the rows that copy its customer."""
        one_record(self)
        if self.partner_id == partner:
            return
        self.env.flush_all()
        for table in (
            "customer_membership",
            "customer_point_entry",
            "customer_coupon",
            "customer_tier_change",
            "customer_campaign_delivery",
        ):
            column = "id" if table == "customer_membership" else "membership_id"
            self.env.cr.execute(
                SQL(
                    "UPDATE %s SET partner_id = %s WHERE %s = %s",
                    SQL.identifier(table),
                    partner.id,
                    SQL.identifier(column),
                    self.id,
                )
            )
        self.env.invalidate_all()

    def _merge_recompute(self):
        """After the merge moved the orders: the survivors' salesperson,
        statistics, RFM, churn and tier, from the merged history."""
        memberships = self.exists()
        if not memberships:
            return
        self.env["res.partner"].flush_model(["user_id"])
        self.env.cr.execute(
            SQL(
                """
                UPDATE customer_membership m SET user_id = p.user_id
                  FROM res_partner p
                 WHERE p.id = m.partner_id AND m.id = ANY(%(ids)s);
                UPDATE customer_coupon c SET user_id = m.user_id
                  FROM customer_membership m
                 WHERE m.id = c.membership_id AND m.id = ANY(%(ids)s)
                """,
                ids=memberships.ids,
            )
        )
        self.env.invalidate_all()
        memberships._refresh_figures(full=True)
        tiers = self.env["customer.tier"].sudo()
        for company in memberships.company_id:
            tiers._apply_tiers(
                company,
                memberships.filtered(lambda m, c=company: m.company_id == c).ids,
            )
