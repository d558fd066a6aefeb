import { Component, onWillStart, onMounted, onPatched, onWillUnmount, useRef, useState } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { hexToRGBA } from "@web/core/colors/colors";
import { formatCurrency } from "@web/core/currency";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";

const { DateTime } = luxon;

// the colours of Odoo's colour picker (the ``color`` index of a segment)
const COLORS = [
    "#A0A0A0", "#F06050", "#F4A460", "#F7CD1F", "#6CC1ED", "#814968",
    "#EB7E7F", "#2C8397", "#475577", "#D6145F", "#30C381", "#9365B8",
];
const color = (index) => COLORS[(index || 0) % COLORS.length];

/**
 * The Loyalty Overview: KPI cards, charts, the cohort heatmap and the R × F
 * grid of one company, for a period and optional tier, segment and country.
 * Every figure opens the records behind it.
 */
export class LoyaltyOverview extends Component {
    static template = "repeat_customer.LoyaltyOverview";
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.state = useState({ data: null, filters: {}, loading: true });
        this.charts = {};
        this.segmentsCanvas = useRef("segmentsCanvas");
        this.ratesCanvas = useRef("ratesCanvas");
        this.pointsCanvas = useRef("pointsCanvas");
        onWillStart(async () => {
            await loadBundle("web.chartjs_lib");
            await this.load({});
        });
        onMounted(() => this.renderCharts());
        onPatched(() => this.renderCharts());
        onWillUnmount(() => this.destroyCharts());
    }

    async load(filters) {
        this.state.loading = true;
        const data = await this.orm.call("customer.overview", "get_overview", [], { filters });
        this.state.data = data;
        this.state.filters = { ...data.filters };
        this.state.loading = false;
    }

    onFilter(key, ev) {
        const value = ev.target.value;
        const filters = { ...this.state.filters };
        filters[key] = value ? parseInt(value, 10) : false;
        if (key === "company_id") {
            filters.tier_id = filters.segment_id = filters.country_id = filters.home_store_id = false;
        }
        this.load(filters);
    }

    async onExport() {
        const action = await this.orm.call("customer.overview", "action_export", [], {
            filters: this.state.filters,
        });
        this.action.doAction(action);
    }

    // ------------------------------------------------------------------
    // Formatting
    // ------------------------------------------------------------------
    money(value) {
        return formatCurrency(value || 0, this.state.data.currency_id, { humanReadable: true });
    }

    number(value) {
        return (value || 0).toLocaleString();
    }

    percent(value) {
        return value === null || value === undefined ? "–" : `${value.toFixed(1)} %`;
    }

    decimal(value, digits = 1) {
        return value === null || value === undefined ? "–" : value.toFixed(digits);
    }

    monthLabel(iso) {
        return DateTime.fromISO(iso).toFormat("MMM yyyy");
    }

    get partialLabel() {
        return _t("month in progress, not over yet");
    }

    heatStyle(share) {
        const alpha = Math.min(1, 0.08 + share / 100);
        const color = share > 55 ? "#fff" : "#1f2937";
        return `background-color: rgba(1, 126, 132, ${alpha.toFixed(2)}); color: ${color};`;
    }

    cellStyle(cell) {
        if (!cell.count) {
            return "";
        }
        return `background-color: ${hexToRGBA(color(cell.color), 0.3)};`;
    }

    get cohortColumns() {
        const max = Math.max(0, ...this.state.data.cohorts.flatMap((c) => Object.keys(c.cells).map(Number)));
        return [...Array(max + 1).keys()];
    }

    // ------------------------------------------------------------------
    // Drill-down
    // ------------------------------------------------------------------
    open(resModel, name, domain, views = [[false, "list"], [false, "form"]], context = {}) {
        this.action.doAction({
            type: "ir.actions.act_window",
            name,
            res_model: resModel,
            domain,
            views,
            context,
            target: "current",
        });
    }

    openMembers(extra = [], name = _t("Members")) {
        this.open("customer.membership", name, [...this.state.data.domains.members, ...extra]);
    }

    openActive() {
        this.open("customer.membership", _t("Active Members"), this.state.data.kpis.active_domain);
    }

    openRates() {
        this.open("customer.activity.month", _t("Retention Rates"), this.state.data.domains.activity, [
            [false, "pivot"],
            [false, "graph"],
            [false, "list"],
        ]);
    }

    openMonth(index) {
        const month = this.state.data.months[index];
        const end = DateTime.fromISO(month.month).plus({ months: 1 }).toISODate();
        this.open(
            "customer.activity.month",
            this.monthLabel(month.month),
            [...this.state.data.domains.activity, ["month", ">=", month.month], ["month", "<", end]]
        );
    }

    openPoints(index) {
        const domain = [...this.state.data.kpis.entry_domain];
        if (index !== undefined) {
            const month = this.state.data.points[index].month;
            const end = DateTime.fromISO(month).plus({ months: 1 }).toISODate();
            domain.push(["date", ">=", month], ["date", "<", end]);
        }
        this.open("customer.point.entry", _t("Points Ledger"), domain);
    }

    openDeliveries() {
        this.open("customer.campaign.delivery", _t("Campaign Results"), this.state.data.kpis.delivery_domain);
    }

    openFeedback() {
        this.open("customer.feedback", _t("Satisfaction"), this.state.data.service.feedback_domain, [
            [false, "pivot"],
            [false, "graph"],
            [false, "list"],
            [false, "form"],
        ]);
    }

    openComplaintRate() {
        this.open("customer.service.rate", _t("Complaint Rate"), this.state.data.service.rate_domain, [
            [false, "graph"],
            [false, "pivot"],
        ]);
    }

    openRequests(overdue) {
        const service = this.state.data.service;
        this.open(
            "customer.service.request",
            overdue ? _t("Overdue Requests") : _t("Open Requests"),
            overdue ? service.overdue_domain : service.open_domain,
            [
                [false, "list"],
                [false, "kanban"],
                [false, "form"],
            ]
        );
    }

    openAnswered() {
        this.open("customer.service.request", _t("Service Requests"), this.state.data.service.answered_domain, [
            [false, "pivot"],
            [false, "list"],
            [false, "form"],
        ]);
    }

    openCohort(cohort, since) {
        const domain = [
            ...this.state.data.domains.members.map((leaf) =>
                leaf[0] === "company_id" ? leaf : [`membership_id.${leaf[0]}`, leaf[1], leaf[2]]
            ),
            ["cohort_month", "=", cohort.cohort],
        ];
        if (since !== undefined) {
            domain.push(["months_since", "=", since]);
        }
        this.open("customer.cohort", `${_t("Cohort")} ${this.monthLabel(cohort.cohort)}`, domain);
    }

    openCell(cell) {
        this.openMembers(
            [
                ["rfm_recency_score", "=", cell.r],
                ["rfm_frequency_score", "=", cell.f],
            ],
            `R${cell.r} × F${cell.f}`
        );
    }

    // ------------------------------------------------------------------
    // Charts
    // ------------------------------------------------------------------
    destroyCharts() {
        for (const chart of Object.values(this.charts)) {
            chart.destroy();
        }
        this.charts = {};
    }

    renderCharts() {
        const data = this.state.data;
        if (!data || !this.segmentsCanvas.el) {
            return;
        }
        this.destroyCharts();
        const segments = data.segments;
        this.charts.segments = new Chart(this.segmentsCanvas.el, {
            type: "doughnut",
            data: {
                labels: segments.map((s) => s.name),
                datasets: [
                    {
                        data: segments.map((s) => s.count),
                        backgroundColor: segments.map((s) => color(s.color)),
                    },
                ],
            },
            options: {
                maintainAspectRatio: false,
                plugins: { legend: { position: "right" } },
                onClick: (_ev, items) => {
                    if (items.length) {
                        const segment = segments[items[0].index];
                        this.openMembers([["segment_id", "=", segment.id || false]], segment.name);
                    }
                },
            },
        });
        const labels = data.months.map((m) => this.monthLabel(m.month));
        this.charts.rates = new Chart(this.ratesCanvas.el, {
            type: "bar",
            data: {
                labels,
                datasets: [
                    {
                        type: "line",
                        label: _t("Churn Rate (%)"),
                        data: data.months.map((m) => m.churn_rate),
                        borderColor: color(1),
                        backgroundColor: color(1),
                        yAxisID: "rate",
                        tension: 0.3,
                        clip: false,
                    },
                    {
                        type: "line",
                        label: _t("Repeat-Purchase Rate (%)"),
                        data: data.months.map((m) => m.repeat_rate),
                        borderColor: color(10),
                        backgroundColor: color(10),
                        yAxisID: "rate",
                        tension: 0.3,
                        clip: false,
                    },
                    {
                        label: _t("Active Members"),
                        data: data.months.map((m) => m.active),
                        backgroundColor: hexToRGBA(color(4), 0.45),
                        yAxisID: "members",
                    },
                    {
                        label: _t("New Members"),
                        data: data.months.map((m) => m.new),
                        backgroundColor: hexToRGBA(color(8), 0.45),
                        yAxisID: "members",
                    },
                ],
            },
            options: {
                maintainAspectRatio: false,
                scales: {
                    x: { title: { display: true, text: _t("Month") } },
                    rate: {
                        position: "right",
                        min: 0,
                        max: 100,
                        grid: { display: false },
                        title: { display: true, text: _t("Rate (%)") },
                    },
                    members: {
                        position: "left",
                        beginAtZero: true,
                        suggestedMax: Math.max(1, ...data.months.map((m) => m.active)) * 1.1,
                        title: { display: true, text: _t("Members") },
                    },
                },
                onClick: (_ev, items) => items.length && this.openMonth(items[0].index),
            },
        });
        this.charts.points = new Chart(this.pointsCanvas.el, {
            type: "bar",
            data: {
                labels: data.points.map((m) => this.monthLabel(m.month)),
                datasets: [
                    { label: _t("Issued"), data: data.points.map((m) => m.issued), backgroundColor: color(10) },
                    { label: _t("Redeemed"), data: data.points.map((m) => m.redeemed), backgroundColor: color(4) },
                    { label: _t("Expired"), data: data.points.map((m) => m.expired), backgroundColor: color(1) },
                ],
            },
            options: {
                maintainAspectRatio: false,
                scales: {
                    x: { title: { display: true, text: _t("Month") } },
                    y: { beginAtZero: true, title: { display: true, text: _t("Points") } },
                },
                onClick: (_ev, items) => items.length && this.openPoints(items[0].index),
            },
        });
    }
}

registry.category("actions").add("repeat_customer.loyalty_overview", LoyaltyOverview);
