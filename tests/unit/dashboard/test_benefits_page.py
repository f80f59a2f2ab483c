"""The benefits page: the month's figures per bot and in total, a chart with its table
alternative, a CSV download, and a clear error for a month that is not one."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from borough.benefits import LONDON, Month, benefit_report
from tests.support.dashboard import Site


def test_the_page_shows_the_ledger_figures_with_a_table_beside_the_chart(site: Site):
    runtime = site.dash.runtime
    this = Month.of(datetime.now(LONDON).date())
    expected = benefit_report(runtime.ledger.engine, runtime.config, this)
    assert expected.bots, "the seeded installation has items this month"

    client = site.sign_in("olivia")
    page = client.get("/benefits")
    assert page.status_code == 200
    text = page.text
    assert '<a class="govuk-service-navigation__link" href="/benefits" aria-current="page">' in text
    bots = text.split('id="benefits-bots"', 1)[1].split("</table>", 1)[0]
    for figures in expected.bots:
        assert f'<th scope="row" class="govuk-table__header">{figures.bot}</th>' in bots
    assert f">{expected.total.done}</td>" in bots.split("<tfoot>", 1)[1]
    assert '<svg class="borough-chart"' in text and '<desc id="trend-desc">' in text
    trend = text.split('id="benefits-trend"', 1)[1].split("</table>", 1)[0]
    assert trend.count('<tr class="govuk-table__row">') == 13  # header + 12 months
    assert str(this) in trend and str(this.shift(-11)) in trend


def test_the_csv_has_the_same_total_and_a_bad_month_is_refused(site: Site):
    client = site.sign_in("audrey")
    this = Month.of(datetime.now(LONDON).date())
    runtime = site.dash.runtime
    expected = benefit_report(runtime.ledger.engine, runtime.config, this)
    download = client.get(f"/benefits.csv?month={this}")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == f'attachment; filename="benefits-{this}.csv"'
    rows = list(csv.reader(io.StringIO(download.text)))
    total = dict(zip(rows[0], rows[1 + len(expected.bots)], strict=True))
    assert total["bot"] == "total" and int(total["items_done"]) == expected.total.done
    bad = client.get("/benefits?month=13-2026")
    assert bad.status_code == 400 and "There is a problem" in bad.text and "YYYY-MM" in bad.text
    assert client.get("/benefits.csv?month=x").status_code == 400
