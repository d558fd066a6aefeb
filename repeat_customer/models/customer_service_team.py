from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from ..tools.numbers import one_record


class CustomerServiceTeam(models.Model):
    """The people who answer customers' requests, and their leader, to whom
    late requests are escalated. Requests a rule gives to the team go to
    its members in turn (round robin)."""

    _name = "customer.service.team"
    _description = "Service Team"
    _inherit = ["mail.thread", "customer.values.mixin"]
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(string="Team", required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        string="Company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    leader_id = fields.Many2one(
        "res.users",
        string="Team Leader",
        tracking=True,
        domain=[("share", "=", False)],
        help="Late requests of the team are escalated to them.",
    )
    member_ids = fields.Many2many(
        "res.users",
        "customer_service_team_member_rel",
        "team_id",
        "user_id",
        string="Members",
        domain=[("share", "=", False)],
        help="Requests given to the team go to each of them in turn.",
    )
    last_user_id = fields.Many2one(
        "res.users",
        string="Last Assigned",
        readonly=True,
        help="The member who got the team's last request: the next goes to the "
        "member after them.",
    )
    request_count = fields.Integer(compute="_compute_request_counts")
    open_request_count = fields.Integer(compute="_compute_request_counts")

    @api.constrains("member_ids", "leader_id")
    def _check_internal_users(self):
        for team in self:
            if (team.member_ids | team.leader_id).filtered("share"):
                raise ValidationError(
                    self.env._(
                        "%(team)s: only internal users answer requests, not "
                        "portal users.",
                        team=team.name,
                    )
                )

    def _compute_request_counts(self):
        counts = {}
        for team, closed, count in self.env["customer.service.request"]._read_group(
            [("team_id", "in", self.ids)], ["team_id", "is_closed"], ["__count"]
        ):
            counts.setdefault(team, {})[closed] = count
        for team in self:
            by_state = counts.get(team, {})
            team.request_count = sum(by_state.values())
            team.open_request_count = by_state.get(False, 0)

    def _next_member(self):
        """The member who gets the team's next request, in turn by user id
        after the last one: the team's row is locked until the transaction
        ends, so two requests created at the same time go to two members.
        No member: an empty record."""
        one_record(self)
        members = self.member_ids.filtered("active").sorted("id")
        if not members:
            return members
        self.flush_recordset(["last_user_id"])
        self.env.cr.execute(
            SQL(
                """SELECT last_user_id FROM customer_service_team
                    WHERE id = %s FOR UPDATE""",
                self.id,
            )
        )
        (last_id,) = self.env.cr.fetchone()
        after = members.filtered(lambda user: user.id > (last_id or 0))
        chosen = after[:1] or members[:1]
        self.env.cr.execute(
            SQL(
                "UPDATE customer_service_team SET last_user_id = %s WHERE id = %s",
                chosen.id,
                self.id,
            )
        )
        self.invalidate_recordset(["last_user_id"])
        return chosen

    def action_view_requests(self):
        one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_service_request_action"
        )
        action["domain"] = [("team_id", "=", self.id)]
        action["context"] = {"default_team_id": self.id}
        return action
