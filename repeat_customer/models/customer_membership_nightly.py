"""The nightly computation: the steps in order, one batch per cron call."""

from odoo import api, fields, models
from odoo.tools import SQL

from .customer_job_mixin import retry_on_conflict

DEFAULT_BATCH_SIZE = 100000
NIGHTLY_STATE_PARAM = "repeat_customer.nightly_state"
BATCH_SIZE_PARAM = "repeat_customer.batch_size"


class CustomerMembership(models.Model):
    _name = "customer.membership"
    _inherit = ["customer.membership", "customer.job.mixin"]

    # ------------------------------------------------------------------
    # Orchestration
    # ------------------------------------------------------------------
    @api.model
    def _batch_size(self):
        return self._job_batch_size(BATCH_SIZE_PARAM, DEFAULT_BATCH_SIZE)

    @api.model
    def _next_batch(self, company, after_id, limit):
        """Ids of the next ``limit`` memberships of ``company`` after ``after_id``."""
        self.env.cr.execute(
            SQL(
                """
                SELECT id FROM customer_membership
                 WHERE company_id = %s AND id > %s
                 ORDER BY id LIMIT %s
                """,
                company.id,
                after_id,
                limit,
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _prepare_scoring(self, company, refit=True):
        """Compute and store the company's RFM cut points and churn model;
        without ``refit``, the churn model of the last fit is kept (refitted
        if there is none)."""
        cutpoints = self._compute_rfm_cutpoints(company)
        similarity = self.env["customer.product.similarity"]
        if refit or not similarity._has_similarity(company):
            similarity._update_similarity(company)
        params = company.loyalty_bgnbd_params
        if refit or not params or not company.loyalty_gamma_gamma_params:
            # the spend model is fitted with the churn model
            params = self._fit_churn_model(company)
        company.sudo().write(
            {
                "loyalty_rfm_cutpoints": cutpoints or False,
                "loyalty_bgnbd_params": params or False,
                "loyalty_last_compute_date": fields.Datetime.now(),
            }
        )
        return cutpoints, params

    @api.model
    def _score_batch(self, company, membership_ids, cutpoints, params, churn_ids=None):
        """RFM scores, segment, churn, snapshots, age bands and monthly
        activity of a batch of memberships (churn figures of ``churn_ids``
        only, when given)."""
        changes = self._update_scores(
            company, membership_ids, cutpoints, params, churn_ids=churn_ids
        )
        self._write_snapshots(company, changes)
        self._update_age_bands(company, membership_ids)
        activity = self.env["customer.activity.month"]
        if churn_ids is None:
            activity._update_activity(company, membership_ids)
        else:
            # between full passes: the members whose purchases changed, and
            # those whose rows move with the calendar
            activity._advance_with_calendar(
                company,
                membership_ids,
                [i for i in membership_ids if i in churn_ids],
            )
        # purchase profiles and recommendations: of everyone on a full pass
        # (the product neighbours were just recomputed), else of the members
        # whose purchases changed
        self._update_profiles(
            company,
            membership_ids
            if churn_ids is None
            else [i for i in membership_ids if i in churn_ids],
        )

    @api.model
    def _refresh_customers(self, documents, enrol):
        """After a purchase event (a sales order confirmed or cancelled, a
        till order paid): enrol the customers of ``documents`` (records with
        ``company_id`` and ``partner_id``, of any channel) when ``enrol`` and
        their company enrols automatically, and refresh their members'
        figures: one INSERT and one UPDATE per company, whatever the number
        of documents."""
        # sudo: whoever may make the purchase may update its customer's
        # figures, which are computed from documents only and never typed in.
        memberships_model = self.env["customer.membership"].sudo()
        for company in documents.company_id:
            partners = documents.filtered(
                lambda d, c=company: d.company_id == c and d.partner_id
            ).partner_id.commercial_partner_id
            if not partners:
                continue
            if enrol and company.loyalty_auto_enroll:
                memberships = memberships_model._enrol_partners(company, partners)
            else:
                memberships = memberships_model.search(
                    [
                        ("partner_id", "in", partners.ids),
                        ("company_id", "=", company.id),
                    ]
                )
            memberships._refresh_figures()

    def _refresh_figures(self, full=False):
        """Recompute the figures of the memberships in ``self``.

        Statistics and monthly activity always; with ``full``, also RFM
        scores, segment, churn risk and today's snapshot, using the cut
        points and churn model of the company's last run (computed now if the
        company never had one).
        """
        if not self:
            return
        self.env.flush_all()
        for company in self.company_id:
            memberships = self.filtered(lambda m, c=company: m.company_id == c)
            self._update_statistics(company, memberships.ids)
            if not full:
                self.env["customer.activity.month"]._update_activity(
                    company, memberships.ids
                )
            if full:
                cutpoints = company.loyalty_rfm_cutpoints
                params = company.loyalty_bgnbd_params
                if not cutpoints:
                    cutpoints, params = self._prepare_scoring(company)
                self._score_batch(company, memberships.ids, cutpoints, params)
        self.invalidate_model()

    @api.model
    def _compute_company(self, company, batch_size=None, nightly=False):
        """Run the whole computation for ``company`` in this transaction.

        Used by the install hook, tests and benchmarks; the cron does the same
        steps one batch per call with commits in between. Every member's
        figures are recomputed, or with ``nightly`` what the cron's night
        would: the statistics of the members ``_stats_plan`` selects, every
        member's RFM scores and segment, and the churn figures of the members
        whose statistics changed (of everyone on the weekly full pass, which
        also refits the churn model).
        """
        batch_size = batch_size or self._batch_size()
        self._analyze_sources(company)
        if company.loyalty_auto_enroll:
            self._enrol_from_history(company)
        self.env.flush_all()
        plan = self._stats_plan(company, full=not nightly)
        full = "since" not in plan
        changed = set()
        last_id = 0
        while ids := self._stats_batch(company, plan, last_id, batch_size):
            changed.update(self._update_statistics(company, ids))
            last_id = ids[-1]
        self._stats_done(company, plan)
        cutpoints, params = self._prepare_scoring(company, refit=full)
        last_id = 0
        while ids := self._next_batch(company, last_id, batch_size):
            self._score_batch(
                company, ids, cutpoints, params, churn_ids=None if full else changed
            )
            last_id = ids[-1]
        self.env["customer.segment.size"]._record_sizes(company)
        self.invalidate_model()
        self.env["res.company"].invalidate_model()

    # ------------------------------------------------------------------
    # Cron: one batch per call, state kept between calls
    # ------------------------------------------------------------------
    @api.model
    def _nightly_state(self):
        state = self._job_state(NIGHTLY_STATE_PARAM)
        return state if state.get("company_ids") else {}

    @api.model
    def _save_nightly_state(self, state):
        self._job_save_state(NIGHTLY_STATE_PARAM, state)

    @api.model
    @retry_on_conflict
    def _cron_compute_customers(self):
        """Nightly computation of statistics, RFM, churn and snapshots.

        Each call does one step (an enrolment, one batch of statistics, the
        scoring preparation or one batch of scoring) for one company, saves
        where it is and reports progress; the cron framework commits after
        each call and calls again while work remains. A run interrupted by a
        crash resumes at the batch that failed; every step is idempotent.
        """
        state = self._nightly_state()
        if not state:
            company_ids = self.env["res.company"].sudo().search([]).ids
            state = {"company_ids": company_ids, "step": "enrol", "last_id": 0}
        company = self.env["res.company"].sudo().browse(state["company_ids"][0])
        if not company.exists():
            state["company_ids"].pop(0)
            state.update(step="enrol", last_id=0)
        else:
            self._run_step(company, state)
        if not state["company_ids"]:
            state = {}
        self._save_nightly_state(state)
        self.invalidate_model()
        done, remaining = self._nightly_progress(state)
        self._job_progress(done, remaining)
        return state

    @api.model
    def _run_step(self, company, state):
        step = state["step"]
        batch_size = self._batch_size()
        if step == "enrol":
            self._analyze_sources(company)
            if company.loyalty_auto_enroll:
                self._enrol_from_history(company)
            state.update(step="stats", last_id=0)
        elif step == "stats":
            self.env.flush_all()
            plan = state.setdefault("stats_plan", self._stats_plan(company))
            ids = self._stats_batch(company, plan, state["last_id"], batch_size)
            if ids:
                changed = self._update_statistics(company, ids)
                if "since" in plan:
                    # their churn figures are recomputed tonight
                    state.setdefault("churn_ids", []).extend(changed)
                state["last_id"] = ids[-1]
            else:
                self._stats_done(company, plan)
                state.update(step="prepare", last_id=0)
        elif step == "prepare":
            full = "since" not in state.get("stats_plan", {})
            self._prepare_scoring(company, refit=full)
            state.update(step="score", last_id=0)
        elif step == "score":
            ids = self._next_batch(company, state["last_id"], batch_size)
            if ids:
                full = "since" not in state.get("stats_plan", {})
                self._score_batch(
                    company,
                    ids,
                    company.loyalty_rfm_cutpoints,
                    company.loyalty_bgnbd_params,
                    churn_ids=None if full else set(state.get("churn_ids", [])),
                )
                state["last_id"] = ids[-1]
            else:
                self.env["customer.segment.size"]._record_sizes(company)
                state.pop("stats_plan", None)
                state.pop("churn_ids", None)
                state["company_ids"].pop(0)
                state.update(step="enrol", last_id=0)

    @api.model
    def _nightly_progress(self, state):
        """(done, remaining) in memberships for the cron's progress report."""
        if not state:
            return 1, 0
        self.env.cr.execute(
            SQL(
                """
                SELECT count(*) FILTER (WHERE company_id = %(current)s
                                          AND id <= %(last_id)s),
                       count(*) FILTER (WHERE company_id = %(current)s
                                          AND id > %(last_id)s),
                       count(*) FILTER (WHERE company_id = ANY(%(later)s))
                  FROM customer_membership
                 WHERE company_id = ANY(%(all)s)
                """,
                current=state["company_ids"][0],
                last_id=state["last_id"],
                later=state["company_ids"][1:],
                all=state["company_ids"],
            )
        )
        done, left, later = self.env.cr.fetchone()
        # the current company still needs its remaining steps; make sure a
        # started run is never reported finished
        return max(done, 1), max(left + later, 1)
