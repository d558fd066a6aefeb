import json

from odoo import api, models


class CustomerJobMixin(models.AbstractModel):
    """What every batched job of the programme shares: a batch size of its
    own (a system parameter, ``repeat_customer.<job>_batch_size``), the
    state that lets a run resume where it stopped, and the progress it
    reports to the cron framework, which commits after each call and calls
    again while work remains."""

    _name = "customer.job.mixin"
    _description = "Loyalty Batch Job"

    @api.model
    def _job_batch_size(self, param, default):
        """The batch size of a job: the system parameter ``param`` when it
        holds a whole number (at least 1), else ``default``."""
        value = self.env["ir.config_parameter"].sudo().get_param(param)
        try:
            size = int(value) if value else default
        except ValueError:
            size = default
        return max(size, 1)

    @api.model
    def _job_state(self, param):
        """The saved position of a job that runs over several calls (a dict,
        empty when no run is under way)."""
        raw = self.env["ir.config_parameter"].sudo().get_param(param)
        try:
            state = json.loads(raw) if raw else {}
        except ValueError:
            state = {}
        return state if isinstance(state, dict) else {}

    @api.model
    def _job_save_state(self, param, state):
        self.env["ir.config_parameter"].sudo().set_param(
            param, json.dumps(state) if state else ""
        )

    @api.model
    def _job_progress(self, done, remaining):
        """Report one call's work; ``remaining > 0`` has the cron called again
        at once."""
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
