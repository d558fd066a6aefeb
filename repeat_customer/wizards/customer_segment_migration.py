"""Segment migration between two dates: where the members of each segment
on the first date are on the second, from the RFM snapshots."""

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools.numbers import one_record


class CustomerSegmentMigration(models.TransientModel):
    _name = "customer.segment.migration"
    _inherit = ["customer.values.mixin"]
    _description = "Loyalty Segment Migration"

    company_id = fields.Many2one(
        "res.company",
        string="Company",
        required=True,
        default=lambda self: self.env.company,
        domain=lambda self: [("id", "in", self.env.user.company_ids.ids)],
    )
    date_from = fields.Date(string="From", required=True)
    date_to = fields.Date(string="To", required=True)
    line_ids = fields.One2many(
        "customer.segment.migration.line", "migration_id", string="Members"
    )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        today = self.env.company._loyalty_today()
        values.setdefault("date_to", today)
        values.setdefault("date_from", today - relativedelta(months=3))
        return values

    def action_compute(self):
        """Each member the user may see, with their segment on both dates
        (their last snapshot on or before it), in a pivot of segment on the
        first date by segment on the second."""
        one_record(self)
        if self.company_id not in self.env.user.company_ids:
            raise UserError(self.env._("You cannot see this company's members."))
        if self.date_from >= self.date_to:
            raise UserError(self.env._("The first date must be before the second."))
        self.line_ids.unlink()
        self.env.flush_all()
        members = self.env["customer.membership"]._search(
            [("company_id", "=", self.company_id.id)]
        )
        self.env.cr.execute(
            SQL(
                """
                WITH mem AS (%(members)s),
                at_date AS (
                    SELECT DISTINCT ON (s.membership_id, d.day)
                           s.membership_id, d.day, s.segment_id
                      FROM customer_rfm_snapshot s
                      JOIN (VALUES (%(date_from)s::date), (%(date_to)s::date)) d(day)
                        ON s.snapshot_date <= d.day
                     WHERE s.membership_id IN (SELECT id FROM mem)
                     ORDER BY s.membership_id, d.day, s.snapshot_date DESC, s.id DESC
                ),
                before AS (SELECT * FROM at_date WHERE day = %(date_from)s),
                after AS (SELECT * FROM at_date WHERE day = %(date_to)s)
                INSERT INTO customer_segment_migration_line
                       (migration_id, membership_id, from_segment_id, to_segment_id,
                        moved, create_uid, create_date, write_uid, write_date)
                SELECT %(migration)s, after.membership_id, before.segment_id,
                       after.segment_id,
                       before.segment_id IS DISTINCT FROM after.segment_id,
                       %(uid)s, now() AT TIME ZONE 'UTC',
                       %(uid)s, now() AT TIME ZONE 'UTC'
                  FROM after
                  LEFT JOIN before ON before.membership_id = after.membership_id
                """,
                members=members.subselect(),
                date_from=self.date_from,
                date_to=self.date_to,
                migration=self.id,
                uid=self.env.uid,
            )
        )
        self.invalidate_recordset(["line_ids"])
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_segment_migration_line_action"
        )
        action["domain"] = [("migration_id", "=", self.id)]
        action["display_name"] = self.env._(
            "Segment Migration %(date_from)s → %(date_to)s",
            date_from=self.date_from,
            date_to=self.date_to,
        )
        return action


class CustomerSegmentMigrationLine(models.TransientModel):
    _name = "customer.segment.migration.line"
    _inherit = ["customer.values.mixin"]
    _description = "Loyalty Segment Migration Member"
    _order = "id"

    migration_id = fields.Many2one(
        "customer.segment.migration", required=True, ondelete="cascade", index=True
    )
    membership_id = fields.Many2one(
        "customer.membership", string="Member", required=True, ondelete="cascade"
    )
    from_segment_id = fields.Many2one(
        "customer.segment",
        string="Segment Before",
        help="Empty: the member had no segment yet on the first date.",
    )
    to_segment_id = fields.Many2one("customer.segment", string="Segment After")
    moved = fields.Boolean(string="Moved")
    user_id = fields.Many2one(related="membership_id.user_id", string="Salesperson")
    tier_id = fields.Many2one(related="membership_id.tier_id", string="Tier")
