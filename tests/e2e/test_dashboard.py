#!/usr/bin/python3
"""E2E: the web dashboard the broker serves at / (and its API page at /docs), in headless
Chromium driven by Selenium, against real Redis, broker and worker processes; plus the
embedded files over plain HTTP.

The browser test needs Debian's chromium, chromium-driver and python3-selenium
(deploy/install-deps.sh installs them); without them it FAILS, it does not skip.
Screenshots go to the test's temp dir and to JOBQ_E2E_ARTIFACTS (set by ctest to
<build>/tests/e2e/artifacts); their paths are printed."""
import json
import os
import shutil
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import E2ETestCase, wait_until  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PAGE_TIMEOUT = 20.0  # seconds for anything the page should show
STATIC_FILES = {"index.html": "text/html", "app.js": "text/javascript",
                "style.css": "text/css", "api.html": "text/html", "api.js": "text/javascript",
                "openapi.json": "application/json"}

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    SELENIUM_ERROR = None
except ImportError as e:  # reported as a failure by the test, never a skip
    SELENIUM_ERROR = e


def new_driver(tmp):
    """Headless Chromium with its own profile in tmp; browser console logs kept."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if SELENIUM_ERROR is not None or missing:
        raise AssertionError(
            "the dashboard test needs chromium, chromium-driver and python3-selenium "
            "(apt-get install -y chromium chromium-driver python3-selenium; "
            "deploy/install-deps.sh does it): %s"
            % (SELENIUM_ERROR or ("missing " + ", ".join(missing))))
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1400,1300", "--no-first-run", "--disable-extensions",
              "--disable-background-networking", "--disable-sync", "--mute-audio",
              "--user-data-dir=" + os.path.join(tmp, "chromium-profile")):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER,
                      log_path=os.path.join(tmp, "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=opts)
    driver.set_page_load_timeout(30)
    return driver


def artifacts_dir():
    d = os.environ.get("JOBQ_E2E_ARTIFACTS") or os.path.join(harness.REPO, "build", "tests",
                                                            "e2e", "artifacts")
    os.makedirs(d, exist_ok=True)
    return d


class StaticFilesTest(E2ETestCase):
    """The embedded files over plain HTTP: types, caching, 404s (no browser)."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()

    def test_files_types_and_caching(self):
        for path, name in (("/", "index.html"), ("/docs", "api.html"),
                           ("/openapi.json", "openapi.json")) + tuple(
                ("/static/" + n, n) for n in STATIC_FILES):
            r = self.env.http("GET", path)
            self.assertEqual(r.status, 200, "%s: %r" % (path, r))
            self.assertTrue(r.content_type.startswith(STATIC_FILES[name]), "%s: %r" % (path, r))
            self.assertTrue(r.body, path)
            etag = r.headers.get("etag")
            self.assertTrue(etag and etag.startswith('"') and etag.endswith('"'), r.headers)
            self.assertEqual(r.headers.get("cache-control"), "no-cache", path)
            self.assertEqual(r.headers.get("x-content-type-options"), "nosniff", path)
            again = self.env.http("GET", path, headers={"If-None-Match": etag})
            self.assertEqual(again.status, 304, "%s with If-None-Match: %r" % (path, again))
            self.assertEqual(again.body, b"", path)
            listed = self.env.http("GET", path, headers={"If-None-Match": '"0000", W/' + etag})
            self.assertEqual(listed.status, 304, "%s with the ETag in a list: %r" % (path, listed))
            other = self.env.http("GET", path, headers={"If-None-Match": '"0000"'})
            self.assertEqual(other.status, 200, path)
            self.assertEqual(other.body, r.body, path)
        page = self.env.http("GET", "/")
        csp = page.headers.get("content-security-policy", "")
        self.assertIn("default-src 'self'", csp)
        text = page.body.decode()
        self.assertIn("/static/app.js", text)
        self.assertIn('href="/docs"', text)
        # nothing from another origin: every src/href is local (or a data: icon)
        for f in ("index.html", "api.html"):
            body = self.env.http("GET", "/static/" + f).body.decode()
            self.assertNotRegex(body, r"""(src|href)=["']?(https?:)?//""", f)

    def test_unknown_files(self):
        for path in ("/static/nope.js", "/static/", "/static/../broker.c", "/static/a/b.js",
                     "/index.html", "/nope"):
            r = self.env.http("GET", path)
            self.assertError(r, 404, "not_found")
        r = self.env.http("POST", "/")
        self.assertError(r, 405, "method_not_allowed")


