"""Churn: the BG/NBD model fitted on the company's members."""

import logging

import numpy as np

from odoo import api, models
from odoo.tools import SQL

from ..tools import bgnbd, gammagamma

_logger = logging.getLogger(__name__)

# The churn model is fitted on at most this many members, drawn evenly by id:
# the fit is statistically stable long before that and memory stays bounded.
FIT_SAMPLE_SIZE = 50000
MIN_FIT_MEMBERS = 10
DAYS_PER_PERIOD = 7.0  # BG/NBD works in weeks
CHURN_HORIZON_DAYS = 90
# the Gamma-Gamma fit is tried without, then with this L2 penalty
SPEND_PENALIZERS = (0.0, 0.001)


class CustomerMembership(models.Model):
    _inherit = "customer.membership"

    @api.model
    def _churn_inputs(self, company, condition, with_value=False):
        """Return ids and BG/NBD (x, t_x, T) arrays of the buying members of
        ``company`` matching ``condition``; with ``with_value``, also the
        Gamma-Gamma model's m, the mean value of their repeat purchase days
        (``repeat_order_value``, company currency; 0 without a repeat)."""
        today = company._loyalty_today()
        self.env.cr.execute(
            SQL(
                """
                SELECT id,
                       greatest(purchase_day_count - 1, 0),
                       last_order_date - first_order_date,
                       %(today)s::date - first_order_date,
                       COALESCE(repeat_order_value, 0)
                  FROM customer_membership
                 WHERE company_id = %(company)s
                   AND order_count > 0
                   AND first_order_date IS NOT NULL
                   AND %(condition)s
                 ORDER BY id
                """,
                today=today,
                company=company.id,
                condition=condition,
            )
        )
        rows = self.env.cr.fetchall()
        if not rows:
            empty = np.zeros(0)
            return (
                ([], empty, empty, empty, empty)
                if with_value
                else (
                    [],
                    empty,
                    empty,
                    empty,
                )
            )
        data = np.array(rows, dtype=float)
        ids = data[:, 0].astype(int).tolist()
        frequency = data[:, 1]
        age = np.maximum(data[:, 3], 0.0) / DAYS_PER_PERIOD
        recency = np.clip(data[:, 2] / DAYS_PER_PERIOD, 0.0, age)
        if with_value:
            return ids, frequency, recency, age, data[:, 4]
        return ids, frequency, recency, age

    @api.model
    def _fit_churn_model(self, company, sample_size=FIT_SAMPLE_SIZE):
        """Fit BG/NBD on the company's buying members; None if it cannot be fitted."""
        self.env.cr.execute(
            SQL(
                """
                SELECT count(*) FROM customer_membership
                 WHERE company_id = %s AND order_count > 0
                """,
                company.id,
            )
        )
        total = self.env.cr.fetchone()[0]
        if total < MIN_FIT_MEMBERS:
            return None
        step = max(1, -(-total // sample_size))
        condition = SQL("mod(id, %s) = 0", step) if step > 1 else SQL("TRUE")
        _ids, frequency, recency, age, value = self._churn_inputs(
            company, condition, with_value=True
        )
        if not (frequency > 0).any():
            return None
        self._fit_spend_model(company, frequency, value)
        try:
            params = bgnbd.fit(frequency, recency, age)
        except ValueError as error:
            _logger.warning(
                "Churn model not fitted for company %s: %s", company.id, error
            )
            return None
        return params._asdict()

    @api.model
    def _fit_spend_model(self, company, frequency, value):
        """Fit the Gamma-Gamma spend model on the members the churn model is
        fitted on and store it on the company (none when it cannot be fitted
        or its mean spend is infinite, q <= 1)."""
        params = None
        # the maximum-likelihood fit first; small companies, whose optimum
        # lies on a ridge, get a slightly penalised one
        for penalizer in SPEND_PENALIZERS:
            try:
                fitted = gammagamma.fit(frequency, value, penalizer=penalizer)
            except ValueError as error:
                _logger.info(
                    "Spend model not fitted for company %s (penalizer %s): %s",
                    company.id,
                    penalizer,
                    error,
                )
                continue
            if fitted.q > 1:
                params = fitted._asdict()
                break
        company.sudo().loyalty_gamma_gamma_params = params or False
        return params
