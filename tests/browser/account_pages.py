"""The account pages in a real browser, as a user on a phone goes through them; then Nextcloud's
Login Flow v2 as AntennaPod starts it, with the user logging in again on the way.

Run by tests/e2e/browser.rs against a stack it started:

    account_pages.py SERVER_URL AUTHORIZE_PATH BALADOS_BIN APP_ID APP_KEY SCREENSHOT_DIR

Debian's chromium runs headless and is driven over the Chrome DevTools Protocol (CDP) by the tiny
client below: no Selenium, no driver binary to match the browser's version. Every step prints one
line and writes a phone-sized PNG named by its number and page; on a failure the script prints the
page's URL and text, and exits 1.
"""

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

try:
    import websocket  # websocket-client, installed in the venv by ./dev/test
except ImportError:
    sys.exit("websocket-client is missing from this Python: run ./dev/test (it installs it)")

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
FEED = "https://feeds.example/browser.xml"
SECOND_FEED = "https://feeds.example/added-on-the-page.xml"
EPISODE = "https://feeds.example/browser/episode-1.mp3"
DEVICE = "phone-1"
PASSWORD = "correct horse battery staple"
NEXTCLOUD_APP = "AntennaPod/3.5.0 (browser test)"
LOAD_TIMEOUT_S = 30  # generous: the end-to-end tests share two cores


class Failure(Exception):
    pass


