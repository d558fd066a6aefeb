import logging
from datetime import datetime, time, timedelta

import pytz

from odoo import api, fields, models
from odoo.tools import SQL, format_date

from ..tools.campaigns import (
    CONTROL_BUCKETS,
    control_bucket_sql,
    in_quiet_hours,
    next_purchase_sql,
)
from ..tools.numbers import one_record
from .customer_job_mixin import retry_on_conflict

_logger = logging.getLogger(__name__)

SEND_BATCH_PARAM = "repeat_customer.campaign_send_batch_size"
DEFAULT_SEND_BATCH = 200
RUN_STATE_PARAM = "repeat_customer.campaign_run_state"
# a member is reached at most once per campaign and run (the others of their
# occasions wait for the next run), so that a single statement never sends
# a member more messages than the frequency cap allows


class CustomerCampaign(models.Model):
    _inherit = "customer.campaign"

    # ------------------------------------------------------------------
    # Who is due: one SQL query per trigger, rows (membership_id,
    # occurrence_key, occasion_date) of the campaign's company, evaluated on
    # the company's today
    # ------------------------------------------------------------------
    def _due_sql(self, today):
        """The members of the company due for the campaign on ``today``:
        whose occasion, moved by the campaign's days, falls between
        ``today - catch_up_days`` and ``today``."""
        one_record(self)
        start = today - timedelta(days=self.catch_up_days)
        return getattr(self, f"_due_{self.trigger}_sql")(today, start)

    def _due_yearly_sql(self, column, today, start, extra=None):
        """Members whose yearly date (``column`` of ``m`` membership or ``p``
        partner), celebrated on 28 February in years without 29 February,
        falls ``days`` after the window; the key is the year celebrated."""
        return SQL(
            """
            SELECT m.id AS membership_id, y.year::text AS occurrence_key,
                   y.day AS occasion_date
              FROM customer_membership m
              JOIN res_partner p ON p.id = m.partner_id
             CROSS JOIN LATERAL (
                   SELECT yy AS year,
                          CASE WHEN extract(month FROM %(col)s) = 2
                                    AND extract(day FROM %(col)s) = 29
                                    AND NOT (mod(yy, 4) = 0
                                             AND (mod(yy, 100) <> 0
                                                  OR mod(yy, 400) = 0))
                               THEN make_date(yy, 2, 28)
                               ELSE make_date(yy, extract(month FROM %(col)s)::int,
                                              extract(day FROM %(col)s)::int)
                          END AS day
                     FROM unnest(ARRAY[%(year)s - 1, %(year)s, %(year)s + 1]) AS yy
                   ) y
             WHERE m.company_id = %(company)s
               AND %(col)s IS NOT NULL
               AND y.day - %(days)s BETWEEN %(start)s AND %(today)s
               AND %(extra)s
            """,
            col=column,
            year=today.year,
            company=self.company_id.id,
            days=self.days,
            start=start,
            today=today,
            extra=extra or SQL("TRUE"),
        )

    def _due_birthday_sql(self, today, start):
        return self._due_yearly_sql(SQL("p.birthdate_date"), today, start)

    def _due_anniversary_sql(self, today, start):
        return self._due_yearly_sql(
            SQL("m.join_date"),
            today,
            start,
            extra=SQL("y.year > extract(year FROM m.join_date)"),
        )

    def _due_after_sql(self, key, day, today, start, source=None, extra=None):
        """Members whose event day (SQL ``day``) plus the campaign's days
        falls in the window; ``key`` is the SQL of the occurrence key."""
        return SQL(
            """
            SELECT m.id AS membership_id, %(key)s AS occurrence_key,
                   %(day)s AS occasion_date
              FROM %(source)s
             WHERE m.company_id = %(company)s
               AND %(day)s + %(days)s BETWEEN %(start)s AND %(today)s
               AND %(extra)s
            """,
            key=key,
            day=day,
            source=source or SQL("customer_membership m"),
            company=self.company_id.id,
            days=self.days,
            start=start,
            today=today,
            extra=extra or SQL("TRUE"),
        )

    def _due_welcome_sql(self, today, start):
        return self._due_after_sql(SQL("'joined'"), SQL("m.join_date"), today, start)

    def _due_tier_sql(self, today, start):
        tier = (
            SQL("tc.to_tier_id = %s", self.tier_id.id) if self.tier_id else SQL("TRUE")
        )
        return self._due_after_sql(
            SQL("'tier-change-' || tc.id"),
            SQL("tc.date"),
            today,
            start,
            source=SQL(
                "customer_tier_change tc "
                "JOIN customer_membership m ON m.id = tc.membership_id"
            ),
            extra=SQL("tc.direction = 'up' AND %s", tier),
        )

    def _due_points_expiring_sql(self, today, start):
        return SQL(
            """
            SELECT e.membership_id,
                   'expiry-' || min(e.expiry_date)::text AS occurrence_key,
                   min(e.expiry_date) AS occasion_date
              FROM customer_point_entry e
             WHERE e.company_id = %(company)s
               AND e.state = 'available' AND e.remaining_points > 0
               AND e.expiry_date BETWEEN %(today)s AND %(until)s
             GROUP BY e.membership_id
            """,
            company=self.company_id.id,
            today=today,
            until=today + timedelta(days=self.days),
        )

    def _due_segment_sql(self, today, start):
        return self._due_after_sql(
            SQL("'segment-' || s.snapshot_date::text"),
            SQL("s.snapshot_date"),
            today,
            start,
            source=SQL(
                "customer_rfm_snapshot s "
                "JOIN customer_membership m ON m.id = s.membership_id"
            ),
            extra=SQL(
                """s.segment_id = %(segment)s AND m.segment_id = %(segment)s
                   AND s.previous_segment_id IS NOT NULL
                   AND s.previous_segment_id <> s.segment_id""",
                segment=self.segment_id.id,
            ),
        )

    def _due_churn_high_sql(self, today, start):
        return self._due_after_sql(
            SQL("'churn-' || m.churn_risk_date::text"),
            SQL("m.churn_risk_date"),
            today,
            start,
            extra=SQL("m.churn_risk = 'high'"),
        )

    def _due_delivered_sql(self, today, start):
        """Members with a purchase (any channel) handed over the campaign's
        days before: a sales order's delivery (its confirmation without
        Inventory), a till order at once, an invoice when it is issued."""
        company = self.company_id
        tz = pytz.timezone(company._loyalty_tz())

        def utc(day):
            local = tz.localize(datetime.combine(day, time.min))
            return local.astimezone(pytz.utc).replace(tzinfo=None)

        # bounds on the moment itself, pushed into each channel's query
        low = utc(start - timedelta(days=self.days))
        high = utc(today - timedelta(days=self.days) + timedelta(days=1))
        return self._due_after_sql(
            # sales orders keep the key of the deliveries made before the
            # purchase stream had other channels
            SQL(
                "CASE WHEN d.res_model = 'sale.order' THEN 'order-' || d.res_id "
                "ELSE d.res_model || '-' || d.res_id END"
            ),
            SQL("(d.delivered AT TIME ZONE 'UTC' AT TIME ZONE %s)::date", tz.zone),
            today,
            start,
            source=SQL(
                """(%s) d
                   JOIN customer_membership m
                     ON m.partner_id = d.partner_id AND m.company_id = %s""",
                self.env["customer.purchase"]._documents_sql(company),
                company.id,
            ),
            extra=SQL(
                "d.is_order = 1 AND d.delivered >= %s AND d.delivered < %s",
                low,
                high,
            ),
        )

    def _due_inactive_sql(self, today, start):
        return self._due_after_sql(
            SQL("'inactive-' || m.last_order_date::text"),
            SQL("m.last_order_date"),
            today,
            start,
            extra=SQL("m.order_count > 0"),
        )

    def _due_repurchase_sql(self, today, start):
        return self._due_after_sql(
            SQL("'repurchase-' || m.last_order_date::text"),
            SQL(next_purchase_sql("m")),
            today,
            start,
        )

    # ------------------------------------------------------------------
    # Guards
    # ------------------------------------------------------------------
    def _channel_reach_sql(self, channel):
        """SQL of why the customer (``p``, a partner) cannot be reached over
        ``channel``: a skip reason, or NULL when they can. An addon adding a
        channel extends it."""
        if channel == "mail":
            return SQL(
                """CASE WHEN COALESCE(p.email_normalized, '') = '' THEN 'no_email'
                        WHEN EXISTS (SELECT 1 FROM mail_blacklist bl
                                      WHERE bl.email = p.email_normalized
                                        AND bl.active)
                        THEN 'blacklisted' END"""
            )
        if channel == "sms":
            return SQL(
                """CASE WHEN COALESCE(p.phone_sanitized, '') = '' THEN 'no_phone'
                        WHEN EXISTS (SELECT 1 FROM phone_blacklist bl
                                      WHERE bl.number = p.phone_sanitized
                                        AND bl.active)
                        THEN 'blacklisted' END"""
            )
        return SQL("NULL::varchar")

    def _counts_in_cap(self):
        """Whether this campaign's messages count in (and are held back by)
        the company's frequency cap."""
        one_record(self)
        return self.channel != "none" and not self.is_service

    def _judged_sql(self, today, limit=None):
        """The campaign's new occasions on ``today``, in its audience, one
        per member, with the outcome each would get: rows (membership_id,
        partner_id, occurrence_key, occasion_date, state, skip_reason,
        is_control)."""
        one_record(self)
        company = self.company_id
        memberships = self.env["customer.membership"].sudo()
        memberships.flush_model()
        self.env.flush_all()
        # the deliveries a run just inserted change the plan of the next
        # evaluation's anti-join: without fresh statistics the planner takes
        # the table for empty and rescans it for every due member
        self._job_analyze(["customer_campaign_delivery"])
        audience = memberships._search(self._audience_domain()).select("id")
        cap = company.loyalty_campaign_cap if self._counts_in_cap() else 0
        threshold = round(self.control_share * CONTROL_BUCKETS / 100)
        return SQL(
            """
            WITH due AS (%(due)s),
            fresh AS (
                SELECT DISTINCT ON (due.membership_id)
                       due.membership_id, due.occurrence_key, due.occasion_date
                  FROM due
                 WHERE due.membership_id IN (%(audience)s)
                   AND NOT EXISTS (
                       SELECT 1 FROM customer_campaign_delivery x
                        WHERE x.campaign_id = %(campaign)s
                          AND x.membership_id = due.membership_id
                          AND x.occurrence_key = due.occurrence_key)
                 ORDER BY due.membership_id, due.occasion_date, due.occurrence_key
            ),
            capped AS (
                SELECT * FROM fresh
                 ORDER BY occasion_date, membership_id
                 %(limit)s
            ),
            judged AS (
                SELECT c.membership_id, m.partner_id, c.occurrence_key,
                       c.occasion_date,
                       CASE WHEN m.marketing_opt_out THEN 'opt_out'
                            ELSE %(reach)s END AS reach,
                       %(cap)s > 0 AND (
                           SELECT count(*) FROM customer_campaign_delivery r
                            WHERE r.membership_id = m.id AND r.counts_in_cap
                              AND r.delivery_date > %(cap_since)s
                       ) >= %(cap)s AS over_cap,
                       %(bucket)s < %(threshold)s AS held_out
                  FROM capped c
                  JOIN customer_membership m ON m.id = c.membership_id
                  JOIN res_partner p ON p.id = m.partner_id
            )
            SELECT membership_id, partner_id, occurrence_key, occasion_date,
                   CASE WHEN reach IS NOT NULL OR over_cap THEN 'skipped'
                        WHEN held_out THEN 'control'
                        ELSE 'to_send' END AS state,
                   CASE WHEN reach IS NOT NULL THEN reach
                        WHEN over_cap THEN 'frequency_cap' END AS skip_reason,
                   reach IS NULL AND NOT over_cap AND held_out AS is_control
              FROM judged
            """,
            due=self._due_sql(today),
            audience=audience,
            campaign=self.id,
            limit=SQL("LIMIT %s", limit) if limit else SQL(""),
            reach=self._channel_reach_sql(self.channel),
            cap=cap,
            cap_since=today - timedelta(days=company.loyalty_campaign_cap_days),
            bucket=SQL(control_bucket_sql("%s", "m.partner_id"), self.id),
            threshold=threshold,
        )

    # ------------------------------------------------------------------
    # Queueing and sending
    # ------------------------------------------------------------------
    def _queue(self, today=None):
        """Create the deliveries of the campaign's new occasions, in one
        INSERT: queued, control or skipped (with the reason). A delivery
        that exists already (another worker, a run before) is left as it is:
        ``ON CONFLICT DO NOTHING`` on the (campaign, member, occasion) key.
        Return the number of deliveries created."""
        one_record(self)
        today = today or self.company_id._loyalty_today()
        self.env["customer.campaign.delivery"].flush_model()
        self._lock_frequency_cap()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO customer_campaign_delivery (
                    campaign_id, membership_id, company_id, partner_id, user_id,
                    occurrence_key, occasion_date, delivery_date,
                    attribution_end_date, state, skip_reason, is_control,
                    counts_in_cap, channel, coupon_issued_count,
                    order_count, converted_count, conversion_rate, revenue,
                    revenue_squared, coupon_used_count,
                    create_uid, create_date, write_uid, write_date)
                SELECT %(campaign)s, j.membership_id, %(company)s, j.partner_id,
                       m.user_id, j.occurrence_key, j.occasion_date, %(today)s,
                       %(window_end)s, j.state, j.skip_reason, j.is_control,
                       j.state = 'to_send' AND %(in_cap)s, %(channel)s, 0,
                       0, 0, 0, 0, 0, 0,
                       %(uid)s, now() AT TIME ZONE 'UTC',
                       %(uid)s, now() AT TIME ZONE 'UTC'
                  FROM (%(judged)s) j
                  JOIN customer_membership m ON m.id = j.membership_id
                    ON CONFLICT (campaign_id, membership_id, occurrence_key)
                    DO NOTHING
                """,
                campaign=self.id,
                company=self.company_id.id,
                today=today,
                window_end=today + timedelta(days=self.conversion_days),
                in_cap=self._counts_in_cap(),
                channel=self.channel,
                uid=self.env.uid,
                judged=self._judged_sql(today, limit=self.max_per_run or None),
            )
        )
        created = self.env.cr.rowcount
        self.env["customer.campaign.delivery"].invalidate_model()
        self.last_run_date = fields.Datetime.now()
        return created

    def _lock_frequency_cap(self):
        """Serialize the queueing of the company's capped campaigns: the
        frequency cap counts the deliveries already queued, so two campaigns
        queued at once in two transactions (the hourly job, *Run Now*, two
        workers) would each count without the other's. Their rows are
        written here first: of two such transactions the later one waits,
        then fails to serialize and is retried (by the server, or the job's
        ``retry_on_conflict``), and counts what the first queued."""
        if not (self._counts_in_cap() and self.company_id.loyalty_campaign_cap):
            return
        self.env.cr.execute(
            SQL(
                """UPDATE customer_campaign SET write_date = write_date
                    WHERE company_id = %s""",
                self.company_id.id,
            )
        )

    def _run(self, send_limit=0):
        """Queue the campaigns' new occasions, then send up to
        ``send_limit`` queued deliveries of their companies (0: one batch of
        the job's size; ``None``: all). Return (created, sent, still queued
        and sendable now)."""
        if send_limit == 0:
            send_limit = self._job_batch_size(SEND_BATCH_PARAM, DEFAULT_SEND_BATCH)
        created = sum(campaign._queue() for campaign in self)
        deliveries = self.env["customer.campaign.delivery"]
        for company in self.company_id:
            deliveries._update_attribution(company)
        sent, remaining = deliveries._send_queued(
            self.company_id, limit=send_limit, campaigns=self
        )
        return created, sent, remaining

    @api.model
    @retry_on_conflict
    def _cron_run_campaigns(self):
        """The hourly job: on its first call of the hour, queue the new
        occasions of every active campaign and refresh the conversion
        figures; on each call,
        send one batch of queued deliveries of the companies outside their
        quiet hours, and report what is left (the cron framework commits and
        calls again while deliveries are queued)."""
        state = self._job_state(RUN_STATE_PARAM)
        campaigns = self.sudo().search([("state", "=", "running")])
        # queue once per run: a run is this hour's (a run that did not finish
        # sending, or crashed, does not hold back the next hour's queueing)
        hour = fields.Datetime.now().strftime("%Y-%m-%d %H")
        if state.get("queued") != hour:
            for campaign in campaigns:
                today = campaign.company_id._loyalty_today()
                if campaign._reaches_on(today):
                    campaign._queue(today)
            for company in self.env["res.company"].sudo().search([]):
                self.env["customer.campaign.delivery"].sudo()._update_attribution(
                    company
                )
            state = {"queued": hour}
            self._job_save_state(RUN_STATE_PARAM, state)
        size = self._job_batch_size(SEND_BATCH_PARAM, DEFAULT_SEND_BATCH)
        sent, remaining = (
            self.env["customer.campaign.delivery"]
            .sudo()
            ._send_queued(campaigns.company_id, limit=size)
        )
        campaigns._stop_ended()
        self._job_progress(sent, remaining)
        return bool(remaining)

    def _stop_ended(self):
        """Stop the running campaigns of ``self`` past their end date once
        they have nothing queued left, saying so in their chatter."""
        ended = self.filtered(
            lambda c: (
                c.state == "running"
                and c.date_end
                and c.date_end < c.company_id._loyalty_today()
            )
        )
        if not ended:
            return
        queued = {
            campaign.id
            for [campaign] in self.env["customer.campaign.delivery"]
            .sudo()
            ._read_group(
                [("campaign_id", "in", ended.ids), ("state", "=", "to_send")],
                ["campaign_id"],
            )
        }
        for campaign in ended.filtered(lambda c: c.id not in queued):
            campaign.state = "stopped"
            campaign.message_post(
                body=self.env._(
                    "Stopped: the campaign ended on %(date)s.",
                    date=format_date(self.env, campaign.date_end),
                ),
                message_type="notification",
                subtype_xmlid="mail.mt_note",
            )


class CustomerCampaignDelivery(models.Model):
    _inherit = "customer.campaign.delivery"

    @api.model
    def _sendable_companies(self, companies):
        """Those of ``companies`` outside their quiet hours now (their time)."""
        now = datetime.now(pytz.utc)
        sendable = self.env["res.company"]
        for company in companies:
            local = now.astimezone(pytz.timezone(company._loyalty_tz()))
            hour = local.hour + local.minute / 60
            if not in_quiet_hours(
                hour, company.loyalty_quiet_hours_start, company.loyalty_quiet_hours_end
            ):
                sendable |= company
        return sendable

    @api.model
    def _send_queued(self, companies, limit=DEFAULT_SEND_BATCH, campaigns=None):
        """Send up to ``limit`` queued deliveries (all: ``None``) of
        ``companies`` (of ``campaigns`` only, when given): those without a
        message at any hour, those with one outside the company's quiet
        hours; never those of a campaign not running, which are held until
        it is started again or they are cancelled. The rows are locked
        (``FOR UPDATE SKIP LOCKED``), so two workers never send the same
        delivery. Return (sent, still queued and
        sendable now)."""
        quiet = companies - self._sendable_companies(companies)
        self.flush_model()
        self.env["customer.campaign"].flush_model(["active", "state"])
        where = SQL(
            """d.state = 'to_send' AND d.company_id = ANY(%(companies)s)
               AND (d.channel = 'none' OR NOT d.company_id = ANY(%(quiet)s))
               AND EXISTS (SELECT 1 FROM customer_campaign c
                            WHERE c.id = d.campaign_id AND c.active
                              AND c.state = 'running')
               AND (%(all)s OR d.campaign_id = ANY(%(campaigns)s))""",
            companies=companies.ids,
            quiet=quiet.ids,
            all=campaigns is None,
            campaigns=(campaigns or self.env["customer.campaign"]).ids,
        )
        self.env.cr.execute(
            SQL(
                """
                SELECT d.id FROM customer_campaign_delivery d
                 WHERE %(where)s
                 ORDER BY d.id
                 %(limit)s
                   FOR UPDATE SKIP LOCKED
                """,
                where=where,
                limit=SQL("LIMIT %s", limit) if limit else SQL(""),
            )
        )
        deliveries = self.browse([row[0] for row in self.env.cr.fetchall()])
        deliveries._send()
        self.flush_model()
        self.env.cr.execute(
            SQL("SELECT count(*) FROM customer_campaign_delivery d WHERE %s", where)
        )
        return len(deliveries), self.env.cr.fetchone()[0]