class DashboardBrowserTest(E2ETestCase):
    """The dashboard in headless Chromium: every step on one page load."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker()

    def setUp(self):
        self.console = []  # every browser console entry seen so far
        self.driver = new_driver(self.env.tmp)
        self.addCleanup(self.driver.quit)
        self.shots = []

    # -- helpers ---------------------------------------------------------------

    def logs(self):
        self.console.extend(self.driver.get_log("browser"))
        return self.console

    def assertNoSevere(self, allowed=()):
        """No SEVERE console entry (script errors, failed loads) but the allowed ones."""
        bad = [e for e in self.logs() if e.get("level") == "SEVERE"
               and not any(a in e.get("message", "") for a in allowed)]
        self.assertEqual(bad, [], "browser console errors:\n%s" % json.dumps(bad, indent=1))

    def wait(self, fn, what, timeout=PAGE_TIMEOUT):
        def attempt():
            try:
                return fn()
            except StaleElementReferenceException:
                return None
        try:
            return wait_until(attempt, timeout, what, interval=0.1, env=self.env)
        except AssertionError:
            sys.stderr.write("browser console: %s\n" % json.dumps(self.logs(), indent=1))
            self.screenshot("failure")
            raise

    def row(self, table, key):
        rows = self.driver.find_elements(By.CSS_SELECTOR, '#%s tbody tr[data-key="%s"]'
                                         % (table, key))
        return rows[0] if rows else None

    def bar_state(self, jid):
        """[data-done, data-total, the fill's style, the progress text] of a running job's
        row, read at once."""
        return self.driver.execute_script(
            "const tr = document.querySelector('#running tbody tr[data-key=\"' + arguments[0] +"
            " '\"]'); if (!tr || !tr.querySelector('.fill')) return null;"
            " return [Number(tr.dataset.done), tr.dataset.total,"
            " tr.querySelector('.fill').getAttribute('style'),"
            " tr.querySelector('.ptext').textContent];", str(jid))

    def cell_texts(self, tr):
        return [td.text for td in tr.find_elements(By.TAG_NAME, "td")]

    def polls(self):
        return int(self.driver.find_element(By.ID, "updated").get_attribute("data-polls") or 0)

    def just_polled(self):
        """Waits for the start of a quiet interval: right after a poll has rendered."""
        n = self.polls()
        self.wait(lambda: self.polls() > n, "the next poll")

    def screenshot(self, name):
        path = os.path.join(self.env.tmp, "dashboard-%s.png" % name)
        try:
            self.driver.save_screenshot(path)
        except WebDriverException as e:
            sys.stderr.write("screenshot %s failed: %s\n" % (name, e))
            return None
        copy = os.path.join(artifacts_dir(), os.path.basename(path))
        shutil.copyfile(path, copy)
        sys.stderr.write("screenshot: %s (copy: %s)\n" % (path, copy))
        self.shots.append(copy)
        return path

    def click(self, element):
        element.click()

    # -- the test ----------------------------------------------------------------

    def test_dashboard(self):
        d = self.driver
        d.get(self.env.broker_url + "/")
        self.assertEqual(d.title, "jobq dashboard")
        # a marker that a reload would wipe: every check below happens on this one load
        d.execute_script("window.__jobqNoReload = 42;")
        self.wait(lambda: self.polls() >= 1, "the first poll to render")
        self.assertNoSevere()
        health = d.find_element(By.ID, "health").text
        self.assertEqual(health, "redis ok")
        self.assertFalse(d.find_element(By.ID, "error").is_displayed(),
                         d.find_element(By.ID, "error-text").text)

        # -- the worker appears
        wid = self.env.worker_id(self.env.workers[0])
        tr = self.wait(lambda: self.row("workers", wid), "worker %s in the workers table" % wid)
        self.assertIn("default", self.cell_texts(tr)[1])

        # -- a long job enqueued now appears among the running jobs; its bar moves live
        jid = self.post_job({"type": "progress", "payload": {"duration": 6}})
        tr = self.wait(lambda: self.row("running", jid), "job %d in the running table" % jid)
        self.assertEqual(self.cell_texts(tr)[1:3], ["progress", "default"])
        # done and the bar's style read in one script: read one by one, an event landing
        # between the reads paired a done with the next step's width
        first = self.wait(lambda: (lambda st: st and st[1] == "6" and st)(self.bar_state(jid)),
                          "job %d's progress bar with a total of 6" % jid)
        done0, style0 = first[0], first[2]
        # the stream, not only the poll, keeps it up to date
        self.wait(lambda: self.row("running", jid).get_attribute("data-live") == "sse",
                  "job %d followed by Server-Sent Events" % jid)
        later = self.wait(lambda: (lambda st: st and st[0] > done0 and st)(self.bar_state(jid)),
                          "job %d's progress to move past %d/6" % (jid, done0))
        self.assertNotEqual(later[2], style0, "the bar's width changed")
        self.assertEqual(later[3], "%d/6" % later[0])
        self.assertEqual(d.execute_script("return window.__jobqNoReload;"), 42, "no reload")

        # -- a dead job, a job waiting for its retry, their errors; the dead job's retry
        dead = self.post_job({"type": "exec", "payload": {"command": "no-such-type"}, "max_attempts": 1})
        retrying = self.post_job({"type": "progress", "payload": {"duration": 30},
                                  "timeout_ms": 200, "max_attempts": 2})
        self.env.wait_job(dead, states=("failed",))
        tr = self.wait(lambda: self.row("dead", dead), "job %d in the dead table" % dead)
        self.assertIn("command 'no-such-type' is not allowed", self.cell_texts(tr)[5])
        tr = self.wait(lambda: self.row("failures", "failed:%d" % dead),
                       "job %d among the recent failures" % dead)
        self.assertIn("is not allowed on this worker", tr.text)
        self.wait(lambda: self.row("failures", "scheduled:%d" % retrying) or
                  self.row("failures", "failed:%d" % retrying),
                  "job %d's timed-out attempt among the recent failures" % retrying)
        tr = self.row("failures", "scheduled:%d" % retrying) or \
            self.row("failures", "failed:%d" % retrying)
        self.assertIn("timed out after 200 ms", tr.text)

        # progress still live meanwhile, then a screenshot with everything on it
        self.wait(lambda: (lambda r: r is None or int(r.get_attribute("data-done")) > later[0])(
            self.row("running", jid)), "job %d's progress to move again" % jid)
        self.screenshot("main")

        self.click(self.row("dead", dead).find_element(By.CSS_SELECTOR, "button.retry"))
        self.wait(lambda: "job %d is pending again" % dead in
                  d.find_element(By.ID, "error-text").text, "the retry's confirmation")
        # the job ran again (and failed again: its type is still unknown): two errors now
        self.wait(lambda: len(self.env.http("GET", "/jobs/%d" % dead).json()["errors"]) == 2,
                  "job %d to run again after the retry button" % dead)

        # -- pause and resume the queue with its button
        self.env.wait_job(jid)
        tr = self.wait(lambda: self.row("queues", "default"), "queue default in the table")
        btn = tr.find_element(By.CSS_SELECTOR, "button.toggle")
        self.assertEqual(btn.text, "Pause")
        self.click(btn)
        self.wait(lambda: self.row("queues", "default").get_attribute("data-paused") == "1",
                  "queue default shown paused")
        self.assertTrue(self.env.http("GET", "/queues/default").json()["paused"])
        held = self.post_job({"type": "noop"})
        time.sleep(1.0)
        self.assertEqual(self.env.http("GET", "/jobs/%d" % held).json()["state"], "pending",
                         "a paused queue hands out no job")
        self.wait(lambda: int(self.cell_texts(self.row("queues", "default"))[1]) >= 1,
                  "the paused queue's pending count")
        btn = self.row("queues", "default").find_element(By.CSS_SELECTOR, "button.toggle")
        self.wait(lambda: btn.text == "Resume", "the Resume button")
        self.click(btn)
        self.env.wait_job(held, states=("completed",))
        self.wait(lambda: self.row("queues", "default").get_attribute("data-paused") == "0",
                  "queue default shown active again")
        self.assertFalse(self.env.http("GET", "/queues/default").json()["paused"])

        # -- the queue's counts match the API once nothing moves
        self.env.wait_job(retrying, states=("failed",))
        self.env.wait_job(dead, states=("failed",))

        def counts_match():
            q = self.env.http("GET", "/queues/default").json()
            cells = self.cell_texts(self.row("queues", "default"))
            return cells[:8] == ["default"] + [str(q[k]) for k in (
                "pending", "scheduled", "running", "completed", "failed", "retried",
                "cancelled")]
        self.wait(counts_match, "the queue's counts to match GET /queues/default")

        # -- an error from the API is shown: retry a dead job that was purged meanwhile
        tr = self.wait(lambda: self.row("dead", retrying), "job %d in the dead table" % retrying)
        self.just_polled()
        self.assertEqual(self.env.http("DELETE", "/dead").status, 200)
        self.click(self.row("dead", retrying).find_element(By.CSS_SELECTOR, "button.retry"))
        self.wait(lambda: d.find_element(By.ID, "error").is_displayed() and "404 not_found" in
                  d.find_element(By.ID, "error-text").text, "the API's error on the page")
        self.assertIn("is not in the dead set", d.find_element(By.ID, "error-text").text)
        self.assertNoSevere(allowed=("/dead/%d/retry" % retrying,))
        self.assertEqual(d.execute_script("return window.__jobqNoReload;"), 42, "no reload")

        # -- the API page, linked from the dashboard
        d.find_element(By.ID, "api-link").click()
        self.wait(lambda: int(d.find_element(By.TAG_NAME, "body").get_attribute(
            "data-rendered") or 0) > 0, "the API page to render")
        doc = self.env.http("GET", "/openapi.json").json()
        n_ops = sum(1 for p in doc["paths"].values() for m in p if m in ("get", "post", "put", "patch", "delete"))
        ops = d.find_elements(By.CSS_SELECTOR, "#endpoints .endpoint")
        self.assertEqual(len(ops), n_ops)
        shown = {(o.get_attribute("data-method"), o.get_attribute("data-path")) for o in ops}
        for want in (("GET", "/jobs"), ("POST", "/jobs"), ("GET", "/jobs/{id}/events"),
                     ("POST", "/queues/{name}/pause"), ("POST", "/dead/{id}/retry"),
                     ("GET", "/")):
            self.assertIn(want, shown)
        op = d.find_element(By.ID, "op-get-jobs")
        self.assertIn("state", op.text)  # its parameters table
        self.assertIn("Responses", op.text)
        self.assertTrue(d.find_element(By.ID, "schema-Job").is_displayed())
        self.screenshot("api")
        self.assertNoSevere(allowed=("/dead/%d/retry" % retrying,))
        print("screenshots: %s" % ", ".join(self.shots))


# Installed before the page's own scripts: every fetch but the session's waits while
# window.__hold is true, so the page can be seen before any data arrived.
HOLD_FETCH = """window.__hold = true;
const realFetch = window.fetch.bind(window);
window.fetch = (...args) => String(args[0]).startsWith('/session') ? realFetch(...args) :
  new Promise((resolve, reject) => {
  const t = setInterval(() => {
    if (!window.__hold) { clearInterval(t); realFetch(...args).then(resolve, reject); }
  }, 20);
});"""
SECTIONS = ("queues", "running", "workers", "scheduled", "failures", "dead")


class DashboardStatesTest(DashboardBrowserTest):
    """What the page says besides its rows: loading and empty states, the scheduled jobs,
    a queue that no worker serves, the purge button only when there is something to purge
    and a Redis, a 24-hour clock, and no sideways scroll of the page at 420 px."""

    def visible(self, id_):
        return self.driver.find_element(By.ID, id_).is_displayed()

    def test_dashboard(self):
        d = self.driver
        d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOLD_FETCH})
        d.get(self.env.broker_url + "/")
        # -- before any data: each table says it is loading, shows no bare header, and
        # there is no purge button
        self.wait(lambda: self.visible("main"), "the page (an open broker: no sign-in)")
        for sec in SECTIONS:
            with self.subTest(section=sec):
                self.assertTrue(self.visible(sec + "-loading"), sec)
                self.assertEqual(d.find_element(By.ID, sec + "-loading").text, "Loading…")
                self.assertFalse(self.visible(sec), sec)
                self.assertFalse(self.visible(sec + "-empty"), sec)
        self.assertFalse(self.visible("dead-purge"))
        self.screenshot("loading")
        d.execute_script("window.__hold = false;")
        self.wait(lambda: self.polls() >= 1, "the first poll to render")
        # -- empty states, no loading text left
        for sec in ("running", "scheduled", "failures", "dead"):
            with self.subTest(section=sec):
                self.assertFalse(self.visible(sec + "-loading"), sec)
                self.assertTrue(self.visible(sec + "-empty"), sec)
        self.assertEqual(d.find_element(By.ID, "running-empty").text, "Nothing is running.")
        self.assertFalse(self.visible("dead-purge"), "nothing to purge")
        self.assertRegex(d.find_element(By.ID, "updated").text,
                         r"^updated ([01]\d|2[0-3]):[0-5]\d:[0-5]\d UTC$")

        # -- a queue no worker serves, with a job waiting: a warning, not "active"
        self.post_job({"type": "noop", "queue": "orphan"})
        self.post_job({"type": "noop"})
        tr = self.wait(lambda: self.row("queues", "orphan"), "queue orphan in the table")
        badge = tr.find_element(By.CSS_SELECTOR, ".badge")
        self.assertEqual(badge.text, "no worker")
        self.assertIn("warn", badge.get_attribute("class"))
        self.assertIn("no live worker serves this queue", badge.get_attribute("title"))
        tr = self.wait(lambda: self.row("queues", "default"), "queue default in the table")
        self.assertEqual(tr.find_element(By.CSS_SELECTOR, ".badge").text, "active")

        # -- scheduled jobs are listed, due first
        later, sooner = (self.assertJSONResponse(self.env.http("POST", "/jobs", {
            "type": "noop", "delay_ms": ms}), 201)["id"] for ms in (600000, 300000))
        self.wait(lambda: self.row("scheduled", later) and self.row("scheduled", sooner),
                  "the delayed jobs in the scheduled table")
        keys = [tr.get_attribute("data-key") for tr in
                d.find_elements(By.CSS_SELECTOR, "#scheduled tbody tr")]
        self.assertEqual(keys, [str(sooner), str(later)])
        self.assertRegex(self.cell_texts(self.row("scheduled", sooner))[4], r"^in (4|5) min$")
        self.assertFalse(self.visible("scheduled-empty"))

        # -- a dead job: now there is something to purge
        dead = self.post_job({"type": "exec", "payload": {"command": "not_allowed"},
                              "max_attempts": 1})
        self.env.wait_job(dead, states=("failed",))
        self.wait(lambda: self.row("dead", dead), "job %d in the dead table" % dead)
        self.wait(lambda: self.visible("dead-purge"), "the purge button")

        # -- 420 px wide: the page does not scroll sideways; wide tables scroll in their box
        d.set_window_size(420, 1000)
        self.just_polled()
        width = d.execute_script("return [document.documentElement.scrollWidth,"
                                 " document.documentElement.clientWidth,"
                                 " document.body.scrollWidth];")
        self.assertLessEqual(width[0], width[1], width)
        self.assertLessEqual(width[2], width[1], width)
        box = d.execute_script("const t = document.getElementById('queues');"
                               " return [t.scrollWidth, t.parentElement.clientWidth,"
                               " getComputedStyle(t.parentElement).overflowX];")
        self.assertEqual(box[2], "auto", box)
        self.screenshot("420px")
        d.set_window_size(1400, 1300)

        # -- Redis down: unavailable, and no purge button
        self.env.stop_redis()
        self.wait(lambda: d.find_element(By.ID, "health").text == "unavailable",
                  "the health badge to say unavailable")
        self.wait(lambda: not self.visible("dead-purge"), "the purge button gone")
        self.assertTrue(self.row("dead", dead) is not None, "the last rows stay")
        self.screenshot("redis-down")


ATTACK_PAGE = """<!doctype html><html><body>
<form id="f" method="POST" action="%(broker)s/queues/default/pause" enctype="text/plain">
<input name='{"x":"' value='"}'></form>
<script>
fetch("%(broker)s/dead", {method: "DELETE", mode: "no-cors", credentials: "include"})
  .finally(() => { document.title = "fetched"; document.getElementById("f").submit(); });
</script></body></html>"""


class DashboardSignInTest(DashboardBrowserTest):
    """A broker with tokens: the dashboard signs in with a token (an HttpOnly,
    SameSite=Strict session cookie), every button works for a token with the scope and
    is refused for one without, each button's request is refused without the session's
    CSRF token, a page of another origin cannot use the session, and signing out ends
    it."""

    @classmethod
    def setUpEnv(cls, env):
        env.start_redis()
        env.start_broker()
        env.start_worker()
        cls.admin = cls.token(env, "dash-admin", ["admin"], None)
        cls.reader = cls.token(env, "dash-reader", ["read"], cls.admin)

    @staticmethod
    def token(env, name, scopes, admin):
        r = env.http("POST", "/tokens", {"name": name, "scopes": scopes},
                     {"Authorization": "Bearer " + admin} if admin else None)
        assert r.status == 201, r
        return r.json()["token"]

    def api(self, method, path, body=None, headers=None):
        h = {"Authorization": "Bearer " + self.admin}
        h.update(headers or {})
        return self.env.http(method, path, body, h)

    def post_job(self, body, headers=None):
        r = self.api("POST", "/jobs", body)
        self.assertEqual(r.status, 201, r)
        return r.json()["id"]

    def wait_job(self, jid, states=("completed", "failed", "cancelled")):
        return wait_until(lambda: (lambda j: j if j.get("state") in states else None)(
            self.api("GET", "/jobs/%d" % jid).json()), 15, "job %d in %s" % (jid, states),
            env=self.env)

    def sign_in(self, token):
        d = self.driver
        self.wait(lambda: d.find_element(By.ID, "signin").is_displayed(), "the sign-in form")
        box = d.find_element(By.ID, "token")
        box.clear()
        box.send_keys(token)
        d.find_element(By.ID, "signin-button").click()

    def session_cookie(self):
        return [c for c in self.driver.get_cookies() if c["name"] == "jobq_session"]

    def test_dashboard(self):
        d = self.driver
        d.get(self.env.broker_url + "/")
        self.wait(lambda: d.find_element(By.ID, "signin").is_displayed(), "the sign-in form")
        self.assertFalse(d.find_element(By.ID, "main").is_displayed())
        # a wrong token: refused, nothing set
        self.sign_in("jq_" + "0" * 64)
        self.wait(lambda: "not valid" in d.find_element(By.ID, "signin-error").text,
                  "the refusal of a wrong token")
        self.assertEqual(self.session_cookie(), [])
        # a read-only token: the page shows, the buttons are refused by the broker
        self.sign_in(self.reader)
        self.wait(lambda: self.polls() >= 1, "the first poll as the reader")
        self.assertIn("dash-reader", d.find_element(By.ID, "whoami").text)
        self.api("POST", "/queues/default/pause")
        self.api("POST", "/queues/default/resume")
        btn = self.wait(lambda: self.row("queues", "default"), "queue default").find_element(
            By.CSS_SELECTOR, "button.toggle")
        self.click(btn)
        self.wait(lambda: "insufficient_scope" in d.find_element(By.ID, "error-text").text,
                  "the reader's pause refused")
        self.assertFalse(self.api("GET", "/queues/default").json()["paused"])
        d.find_element(By.ID, "signout").click()
        self.wait(lambda: d.find_element(By.ID, "signin").is_displayed(), "signed out")
        # an admin token
        self.sign_in(self.admin)
        self.wait(lambda: self.polls() >= 1, "the first poll as admin")
        self.assertEqual(d.find_element(By.ID, "token").get_attribute("value"), "")
        cookie = self.session_cookie()
        self.assertEqual(len(cookie), 1, d.get_cookies())
        cookie = cookie[0]
        self.assertTrue(cookie["httpOnly"], cookie)
        self.assertEqual(cookie["sameSite"], "Strict", cookie)
        self.assertNotIn("jobq_session", d.execute_script("return document.cookie"))
        self.assertNotIn(self.admin, d.execute_script(
            "return JSON.stringify(localStorage) + JSON.stringify(sessionStorage)"))
        session = {"Cookie": "jobq_session=" + cookie["value"]}
        # the session works without the token for reads, and a read shows no secret
        r = self.env.http("GET", "/queues", headers=session)
        self.assertEqual(r.status, 200, r)
        csrf = self.env.http("GET", "/session", headers=session).json()["csrf"]

        # -- every button, used through the page
        long_job = self.post_job({"type": "progress", "payload": {"duration": 30}})
        tr = self.wait(lambda: self.row("running", long_job), "the long job running")
        self.click(tr.find_element(By.CSS_SELECTOR, "button.cancel"))
        self.wait_job(long_job, states=("cancelled",))
        dead = self.post_job({"type": "exec", "payload": {"command": "no-such-type"}, "max_attempts": 1})
        self.wait_job(dead, states=("failed",))
        tr = self.wait(lambda: self.row("dead", dead), "the dead job")
        self.click(tr.find_element(By.CSS_SELECTOR, "button.retry"))
        self.wait(lambda: "job %d is pending again" % dead in
                  d.find_element(By.ID, "error-text").text, "the retry's confirmation")
        btn = self.wait(lambda: self.row("queues", "default"), "queue default").find_element(
            By.CSS_SELECTOR, "button.toggle")
        self.wait(lambda: btn.text == "Pause", "the Pause button")
        self.click(btn)
        self.wait(lambda: self.api("GET", "/queues/default").json()["paused"], "paused")
        btn = self.row("queues", "default").find_element(By.CSS_SELECTOR, "button.toggle")
        self.wait(lambda: btn.text == "Resume", "the Resume button")
        self.click(btn)
        self.wait(lambda: not self.api("GET", "/queues/default").json()["paused"], "resumed")
        self.wait_job(dead, states=("failed",))
        self.wait(lambda: self.row("dead", dead), "the dead job again")
        d.execute_script("window.confirm = () => true;")
        self.wait(lambda: d.find_element(By.ID, "dead-purge").is_displayed(), "the purge button")
        d.find_element(By.ID, "dead-purge").click()
        self.wait(lambda: "purged" in d.find_element(By.ID, "error-text").text, "the purge")
        self.assertEqual(self.api("GET", "/dead").json()["jobs"], [])
        self.screenshot("signed-in")

        # -- CSRF on each button's request: the session cookie alone changes nothing
        victim = self.post_job({"type": "progress", "payload": {"duration": 30}})
        dead2 = self.post_job({"type": "exec", "payload": {"command": "no-such-type"}, "max_attempts": 1})
        self.wait_job(dead2, states=("failed",))
        own = {"Origin": self.env.broker_url}
        for method, path in (("POST", "/queues/default/pause"),
                             ("POST", "/queues/default/resume"),
                             ("DELETE", "/jobs/%d" % victim),
                             ("POST", "/dead/%d/retry" % dead2), ("DELETE", "/dead")):
            for extra, status, code in (({}, 403, "csrf"),
                                        ({"X-CSRF-Token": "0" * 32}, 403, "csrf"),
                                        ({"X-CSRF-Token": csrf, "Origin": "http://evil.example"},
                                         403, "forbidden")):
                with self.subTest(path=path, extra=extra):
                    h = dict(session, **own)
                    h.update(extra)
                    self.assertError(self.env.http(method, path, None, h), status, code)
        self.assertFalse(self.api("GET", "/queues/default").json()["paused"])
        self.assertIn(self.api("GET", "/jobs/%d" % victim).json()["state"],
                      ("pending", "running"))
        self.assertEqual(len(self.api("GET", "/dead").json()["jobs"]), 1)
        # with its CSRF token, the same request works (what the page sends)
        r = self.env.http("POST", "/queues/default/pause", None,
                          dict(session, **own, **{"X-CSRF-Token": csrf}))
        self.assertEqual(r.status, 200, r)
        self.api("POST", "/queues/default/resume")

        # -- a page of another origin, in the same browser, with the session open
        import http.server
        import threading
        page = (ATTACK_PAGE % {"broker": self.env.broker_url}).encode()

        class Attacker(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *a):
                pass
        srv = http.server.ThreadingHTTPServer((harness.HOST, 0), Attacker)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            for host in (harness.HOST, "localhost"):  # same site (another port), cross site
                with self.subTest(attacker=host):
                    d.get("http://%s:%d/attack.html" % (host, srv.server_address[1]))
                    self.wait(lambda: d.current_url.startswith(self.env.broker_url) or
                              d.title == "fetched", "the attack page to run")
                    time.sleep(1.0)
                    self.assertFalse(self.api("GET", "/queues/default").json()["paused"])
                    self.assertEqual(len(self.api("GET", "/dead").json()["jobs"]), 1)
        finally:
            srv.shutdown()
            srv.server_close()

        # -- signing out ends the session on the broker, not only in the page
        d.get(self.env.broker_url + "/")
        self.wait(lambda: self.polls() >= 1, "the page, still signed in")
        d.find_element(By.ID, "signout").click()
        self.wait(lambda: d.find_element(By.ID, "signin").is_displayed(), "signed out")
        self.assertError(self.env.http("GET", "/queues", headers=session), 401, "unauthorized")
        # and a revoked token ends its sessions
        self.sign_in(self.reader)
        self.wait(lambda: self.polls() >= 1, "signed in again as the reader")
        self.assertEqual(self.api("DELETE", "/tokens/dash-reader").status, 200)
        self.wait(lambda: d.find_element(By.ID, "signin").is_displayed(),
                  "the sign-in form after the token's revocation")
        self.api("POST", "/queues/default/resume")
        self.assertIn(self.api("DELETE", "/jobs/%d" % victim).status, (200, 202))
        self.wait_job(victim, states=("cancelled",))
        self.assertNoSevere(allowed=("/queues/default/pause", "/session", "/queues",
                                     "/healthz", "/workers", "/jobs", "/dead",
                                     "favicon", "attack"))


if __name__ == "__main__":
    harness.main()
