"""Accessibility and fit, measured in the browser on every screen: labelled inputs, keyboard
navigation with a visible focus, WCAG AA text contrast, and no sideways scrolling at 1280×720."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from shared.data import conversations, promises
from shared.domain.models import ContactMethod, Conversation
from shared.engine import campaigns as campaign_rules
from tests.browser.conftest import Dashboard, sign_in

pytestmark = pytest.mark.browser

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => e.type !== 'hidden' && e.offsetParent !== null)
  .filter(e => !e.labels.length && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
  .map(e => e.outerHTML)"""

# Text contrast (WCAG 2.x relative luminance) of every visible element that holds text directly,
# against the first opaque background behind it. Disabled controls are exempt (WCAG 1.4.3).
LOW_CONTRAST = """() => {
  const rgb = s => s.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length < 4 || c[3] > 0.9) return c;
    }
    return [255, 255, 255];
  };
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.offsetParent === null || el.closest(':disabled, .toast')) continue;
    const style = getComputedStyle(el);
    const [a, b] = [lum(rgb(style.color)), lum(background(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) bad.push(`${el.tagName}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return bad;
}"""


def check_screen(page: Any) -> None:
    assert page.evaluate(UNLABELLED) == []
    assert page.evaluate(LOW_CONTRAST) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


def test_every_screen_has_labelled_inputs_aa_contrast_and_fits_a_laptop(
    page: Any,
    dashboard: Dashboard,
    make_conversation: Callable[..., Conversation],
    make_promise: Callable[..., Any],
) -> None:
    campaign = campaign_rules.create(
        name="Cobrança Janeiro 2025", contact_method=ContactMethod.WHATSAPP_PRIMARY
    )
    conversation = conversations.create(make_conversation(client_name="Maria Silva", document="52998224725"))
    promises.create(make_promise())

    page.goto(dashboard.monitor)
    check_screen(page)
    sign_in(page, dashboard, "admin")
    expect(page.locator("[data-rows] tr")).to_have_count(1)
    check_screen(page)
    for route, ready in (
        (f"#/conversas/{conversation.id}", "[data-facts] div"),
        ("#/campanhas", "[data-rows] a"),
        (f"#/campanhas/{campaign.id}", ".funnel-step"),
        ("#/promessas", "[data-rows] .badge"),
        ("#/fila", "[data-rows] td"),
        ("#/em-atendimento", "[data-rows] td"),
    ):
        page.goto(f"{dashboard.monitor}{route}")
        page.locator(ready).first.wait_for()
        check_screen(page)
    page.goto(f"{dashboard.monitor}#/campanhas")
    page.get_by_role("button", name="Nova campanha").click()
    check_screen(page)


def test_the_dashboard_works_from_the_keyboard_with_a_visible_focus(page: Any, dashboard: Dashboard) -> None:
    campaign_rules.create(name="Março", contact_method=ContactMethod.WHATSAPP_PRIMARY)
    page.goto(dashboard.monitor)
    expect(page.get_by_label("Token de acesso")).to_be_focused()  # ready to type
    page.keyboard.type("supervisor-token")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Conversas de cobrança")).to_be_focused()

    # From the top of the page: the skip link first, then the sections.
    page.reload()
    expect(page.get_by_role("navigation", name="Seções")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Pular para o conteúdo")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    assert page.url.endswith("#/painel")
    page.reload()
    page.get_by_role("navigation", name="Seções").wait_for()
    for _ in range(3):
        page.keyboard.press("Tab")
    campaigns_link = page.get_by_role("link", name="Campanhas")
    expect(campaigns_link).to_be_focused()
    outline = campaigns_link.evaluate(
        "e => getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth"
    )
    assert outline == "solid 3px"

    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Campanhas")).to_be_focused()
    # Tab onwards reaches the campaign's "Ativar" button; Enter activates it.
    for _ in range(16):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Ativar":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("row", name="Março").locator(".badge")).to_have_text("Ativa")