class Cdp:
    """One page target over its WebSocket: commands, and the events that arrived meanwhile."""

    def __init__(self, ws_url):
        # suppress_origin: chromium refuses DevTools connections that send an Origin it was not
        # told to allow (--remote-allow-origins), and a script has no origin anyway.
        self.ws = websocket.create_connection(
            ws_url, timeout=LOAD_TIMEOUT_S, suppress_origin=True)
        self.last_id = 0
        self.events = []

    def call(self, method, **params):
        self.last_id += 1
        self.ws.send(json.dumps({"id": self.last_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.last_id:
                if "error" in message:
                    raise Failure(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event):
        """The first `event` since the events were last cleared (it may already be there)."""
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while True:
            for message in self.events:
                if message.get("method") == event:
                    return message["params"]
            if time.monotonic() > deadline:
                raise Failure(f"no {event} within {LOAD_TIMEOUT_S} s")
            self.events.append(json.loads(self.ws.recv()))

    def js(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise Failure(f"script failed: {expression}\n{result['exceptionDetails']}")
        return result["result"].get("value")

    def loads(self, action):
        """Runs `action` (which navigates) and waits for the new page; its HTTP status."""
        self.events.clear()
        action()
        self.wait_for("Page.loadEventFired")
        documents = [
            e["params"]["response"]["status"]
            for e in self.events
            if e.get("method") == "Network.responseReceived" and e["params"]["type"] == "Document"
        ]
        return documents[-1] if documents else None


class Browser:
    """Chromium headless in a fresh profile, with one page target driven over CDP."""

    def __init__(self, workdir):
        exe = shutil.which("chromium")
        if exe is None:
            raise Failure("chromium is not installed: run ./dev/test (it installs it)")
        self.profile = os.path.join(workdir, "profile")
        self.log = open(os.path.join(workdir, "chromium.log"), "wb")
        # Port 0: chromium picks a free port and writes it to DevToolsActivePort, so tests in
        # parallel never collide. No first-run, sync or component update: there is no network.
        self.process = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu",
             f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             "--no-first-run", "--no-default-browser-check", "--disable-sync",
             "--disable-component-update", "--disable-background-networking", "about:blank"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.cdp = None

    def connect(self):
        port = self._devtools_port()
        new_page = f"http://127.0.0.1:{port}/json/new?about:blank"
        target = json.load(urllib.request.urlopen(
            urllib.request.Request(new_page, method="PUT"), timeout=10))
        self.cdp = Cdp(target["webSocketDebuggerUrl"])
        for domain in ("Page", "Network", "Runtime"):
            self.cdp.call(f"{domain}.enable")
        self.cdp.call("Emulation.setDeviceMetricsOverride", **PHONE)
        # Headless windows never have focus; the focusability check needs focus to move.
        self.cdp.call("Emulation.setFocusEmulationEnabled", enabled=True)

    def _devtools_port(self):
        path = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Failure(f"chromium exited ({self.process.returncode}):\n{self.log_tail()}")
            if os.path.exists(path):
                lines = open(path).read().split()
                if lines:
                    return int(lines[0])
            time.sleep(0.1)
        raise Failure(f"chromium wrote no DevToolsActivePort in {LOAD_TIMEOUT_S} s:\n"
                      f"{self.log_tail()}")

    def log_tail(self):
        self.log.flush()
        with open(self.log.name, errors="replace") as f:
            return "".join(f.readlines()[-20:])

    def close(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            pass
        # Its renderer and utility processes share its session (start_new_session above).
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.log.close()


# Accessibility basics every page must meet; the problems found, as sentences.
A11Y = r"""(() => {
  const problems = [];
  const shown = el =>
    el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  if (!document.documentElement.lang) problems.push("the page has no lang attribute");
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(`the page has ${h1} h1 elements, not one`);
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden" || !shown(el)) continue;
    const label = el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
    if (!label && !el.getAttribute("aria-label"))
      problems.push(`${el.tagName.toLowerCase()} "${el.name}" has no label[for] nor aria-label`);
  }
  for (const b of document.querySelectorAll("button")) {
    const name = b.getAttribute("aria-label") || b.textContent.trim();
    if (!name) problems.push("a button has no text nor aria-label");
    b.focus();
    if (document.activeElement !== b) problems.push(`the button "${name}" cannot take the focus`);
  }
  if (document.activeElement) document.activeElement.blur();
  return problems;
})()"""


class Steps:
    def __init__(self, args, browser):
        (self.url, self.authorize_path, self.balados, self.app_id, self.app_key,
         self.shots) = args
        self.cdp = browser.cdp
        self.step = 0
        self.username = f"browser_{uuid.uuid4().hex[:8]}"

    # --- the browser's gestures -----------------------------------------------------------------

    def open(self, path, expect=200):
        status = self.cdp.loads(lambda: self.cdp.call("Page.navigate", url=self.url + path))
        self.expect_status(status, expect, f"GET {path}")
        return status

    def fill(self, element_id, value):
        element = f"document.getElementById({json.dumps(element_id)})"
        self.cdp.js(f"{element}.value = {json.dumps(value)}")

    def click(self, selector, expect=200):
        """Clicks the button `selector` (the form is validated and sent as a user's would be)."""
        status = self.cdp.loads(lambda: self.cdp.js(
            f"document.querySelector({json.dumps(selector)}).click()"))
        self.expect_status(status, expect, f"click {selector}")

    def expect_status(self, status, expect, what):
        if status not in (expect if isinstance(expect, tuple) else (expect,)):
            got = "no HTTP response" if status is None else f"HTTP {status}"
            raise Failure(f"{what}: {got}, expected {expect}")

    def text(self):
        return self.cdp.js("document.body.innerText")

    def path(self):
        return self.cdp.js("location.pathname")

    def expect_text(self, *needles):
        text = self.text()
        if not any(n in text for n in needles):
            raise Failure(f"the page at {self.path()} does not say {' or '.join(needles)!r}")

    def open_until(self, path, condition, within_s=15):
        """Opens `path` again until `condition` (JavaScript) holds on it."""
        deadline = time.monotonic() + within_s
        while True:
            self.open(path)
            if self.cdp.js(condition):
                return
            if time.monotonic() > deadline:
                raise Failure(f"{path}: still not {condition} after {within_s} s")
            time.sleep(0.3)

    # --- one step: a line, the accessibility check, a screenshot --------------------------------

    def done(self, page, note=""):
        self.step += 1
        problems = self.cdp.js(A11Y)
        if problems:
            raise Failure(f"accessibility of {self.path()}: " + "; ".join(problems))
        name = self.shoot(self.step, page)
        print(f"step {self.step:2d} {page}: ok{' (' + note + ')' if note else ''}", flush=True)
        print(f"screenshot {name}", flush=True)

    def shoot(self, number, page):
        # The whole page, not only what the first screen shows.
        height = self.cdp.call("Page.getLayoutMetrics")["cssContentSize"]["height"]
        shot = self.cdp.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                             clip={"x": 0, "y": 0, "width": PHONE["width"],
                                   "height": max(height, PHONE["height"]), "scale": 1})
        name = os.path.join(self.shots, f"{number:02d}-{page}.png")
        with open(name, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        return name

    # --- the app's side, with urllib ------------------------------------------------------------

    def api(self, method, path, token, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as e:
            return e.code

    def post_form(self, url, fields=None, headers=None):
        """A form POST as an app sends it: the status and the JSON answer (None when not JSON)."""
        data = urllib.parse.urlencode(fields or {}).encode()
        request = urllib.request.Request(url, data=data, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as e:
            return e.code, None

    def sign_token(self, user_id):
        signed = subprocess.run(
            [self.balados, "app", "sign-token", "--key", self.app_key, "--app", self.app_id,
             "--user", user_id], capture_output=True, text=True, timeout=30)
        if signed.returncode != 0:
            raise Failure(f"balados app sign-token failed: {signed.stderr}")
        return signed.stdout.strip()

    # --- the journey, in the order a user goes --------------------------------------------------

    def run(self):
        user_id = self.register_log_out_and_in()
        token = self.authorize_the_app(user_id)
        self.use_the_app(token)
        self.subscribe_on_the_page()
        self.listening_and_devices(token)
        self.privacy()
        self.secrets()
        self.open("/account/export")
        for link in ("/account/export.json", "/account/export.opml"):
            if not self.cdp.js(f"!!document.querySelector('a[href=\"{link}\"]')"):
                raise Failure(f"the export page has no link to {link}")
        self.done("export")
        self.revoke_the_app(token)
        self.open("/account/password")
        self.done("password")
        self.click("form[action='/logout'] button")
        if self.path() != "/login":
            raise Failure(f"after logging out the browser is at {self.path()}, not /login")
        self.done("logged-out")
        self.nextcloud_login_flow()

    def register_log_out_and_in(self):
        self.open("/register")
        self.fill("username", self.username)
        self.fill("password", PASSWORD)
        self.done("register")
        self.click("form[action='/register'] button[type=submit]")
        if self.path() != "/account":
            raise Failure(f"after registering the browser is at {self.path()}, not /account")
        self.expect_text(f"Logged in as {self.username}")
        user_id = self.cdp.js("document.querySelector('main code').textContent")
        self.done("account", f"user id {user_id}")

        self.click("form[action='/logout'] button")
        self.expect_text("Log in")
        self.fill("username", self.username)
        self.fill("password", PASSWORD)
        self.done("login")
        self.click("form[action='/login'] button[type=submit]")
        self.expect_text(f"Logged in as {self.username}")
        return user_id

    def authorize_the_app(self, user_id):
        """Approves the app's request; the app's token for the user id the page shows."""
        self.open(self.authorize_path)
        self.expect_text(f"app id {self.app_id}")
        self.done("authorize")
        self.click("button[value=approve]")
        self.expect_text("is authorized")
        shown = self.cdp.js("document.querySelector('main code').textContent")
        if shown != user_id:
            raise Failure(f"the authorize page gave user id {shown}, the account page {user_id}")
        self.done("authorized", f"user id {shown}")
        return self.sign_token(shown)

    def use_the_app(self, token):
        feed = base64.urlsafe_b64encode(FEED.encode()).decode().rstrip("=")
        status = self.api("POST", "/api/v1/subscriptions", token, {"rss_source_feed": feed})
        if status != 202:
            raise Failure(f"POST /api/v1/subscriptions with the app's token: {status}, not 202")
        # The subscription goes through the pipeline to the read model the page shows.
        self.open_until("/account/subscriptions", f"document.body.innerText.includes('{FEED}')")
        self.done("subscriptions")

    def subscribe_on_the_page(self):
        """Subscribes and unsubscribes with the page's forms: the page after each change shows it
        (it waits for the read models), no reload needed."""
        self.fill("url", "ftp://feeds.example/not-http.xml")
        self.click("form[action='/account/subscriptions'] button[type=submit]", expect=422)
        self.expect_text("cannot be subscribed to")
        if self.cdp.js("document.getElementById('url').value") != "ftp://feeds.example/not-http.xml":
            raise Failure("the refused address is not kept in the field to correct")
        self.done("subscription-refused")
        self.fill("url", SECOND_FEED)
        self.click("form[action='/account/subscriptions'] button[type=submit]")
        self.expect_text("Saved.")
        self.expect_text(SECOND_FEED)
        self.done("subscription-added")
        self.click(f"button[aria-label='Unsubscribe from {SECOND_FEED}']")
        self.expect_text("Saved.")
        if SECOND_FEED in self.text() or FEED not in self.text():
            raise Failure(f"after unsubscribing from {SECOND_FEED} the page says: {self.text()}")
        self.done("subscription-removed")

    def listening_and_devices(self, token):
        """What the app reports (a play, its device) on the history and devices pages."""
        feed = base64.urlsafe_b64encode(FEED.encode()).decode().rstrip("=")
        item = base64.urlsafe_b64encode(f"episode-1,{EPISODE}".encode()).decode().rstrip("=")
        status = self.api("POST", "/api/v1/play", token, {
            "rss_source_feed": feed, "rss_source_item": item, "position": 754, "duration": 3725})
        if status != 202:
            raise Failure(f"POST /api/v1/play with the app's token: {status}, not 202")
        self.open_until("/account/listening", f"document.body.innerText.includes('{EPISODE}')")
        self.expect_text("at 12:34 of 1:02:05")
        self.done("listening")
        # 100 newer plays: the first goes to the second page of the history.
        plays = [{"rss_source_feed": feed, "position": 60,
                  "rss_source_item": base64.urlsafe_b64encode(
                      f"later-{n},https://feeds.example/browser/later-{n}.mp3".encode()
                  ).decode().rstrip("=")} for n in range(100)]
        status = self.api("POST", "/api/v1/play/batch", token, {"plays": plays})
        if status != 202:
            raise Failure(f"POST /api/v1/play/batch with the app's token: {status}, not 202")
        self.open_until("/account/listening",
                        "!!document.querySelector('a[href=\"/account/listening?page=2\"]')")
        if EPISODE in self.text():
            raise Failure("the oldest play is still on the first page of 100 newer ones")
        self.click("a[href='/account/listening?page=2']")
        self.expect_text("this is page 2")
        if EPISODE not in self.text() or "later-" in self.text():
            raise Failure(f"the second page holds more than the oldest play: {self.text()}")
        self.done("listening-older")
        status = self.api("PUT", f"/api/v1/devices/{DEVICE}", token,
                          {"caption": "My phone", "type": "mobile"})
        if status != 202:
            raise Failure(f"PUT /api/v1/devices/{DEVICE} with the app's token: {status}, not 202")
        self.open_until("/account/devices", "document.body.innerText.includes('My phone')")
        self.expect_text(DEVICE)
        self.done("devices")

    def privacy(self):
        self.open("/account/privacy")
        self.done("privacy")
        self.cdp.js("document.getElementById('global').value = 'anonymous'")
        self.click("form[action='/account/privacy'] button[type=submit]")
        self.expect_text("Saved", "Accepted")
        self.done("privacy-saved")
        # Like the subscription, the change reaches the page's read model through the pipeline.
        self.open_until("/account/privacy",
                        "document.getElementById('global').value === 'anonymous'")

    def secrets(self):
        """An app password, shown once; a play token where the server has them."""
        self.open("/account/app-passwords")
        self.fill("name", "phone")
        self.click("form[action='/account/app-passwords'] button[type=submit]")
        secret = self.cdp.js("document.getElementById('new-secret')?.textContent ?? ''")
        if len(secret) < 16:
            raise Failure(f"no app password shown after creating one (got {secret!r})")
        self.done("app-password-created")
        self.open("/account/app-passwords")
        if secret in self.text():
            raise Failure("the app password is shown again on a later visit")
        self.done("app-passwords")

        # Play tokens came after the other pages; a server without them says 404.
        if self.open("/account/play-tokens", expect=(200, 404)) == 404:
            print("play tokens: no such page on this server, step left out", flush=True)
            return
        self.fill("name", "rss reader")
        self.click("form[action='/account/play-tokens'] button[type=submit]")
        if not self.cdp.js("document.getElementById('new-secret')?.textContent ?? ''"):
            raise Failure("no play token shown after creating one")
        self.done("play-token-created")

    def revoke_the_app(self, token):
        self.open("/account/apps")
        self.expect_text(self.app_id)
        self.done("apps")
        self.click(f"form[action='/account/apps/{self.app_id}/revoke'] button")
        revoked_at = time.monotonic()
        while (status := self.api("GET", "/api/v1/subscriptions", token)) != 401:
            if time.monotonic() - revoked_at > 1:
                raise Failure(f"the revoked app's token still gets {status} after 1 s")
            time.sleep(0.1)
        took_ms = (time.monotonic() - revoked_at) * 1000
        self.expect_text("No app is authorized")
        self.done("apps-revoked", f"token refused after {took_ms:.0f} ms")


    def nextcloud_login_flow(self):
        """AntennaPod's Login Flow v2: the app starts a flow and polls; the user, logged out,
        opens the link, logs in, grants; the app's next poll gets an app password that syncs."""
        status, flow = self.post_form(self.url + "/index.php/login/v2",
                                      headers={"User-Agent": NEXTCLOUD_APP})
        if status != 200 or not flow["login"].startswith(self.url + "/login/v2/flow/"):
            raise Failure(f"POST /index.php/login/v2: {status} {flow}")
        poll = flow["poll"]
        if poll["endpoint"] != self.url + "/index.php/login/v2/poll":
            raise Failure(f"the poll endpoint is {poll['endpoint']}")
        token = {"token": poll["token"]}
        if (status := self.post_form(poll["endpoint"], token)[0]) != 404:
            raise Failure(f"a poll before the grant: {status}, not 404")

        # The browser opens the link logged out: the log-in page first, then the grant page.
        self.open(flow["login"][len(self.url):])
        if self.path() != "/login":
            raise Failure(f"the login link opened {self.path()} logged out, not /login")
        self.fill("username", self.username)
        self.fill("password", PASSWORD)
        self.click("form[action='/login'] button[type=submit]")
        self.expect_text(f"{NEXTCLOUD_APP} wants to sync")
        self.expect_text(f"as {self.username}")
        self.done("nextcloud-grant")
        self.click("button[value=grant]")
        self.expect_text(f"Access granted to {NEXTCLOUD_APP}")
        self.done("nextcloud-granted")

        status, granted = self.post_form(poll["endpoint"], token)
        if status != 200 or granted["server"] != self.url or granted["loginName"] != self.username:
            raise Failure(f"the poll after the grant: {status} {granted}")
        if (status := self.post_form(poll["endpoint"], token)[0]) != 404:
            raise Failure(f"a second poll: {status}, not 404 (the password is handed over once)")
        # The credentials sync, as AntennaPod sends them: Basic on every call.
        basic = base64.b64encode(f"{granted['loginName']}:{granted['appPassword']}".encode())
        request = urllib.request.Request(
            granted["server"] + "/index.php/apps/gpoddersync/subscriptions?since=0",
            headers={"Authorization": f"Basic {basic.decode()}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            changes = json.load(response)
        if FEED not in changes["add"]:
            raise Failure(f"the granted app password does not sync the subscriptions: {changes}")
        self.open("/account/app-passwords")
        self.expect_text(NEXTCLOUD_APP)
        self.done("nextcloud-app-password", "the poll's app password syncs")


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    os.makedirs(sys.argv[6], exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="balados-browser-") as workdir:
        browser = steps = None
        try:
            browser = Browser(workdir)
            browser.connect()
            steps = Steps(sys.argv[1:], browser)
            steps.run()
        except (Failure, OSError, subprocess.SubprocessError, websocket.WebSocketException) as e:
            print(f"FAILED: {e}", file=sys.stderr)
            if browser is not None and browser.cdp is not None:
                try:
                    page = browser.cdp.js("location.href + '\\n' + document.body.innerText")
                    print(f"--- the page at {page}", file=sys.stderr)
                    if steps is not None:
                        shot = steps.shoot(steps.step + 1, "failure")
                        print(f"--- screenshot {shot}", file=sys.stderr)
                except Exception as dump:  # the page itself may be what failed
                    print(f"(page text unavailable: {dump})", file=sys.stderr)
            return 1
        finally:
            if browser is not None:
                browser.close()
    print("all steps passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
