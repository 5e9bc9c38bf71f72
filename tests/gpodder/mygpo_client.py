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


def post_actions(actions):
    """The raw answer to an episode actions upload, as AntennaPod sends it (with guid)."""
    status, _, body = raw("POST", f"/api/2/episodes/{USER}.json", json.dumps(actions).encode(),
                          {**basic(USER, PASSWORD), "Content-Type": "application/json"})
    expect(status, 200, f"episode actions upload: {body[:300]!r}")
    return json.loads(body)


def latest(client, since=0):
    """Each episode's latest action, by media URL, from a download."""
    changes = client.download_episode_actions(since)
    return {a.episode: a for a in changes.actions}, changes.since


def episode_actions(client, second):
    from mygpoclient.api import EpisodeAction
    ep = [f"https://cdn.example.com/{n}.mp3" for n in range(6)]
    first = client.upload_episode_actions([
        EpisodeAction(A, ep[1], "play", "laptop", "2026-11-30T10:00:00", 0, 100, 1000),
        EpisodeAction(A, ep[2], "play", "laptop", "2026-11-30T10:00:00", 0, 20, 600),
        EpisodeAction(A, ep[3], "download", "laptop", "2026-11-30T10:00:00"),
    ])
    if first <= 0:
        raise AssertionError(f"upload timestamp {first}")
    seen, since = latest(second)
    expect((seen[ep[1]].action, seen[ep[1]].position, seen[ep[1]].total), ("play", 100, 1000), "a play, on another device")
    expect(ep[3] in seen, False, "a download changes nothing synced")
    # Uploaded late, happened long ago: still delivered to the device that already synced.
    client.upload_episode_actions([EpisodeAction(A, ep[4], "play", "laptop", "2009-12-12T09:00:00", 0, 5, 60)])
    seen, since2 = latest(second, since)
    expect(list(seen), [ep[4]], "a late upload reaches the other device by position")
    # A stale upload does not overwrite a newer position; a newer one from another device does.
    client.upload_episode_actions([EpisodeAction(A, ep[1], "play", "laptop", "2026-11-30T09:00:00", 0, 50, 1000)])
    second.upload_episode_actions([EpisodeAction(A, ep[1], "play", "phone.2", "2026-11-30T11:00:00", 0, 300, 1000)])
    seen, _ = latest(client, since2)
    expect(seen[ep[1]].position, 300, "the newest action wins by its own time")
    # Beyond the total: clamped, not refused; then marked unplayed: honoured.
    client.upload_episode_actions([EpisodeAction(A, ep[2], "play", "laptop", "2026-11-30T12:00:00", 0, 5000, 600)])
    seen, _ = latest(second, since2)
    expect(seen[ep[2]].position, 600, "a position beyond the total is clamped")
    client.upload_episode_actions([EpisodeAction(A, ep[2], "new", "laptop", "2026-11-30T13:00:00")])
    seen, _ = latest(second, since2)
    expect(seen[ep[2]].action, "new", "marked unplayed")
    ok("episode actions: up and down, a late upload delivered, the newest wins, clamped, new honoured")

    # As AntennaPod sends them: with guid; one episode whatever its URL; one bad action skipped.
    answer = post_actions([
        {"podcast": A, "episode": ep[5], "guid": "guid-5", "action": "play", "timestamp": "2026-11-30T14:00:00",
         "started": 0, "position": 10, "total": 100, "device": "laptop"},
        {"podcast": A, "action": "play", "timestamp": "2026-11-30T14:00:00"},
        {"podcast": A, "episode": ep[5] + "?moved", "guid": "guid-5", "action": "PLAY",
         "timestamp": "2026-11-30T14:10:00.123Z", "started": 10, "position": 40, "total": 100},
        {"podcast": "itpc://example.com/a.xml", "episode": ep[0], "action": "flattr"},
    ])
    expect([s["index"] for s in answer["skipped"]], [1, 3], f"invalid actions skipped: {answer}")
    seen, _ = latest(second, since2)
    expect((ep[5] + "?moved") in seen, False, "a new URL under a known GUID is the same episode")
    expect(seen[ep[5]].position, 40, "the moved episode's newest position")
    ok("episode actions as AntennaPod sends them: guid identity, one bad action skipped")

    # A long history: pages of at most 1,000, each answer saying where the next starts.
    history = [{"podcast": B, "episode": f"https://cdn.example.com/h/{n}.mp3", "action": "play",
                "timestamp": "2026-11-29T08:00:00", "started": 0, "position": n % 50 + 1, "total": 3600}
               for n in range(10_000)]
    _, start = latest(second, since2)
    # Uploaded in four requests of 2,500, each well within the request deadline on a busy machine.
    for chunk in range(0, len(history), 2_500):
        post_actions(history[chunk:chunk + 2_500])
    got, cursor, pages = set(), start, 0
    while True:
        changes = second.download_episode_actions(cursor)
        pages += 1
        got.update(a.episode for a in changes.actions if a.podcast == B)
        if len(changes.actions) < 1_000:
            break
        cursor = changes.since
    expect(len(got), 10_000, f"the whole history in {pages} pages")
    if pages < 10:
        raise AssertionError(f"{pages} pages for 10,000 actions")
    ok(f"a 10,000-action history paged ({pages} pages)")


def long_urls(client, second):
    """URLs of 2,048 bytes (longer than a database index entry may be once encoded), with the
    longest GUID, travel whole; one byte more is reported and skipped."""
    from mygpoclient.api import EpisodeAction
    feed = "https://example.com/long/" + "f" * (2048 - len("https://example.com/long/"))
    media = "https://cdn.example.com/long/" + "m" * (2048 - len("https://cdn.example.com/long/"))
    too_long = feed + "x"
    _, since = latest(second)
    subscriptions_since = second.pull_subscriptions("phone.2", 0).since
    result = client.update_subscriptions("laptop", add_urls=[feed, too_long])
    expect(dict(result.update_urls), {too_long: ""}, "a 2,049-byte URL reported and skipped")
    changes = second.pull_subscriptions("phone.2", subscriptions_since)
    expect(changes.add, [feed], "a 2,048-byte feed URL on another device")
    answer = post_actions([
        {"podcast": feed, "episode": media, "guid": "g" * 500, "action": "play",
         "timestamp": "2026-11-30T15:00:00", "started": 0, "position": 7, "total": 70, "device": "laptop"},
    ])
    expect(answer["skipped"], [], "the longest episode accepted")
    seen, _ = latest(second, since)
    expect((seen[media].podcast, seen[media].position), (feed, 7), "the longest episode on another device")
    ok("2,048-byte feed and media URLs with a 500-byte GUID travel whole; longer ones are skipped")


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
    long_urls(client, second)
    episode_actions(client, second)
    gzip_bodies()
    ok("all")


if __name__ == "__main__":
    main()
