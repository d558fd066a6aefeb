import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { LoyaltyOverview } from "./loyalty_overview";

/**
 * The R × F Matrix report: the overview's recency × frequency grid on a
 * page of its own, with each cell's members, their share of the members and
 * of revenue, their average spending and main segment, and totals; recency
 * 5 (bought most recently) on top, as on the overview. A cell opens its
 * members.
 */
export class RfMatrix extends LoyaltyOverview {
    static template = "repeat_customer.RfMatrix";

    async load(filters) {
        this.state.loading = true;
        const data = await this.orm.call("customer.overview", "get_rf_matrix", [], { filters });
        this.state.data = data;
        this.state.filters = { ...data.filters };
        this.state.loading = false;
    }

    // no charts on this page
    renderCharts() {}
    destroyCharts() {}

    openRow(line) {
        this.openMembers([["rfm_recency_score", "=", line[0].r]], `R${line[0].r}`);
    }

    openColumn(frequency) {
        this.openMembers([["rfm_frequency_score", "=", frequency]], `F${frequency}`);
    }

    openAll() {
        this.openMembers([["rfm_recency_score", "!=", false]], _t("Scored Members"));
    }
}

registry.category("actions").add("repeat_customer.rf_matrix", RfMatrix);
