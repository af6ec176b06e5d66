"""The search page in a real headless Chromium (Debian's `chromium`, driven by Playwright; issue 5, acceptance 4).

Over the CERN Open Data and DMDC replicas harvested by `conftest.service`: highlighted results (the API's <mark>
fragments, nothing else taken as markup), facets that stay selectable after a first choice (disjunctive counts, each
checked against the API), the year and energy histograms filtering by click and by drag with a way back, the state
in the address (reload, back/forward and a shared link give the same page of results), and an unreadable query
explained beside the box. Screenshots of each step are kept in `test-artifacts/browser/`.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from browser_page import (
    PAGE_SIZE,
    api_search,
    api_total,
    hit_ids,
    shot,
    total_shown,
    wait_for_page,
    wait_for_total,
)

pytestmark = pytest.mark.xdist_group("browser")

FACETS = ["experiment", "year_histogram", "energy_histogram"]


def address(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def facet_counts(page: Any, facet: str) -> dict[str, int]:
    return dict(
        page.eval_on_selector_all(
            f"section.facet[data-facet={facet}] .facet-value",
            "bs => bs.map(b => [b.dataset.value, Number(b.querySelector('.count').textContent.replace(/,/g, ''))])",
        )
    )


def bar(page: Any, facet: str, value: str) -> Any:
    return page.locator(f"section[data-facet={facet}] .bar[data-value='{value}']")


def bar_count(page: Any, facet: str, value: str) -> int:
    label = bar(page, facet, value).get_attribute("aria-label")
    assert label is not None
    return int(re.search(r": ([\d,]+) datasets?$", label).group(1).replace(",", ""))  # type: ignore[union-attr]


def test_highlights_and_a_second_value_of_a_chosen_facet(service: str, page: Any) -> None:
    page.goto(service + "/")
    page.wait_for_selector("#hits > li")
    assert total_shown(page) == api_total(service) > PAGE_SIZE
    assert len(hit_ids(page)) == PAGE_SIZE and not page.query_selector("#hits mark")

    # the syntax help sits by the box; its examples go into the box
    page.click("#syntax summary")
    assert page.is_visible("text=energy:[1 TeV TO 100 TeV]")
    shot(page, "01-search-page-with-syntax-help")
    page.click("#syntax button.example:has-text('sqrt_s:13TeV')")
    assert page.input_value("#q") == "sqrt_s:13TeV" and not page.is_visible("text=energy:[1 TeV TO 100 TeV]")

    page.fill("#q", "muon")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"[?&]q=muon"))
    texts = api_total(service, "muon")
    wait_for_total(page, texts)
    assert texts > PAGE_SIZE, "the CERN corpus has many muon datasets"

    # highlights: the API's fragments, marked where the word matched, the rest of the text intact
    marks = page.eval_on_selector_all("#hits mark", "marks => marks.map(m => m.textContent)")
    assert marks and all(re.fullmatch(r"muons?", m, re.IGNORECASE) for m in marks), marks
    api_hits = api_search(service, "muon", size=PAGE_SIZE, highlight="true", disjunctive="true")["hits"]
    titles = page.eval_on_selector_all("#hits > li h3 a", "links => links.map(a => a.textContent)")
    assert titles == [h["title"] for h in api_hits]
    marked_titles = [h for h in api_hits if h["highlight"].get("title")]
    assert marked_titles, "some muon titles say muon"
    first = marked_titles[0]
    shown = page.eval_on_selector(
        f"#hits > li[data-id='{first['id']}'] h3 a",
        "a => a.innerHTML.replace(/<mark>/g, '[[').replace(/<\\/mark>/g, ']]')",
    )
    expected = first["highlight"]["title"][0].replace("<mark>", "[[").replace("</mark>", "]]")
    assert html.unescape(shown) == html.unescape(expected) and "[[" in expected
    assert page.eval_on_selector_all(
        "#hits h3 a *, #hits .snippet *", "nodes => nodes.every(n => n.tagName === 'MARK')"
    )
    # the fragments are split at <mark> alone: any other markup in a record's text stays text
    built = page.evaluate(
        """async () => {
            const { markedNodes } = await import('/static/hits.js');
            const p = document.createElement('p');
            p.append(...markedNodes('a &lt;b&gt; &amp; <mark>muon</mark> <img src=x onerror=alert(1)>'));
            return [p.textContent, [...p.querySelectorAll('*')].map(n => n.tagName)];
        }"""
    )
    assert built == ["a <b> & muon <img src=x onerror=alert(1)>", ["MARK"]]

    # a first experiment: the hits narrow to its count, and the other experiments stay listed
    before = facet_counts(page, "experiment")
    choice = next(name for name, count in before.items() if count > PAGE_SIZE)
    page.click(f"section.facet[data-facet=experiment] .facet-value[data-value='{choice}']")
    wait_for_total(page, before[choice])
    assert before[choice] == api_total(service, "muon", [f"experiment={choice}"]) < texts
    after = facet_counts(page, "experiment")
    disjunctive = api_search(service, "muon", [f"experiment={choice}"], size=0, facet="experiment", disjunctive="1")
    assert after == {v["value"]: v["count"] for v in disjunctive["facets"]["experiment"]}
    assert len(after) > 1 and after == before, "choosing one experiment keeps the others' counts"
    assert page.get_attribute(f".facet-value[data-value='{choice}']", "aria-pressed") == "true"
    shot(page, "02-facet-clicked")

    # a second experiment: alternatives, so the hits grow by what its count said (less what both have)
    second = next(name for name in after if name != choice)
    page.click(f"section.facet[data-facet=experiment] .facet-value[data-value='{second}']")
    both = api_total(service, "muon", [f"experiment={choice}", f"experiment={second}"])
    wait_for_total(page, both)
    overlap = api_total(service, f"muon experiment:{second}", [f"experiment={choice}"])
    assert both == after[choice] + after[second] - overlap > after[choice]
    pressed = page.eval_on_selector_all(".facet-value[aria-pressed=true]", "bs => bs.map(b => b.dataset.value)")
    assert sorted(pressed) == sorted([choice, second])
    assert address(page)["filter"] == [f"experiment={choice}", f"experiment={second}"]
    assert page.inner_text("#chips").count("Experiment:") == 2
    shot(page, "03-second-facet-value")

    # a panel opened to all its values stays open on reload
    more = page.locator("#facets button.more-values")
    assert more.count() > 0, "some panel of the muon hits has more than 8 values"
    more.first.click()
    opened = address(page)["open"]
    assert len(opened) == 1
    page.reload()
    wait_for_total(page, both)
    assert page.get_attribute(f"section.facet[data-facet={opened[0]}] button.more-values", "aria-expanded") == "true"

    # "clear" in the panel removes the field's filters
    page.click("section.facet[data-facet=experiment] h3 button.clear")
    wait_for_total(page, texts)
    assert "filter" not in address(page)


def test_histogram_bars_filter_by_click_and_drag_with_a_way_back(service: str, page: Any) -> None:
    page.goto(service + "/")
    page.wait_for_selector("section[data-facet=year_histogram] .bar")
    everything = total_shown(page)
    years = page.eval_on_selector_all(
        "section[data-facet=year_histogram] .bar", "bars => bars.map(b => b.dataset.value)"
    )
    api_years = api_search(service, size=0, facet="year_histogram")["facets"]["year_histogram"]
    assert years == [v["value"] for v in api_years] and len(years) > 5
    busiest = max(api_years, key=lambda v: v["count"])["value"]

    # a click on a bar filters to its year; the other years keep their bars
    count = bar_count(page, "year_histogram", busiest)
    bar(page, "year_histogram", busiest).click()
    wait_for_total(page, count)
    assert count == api_total(service, filters=[f"year={busiest}..{busiest}"])
    assert address(page)["filter"] == [f"year={busiest}..{busiest}"]
    assert bar(page, "year_histogram", busiest).get_attribute("aria-pressed") == "true"
    assert page.locator("section[data-facet=year_histogram] .bar").count() == len(years)
    shot(page, "04-year-bar-clicked")

    # dragging across bars filters to the range between (replacing the year filter)
    low, high = years[1], years[4]
    start = bar(page, "year_histogram", low).bounding_box()
    end = bar(page, "year_histogram", high).bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] - 4)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] - 4, steps=6)
    assert page.locator("section[data-facet=year_histogram] .bar.brushing").count() == 4
    page.mouse.up()
    ranged = api_total(service, filters=[f"year={low}..{high}"])
    wait_for_total(page, ranged)
    assert ranged == sum(bar_count(page, "year_histogram", y) for y in years[1:5])
    assert address(page)["filter"] == [f"year={low}..{high}"]
    pressed = page.eval_on_selector_all(
        "section[data-facet=year_histogram] .bar[aria-pressed=true]", "bars => bars.map(b => b.dataset.value)"
    )
    assert pressed == years[1:5]
    assert "Year: " + f"{low}–{high}" in page.inner_text("#chips")

    # the energy histogram: a decade's bar filters to energy=LOW..HIGH, combined with the years
    decade = "1 TeV–10 TeV"
    decade_count = bar_count(page, "energy_histogram", decade)
    bar(page, "energy_histogram", decade).click()
    both = api_total(service, filters=[f"year={low}..{high}", "energy=1TeV..10TeV"])
    wait_for_total(page, both)
    assert both == decade_count
    assert bar(page, "energy_histogram", decade).get_attribute("aria-pressed") == "true"
    assert page.locator("section[data-facet=energy_histogram] .bar[aria-pressed=true]").count() == 1
    shot(page, "05-energy-bar-clicked")

    # ways back: the panel's "clear", the browser's Back, a chip
    page.click("section[data-facet=year_histogram] h3 button.clear")
    wait_for_total(page, api_total(service, filters=["energy=1TeV..10TeV"]))
    page.go_back()
    wait_for_total(page, both)
    assert address(page)["filter"] == [f"year={low}..{high}", "energy=1TeV..10TeV"]
    page.click("#chips button[data-filter='energy=1TeV..10TeV']")
    wait_for_total(page, ranged)
    bar(page, "year_histogram", low).click()  # a one-bar choice …
    single = bar_count(page, "year_histogram", low)
    wait_for_total(page, single)
    bar(page, "year_histogram", low).click()  # … clicked again is undone
    wait_for_total(page, everything)
    assert "filter" not in address(page)

    # the keyboard reaches every bar: Enter chooses one, Shift+Enter extends the choice to another
    bar(page, "year_histogram", years[2]).focus()
    page.keyboard.press("Enter")
    wait_for_total(page, api_total(service, filters=[f"year={years[2]}..{years[2]}"]))
    bar(page, "year_histogram", years[5]).focus()
    page.keyboard.press("Shift+Enter")
    wait_for_total(page, api_total(service, filters=[f"year={years[2]}..{years[5]}"]))
    assert address(page)["filter"] == [f"year={years[2]}..{years[5]}"]


def test_pages_live_in_the_address_for_reload_back_and_sharing(service: str, page: Any, browser: Any) -> None:
    total = api_total(service, "muon")
    assert total > 3 * PAGE_SIZE
    page.goto(service + "/?q=muon")
    wait_for_page(page, 1, total)
    first = hit_ids(page)
    page.click("#pager button.next")
    wait_for_page(page, 2, total)
    second = hit_ids(page)
    page.click("#pager button.next")
    wait_for_page(page, 3, total)
    third = hit_ids(page)
    assert len(set(first + second + third)) == 3 * PAGE_SIZE
    # the pages are the API's own walk
    walked, cursor = [], None
    for _ in range(3):
        answer = api_search(service, "muon", size=PAGE_SIZE, **({"cursor": cursor} if cursor else {}))
        walked.append([h["id"] for h in answer["hits"]])
        cursor = answer["next_cursor"]
    assert walked == [first, second, third]
    assert address(page)["page"] == ["3"] and len(address(page)["cursor"]) == 2
    assert page.inner_text("#summary").endswith("41–60 · page 3")
    shot(page, "06-third-page")

    page.reload()
    wait_for_page(page, 3, total)
    assert hit_ids(page) == third and page.input_value("#q") == "muon"
    page.go_back()
    wait_for_page(page, 2, total)
    assert hit_ids(page) == second
    page.go_back()
    wait_for_page(page, 1, total)
    assert hit_ids(page) == first and "page" not in address(page)
    page.go_forward()
    wait_for_page(page, 2, total)
    assert hit_ids(page) == second
    page.click("#pager button.next")
    wait_for_page(page, 3, total)
    page.click("#pager button.previous")
    wait_for_page(page, 2, total)
    assert hit_ids(page) == second

    # a shared link opens on the same page, in another browser context (no history, nothing stored)
    shared = page.url
    other = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        reader = other.new_page()
        reader.goto(shared)
        wait_for_page(reader, 2, total)
        assert hit_ids(reader) == second
        reader.click("#pager button.previous")
        wait_for_page(reader, 1, total)
        assert hit_ids(reader) == first
    finally:
        other.close()

    # a new sort starts again at the first page; a cursor the service did not give out is explained, not fatal
    page.select_option("#sort", "title")
    page.wait_for_url(re.compile(r"sort=title"))
    wait_for_page(page, 1, total)
    assert "cursor" not in address(page)
    page.goto(service + "/?q=muon&page=4&cursor=bm90LWEtY3Vyc29y")
    wait_for_page(page, 1, total)
    assert "no longer available" in page.inner_text("#notice") and "page" not in address(page)


def test_an_unreadable_query_is_explained_beside_the_box(service: str, page: Any) -> None:
    page.goto(service + "/?q=muon")
    page.wait_for_selector("#hits > li")
    wrong = "energy:[1 TeV TO x] muon"
    page.fill("#q", wrong)
    page.press("#q", "Enter")
    page.wait_for_selector("#query-error:not([hidden])")
    error = api_search_error(service, wrong)
    assert error["parameter"] == "q" and error["position"] == wrong.index("x") and error["hint"]
    text = page.inner_text("#query-error")
    assert error["error"] in text and error["hint"] in text and f"at character {error['position'] + 1}" in text
    assert page.inner_text("#query-error .where") == wrong and page.inner_text("#query-error .at") == "x"
    assert page.get_attribute("#q", "aria-invalid") == "true"
    assert page.inner_text("#hits") == "" and "could not be read" in page.inner_text("#summary")
    # beside the box: in the search form, just below the input
    box = page.locator("#q").bounding_box()
    where = page.locator("#query-error").bounding_box()
    assert 0 <= where["y"] - (box["y"] + box["height"]) < 60 and page.locator("form#search #query-error").count() == 1
    shot(page, "07-query-error")
    page.click("#query-error button:has-text('Search syntax')")
    assert page.is_visible("text=energy:[1 TeV TO 100 TeV]")
    page.keyboard.press("Escape")

    # a text the index's own parser refuses: the position is the end of the text
    page.fill("#q", "muon title:(")
    page.press("#q", "Enter")
    page.wait_for_selector("#query-error .at.end")
    error = api_search_error(service, "muon title:(")
    assert error["position"] == len("muon title:(") and error["hint"] in page.inner_text("#query-error")
    assert "at the end of the text" in page.inner_text("#query-error")

    page.fill("#q", "muon nosuchwordanywhere")
    page.press("#q", "Enter")
    wait_for_total(page, 0)
    assert "No dataset matches" in page.inner_text("#hits") and page.is_hidden("#query-error")

    page.fill("#q", "muon title:dimuon")
    page.press("#q", "Enter")
    wait_for_total(page, api_total(service, "muon title:dimuon"))
    assert page.is_hidden("#query-error") and page.get_attribute("#q", "aria-invalid") is None

    page.goto(service + "/?filter=energy%3D10TeV..1TeV")
    page.wait_for_selector("#query-error:not([hidden])")
    assert "filter" in page.inner_text("#query-error") and "swap the bounds" in page.inner_text("#query-error")


def api_search_error(base: str, q: str) -> dict[str, Any]:
    import httpx

    answer = httpx.get(f"{base}/api/search", params={"q": q}, timeout=60)
    assert answer.status_code == 400
    result: dict[str, Any] = answer.json()
    return result
