from tests.a11y.browser import PHONE, chromium, live_server
from tests.dashboard.conftest import new_key
from tests.dashboard.played import play
from app.main import create_app

def test_debug(runtime, client, clock, smtp_sink, editor_headers):
    cid = play(client, runtime, clock, smtp_sink, editor_headers, slots=2)
    key = new_key(runtime)
    with live_server(create_app(runtime)) as base, chromium() as browser:
        page = browser.new_context(viewport=PHONE).new_page()
        page.goto(f"{base}/dashboard/login")
        page.get_by_label("API-nyckel").fill(key)
        page.get_by_role("button", name="Logga in").click()
        page.goto(f"{base}/dashboard/campaigns/{cid}")
        print("SCROLL", page.evaluate("document.documentElement.scrollWidth"))
        print(page.evaluate("""() => {
          const out = [];
          for (const el of document.querySelectorAll('body *')) {
            const r = el.getBoundingClientRect();
            if (r.right > window.innerWidth + 1) out.push(el.tagName + '.' + el.className.baseVal + el.className + ' ' + Math.round(r.right));
          }
          return out.slice(0, 30);
        }"""))
