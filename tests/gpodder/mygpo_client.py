"""The gpodder.net API v2 of a running server, driven by the real client library `mygpoclient`
(what gPodder desktop uses) and, where the library has no call for it, by plain HTTP requests
as AntennaPod sends them.

Usage: mygpo_client.py BASE_URL USER APP_PASSWORD OTHER_USER OTHER_APP_PASSWORD
Prints one "ok <step>" line per step; exits non-zero at the first failure.
"""

import base64
import gzip
import json
import sys
import urllib.error
import urllib.request

from mygpoclient import api, http

BASE, USER, PASSWORD, OTHER, OTHER_PASSWORD = sys.argv[1:6]

A = "http://example.com/a.xml"
B = "http://example.com/b.xml"
C = "https://example.com/c.xml"
D = "https://example.com/d.xml"
E = "https://example.com/e.xml"


def ok(step):
    print(f"ok {step}", flush=True)


def basic(user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def raw(method, path, body=None, headers=None):
    """(status, headers, body bytes) of one request, without following the 401 challenge."""
    request = urllib.request.Request(BASE + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def expect(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: expected {want!r}, got {got!r}")


def session_cookie(headers):
    for value in headers.get_all("Set-Cookie") or []:
        if value.startswith("sessionid="):
            return value
    raise AssertionError(f"no sessionid cookie in {headers.items()}")


def challenge_then_basic():
    status, headers, body = raw("GET", f"/api/2/devices/{USER}.json")
    expect(status, 401, "a call without credentials")
    expect(headers.get("WWW-Authenticate"), 'Basic realm="Balados Sync"', "the challenge")
    expect(json.loads(body)["code"], "unauthorized", "the error body")
    status, _, _ = raw("GET", f"/api/2/devices/{USER}.json", headers=basic(USER, "bal_wrong"))
    expect(status, 401, "a wrong app password")
    status, _, _ = raw("GET", f"/api/2/devices/{OTHER}.json", headers=basic(USER, PASSWORD))
    expect(status, 401, "another user's path")
    status, _, body = raw("GET", f"/api/2/devices/{USER.upper()}.json", headers=basic(USER, PASSWORD))
    expect(status, 200, "Basic with an app password, the path's username in another case")
    ok("401 challenge, then Basic with an app password")


def login_and_logout():
    status, headers, _ = raw("POST", f"/api/2/auth/{USER}/login.json")
    expect(status, 401, "a log-in without credentials")
    status, headers, _ = raw("POST", f"/api/2/auth/{USER}/login.json", headers=basic(USER, PASSWORD))
    expect(status, 200, "a log-in")
    cookie = session_cookie(headers)
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="):
        if attribute not in cookie:
            raise AssertionError(f"{attribute} missing from {cookie}")
    value = cookie.split(";")[0]
    with_cookie = {"Cookie": value}
    status, _, body = raw("GET", f"/api/2/devices/{USER}.json", headers=with_cookie)
    expect(status, 200, "a call with the session cookie alone")
    status, _, _ = raw("POST", f"/api/2/auth/{OTHER}/login.json",
                       headers={**with_cookie, **basic(OTHER, OTHER_PASSWORD)})
    expect(status, 400, "a log-in presenting another user's cookie")
    status, _, _ = raw("POST", f"/api/2/auth/{USER}/logout.json", headers=with_cookie)
    expect(status, 200, "a log-out")
    status, _, _ = raw("GET", f"/api/2/devices/{USER}.json", headers=with_cookie)
    expect(status, 401, "the cookie after log-out")
    status, _, _ = raw("POST", f"/api/2/auth/{USER}/logout.json")
    expect(status, 200, "a log-out without a cookie")
    ok("login.json sets the session cookie; logout.json ends it")


def devices(client):
    expect(client.update_device_settings("laptop", caption="My laptop", type="laptop"), True, "upsert")
    expect(client.update_device_settings("phone.2", type="mobile"), True, "upsert without caption")
    # Only the keys present change: the caption stays.
    expect(client.update_device_settings("laptop", type="desktop"), True, "type only")
    found = {d.device_id: (d.caption, d.type) for d in client.get_devices()}
    expect(found.get("laptop"), ("My laptop", "desktop"), "the laptop")
    expect(found.get("phone.2"), ("", "mobile"), "the phone")
    try:
        client.update_device_settings("laptop", type="phone")
        raise AssertionError("a bad device type was accepted")
    except http.BadRequest:
        pass
    ok("devices: upsert (empty 200), keys absent kept, list, bad type 400")


def subscriptions(client, second):
    result = client.update_subscriptions(
        "laptop", add_urls=["feed://example.com/a.xml", "http://EXAMPLE.com/b.xml?utm_source=x", C, "not a url"])
    rewrites = dict(result.update_urls)
    expect(rewrites.get("feed://example.com/a.xml"), A, "feed:// rewritten")
    expect(rewrites.get("http://EXAMPLE.com/b.xml?utm_source=x"), B, "host case and tracking rewritten")
    expect(rewrites.get("not a url"), "", "an invalid URL reported and skipped")
    first = result.since
    if first <= 0:
        raise AssertionError(f"timestamp {first}")
    changes = second.pull_subscriptions("phone.2", 0)
    expect(sorted(changes.add), sorted([A, B, C]), "a second device's first download")
    expect(changes.remove, [], "nothing removed yet")
    if changes.since < first:
        raise AssertionError(f"download timestamp {changes.since} behind the upload's {first}")
    removed = second.update_subscriptions("phone.2", remove_urls=[C])
    if removed.since <= first:
        raise AssertionError(f"timestamp did not move: {first} then {removed.since}")
    changes = client.pull_subscriptions("laptop", first)
    expect((changes.add, changes.remove), ([], [C]), "the laptop's changes since its upload")
    changes = client.pull_subscriptions("laptop", removed.since)
    expect((changes.add, changes.remove), ([], []), "nothing after the last position")
    try:
        client.update_subscriptions("laptop", add_urls=[D], remove_urls=[D])
        raise AssertionError("a URL in both lists was accepted")
    except http.BadRequest:
        pass
    ok("subscriptions: update_urls, a second device with since, a URL in both lists 400")


def simple_api(client):
    expect(sorted(client.get_subscriptions("laptop")), [A, B], "simple JSON of a device")
    auth = basic(USER, PASSWORD)
    for path in (f"/subscriptions/{USER}.txt", f"/subscriptions/{USER}/phone.2.txt"):
        status, _, body = raw("GET", path, headers=auth)
        expect((status, body.decode().split()), (200, [A, B]), path)
    status, headers, body = raw("GET", f"/subscriptions/{USER}.opml", headers=auth)
    expect(status, 200, "OPML")
    if f'xmlUrl="{A}"' not in body.decode() or "text/x-opml" not in headers.get("Content-Type", ""):
        raise AssertionError(body.decode())
    status, _, body = raw("GET", f"/subscriptions/{USER}.json", headers=auth)
    expect(json.loads(body), [A, B], "the JSON of every device")
    expect(client.put_subscriptions("phone.2", [A, D]), True, "PUT JSON")
    status, _, body = raw("GET", f"/subscriptions/{USER}/laptop.txt", headers=auth)
    expect(body.decode().split(), [A, D], "the list after PUT JSON, on another device")
    opml = f'<?xml version="1.0"?><opml version="2.0"><body><outline text="e" xmlUrl="{E}"/>' \
           f'<outline text="a" xmlUrl="{A}"/></body></opml>'
    status, _, body = raw("PUT", f"/subscriptions/{USER}/phone.2.opml", opml.encode(), auth)
    expect((status, body), (200, b""), "PUT OPML")
    status, _, body = raw("GET", f"/subscriptions/{USER}.json", headers=auth)
    expect(json.loads(body), [A, E], "the list after PUT OPML")
    status, _, body = raw("PUT", f"/subscriptions/{USER}/phone.2.txt", f"{B}\nitpc://example.com/e.xml\n".encode(), auth)
    expect((status, body), (200, b""), "PUT text")
    status, _, body = raw("GET", f"/subscriptions/{USER}/phone.2.json", headers=auth)
    expect(json.loads(body), [B, "http://example.com/e.xml"], "the list after PUT text")
    ok("simple API: GET and PUT in OPML, JSON and text, across devices")


def gzip_bodies():
    auth = basic(USER, PASSWORD)
    body = gzip.compress(json.dumps({"add": [C], "remove": []}).encode())
    status, _, answer = raw("POST", f"/api/2/subscriptions/{USER}/laptop.json", body,
                            {**auth, "Content-Encoding": "gzip", "Content-Type": "application/json"})
    expect(status, 200, "a gzip upload")
    expect(json.loads(answer)["update_urls"], [], "nothing rewritten")
    bomb = gzip.compress(b" " * (64 * 1024 * 1024))
    status, _, answer = raw("POST", f"/api/2/subscriptions/{USER}/laptop.json", bomb,
                            {**auth, "Content-Encoding": "gzip"})
    expect(status, 413, f"a gzip bomb of {len(bomb)} bytes")
    expect(json.loads(answer)["code"], "payload_too_large", "the bomb's error")
    ok("gzip: an upload inflated, a bomb 413")


def main():
    challenge_then_basic()
    login_and_logout()
    # One client object makes many calls: mygpoclient answers at most three challenges, so this
    # only works because the first Basic call received a session cookie.
    client = api.MygPodderClient(USER, PASSWORD, root_url=BASE)
    second = api.MygPodderClient(USER, PASSWORD, root_url=BASE)
    devices(client)
    subscriptions(client, second)
    simple_api(client)
    gzip_bodies()
    ok("all")


if __name__ == "__main__":
    main()
