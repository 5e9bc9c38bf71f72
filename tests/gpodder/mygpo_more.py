"""The rest of the gpodder.net API v2 of a running server, driven by `mygpoclient` where it has a
call (settings, favorites, the toplist) and by plain HTTP where it has none (updates,
sync-devices): each answer is still parsed by the library's own classes.

Usage: mygpo_more.py BASE_URL USER APP_PASSWORD
Prints one "ok <step>" line per step; exits non-zero at the first failure.
"""

import base64
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from mygpoclient import api, http, public, simple
from mygpoclient.api import EpisodeAction

BASE, USER, PASSWORD = sys.argv[1:4]

A = "http://example.com/more-a.xml"
B = "http://example.com/more-b.xml"
EP1 = "https://cdn.example.com/more/1.mp3"
EP2 = "https://cdn.example.com/more/2.mp3"


def ok(step):
    print(f"ok {step}", flush=True)


def expect(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: expected {want!r}, got {got!r}")


def raw(method, path, body=None):
    """(status, parsed JSON or None) of one request with Basic credentials."""
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(BASE + path, data=body, method=method,
                                     headers={"Authorization": f"Basic {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


def setup(client):
    client.update_device_settings("laptop", caption="Laptop", type="laptop")
    client.update_device_settings("phone", type="mobile")
    client.update_subscriptions("laptop", add_urls=[A, B])
    client.upload_episode_actions([
        EpisodeAction(A, EP1, "play", "laptop", "2026-11-30T10:00:00", 0, 100, 1000),
        EpisodeAction(A, EP2, "new", "laptop", "2026-11-30T10:00:00"),
    ])


def updates(client):
    status, answer = raw("GET", f"/api/2/updates/{USER}/phone.json?since=0")
    expect(status, 200, "updates since 0")
    added = [simple.Podcast.from_dict(p) for p in answer["add"]]
    expect(sorted(p.url for p in added), [A, B], "podcasts added")
    expect(added[0].title, added[0].url, "a title we do not know is the URL")
    episodes = {e["url"]: e for e in answer["updates"]}
    for e in answer["updates"]:
        public.Episode.from_dict(e)
    expect((episodes[EP1]["status"], episodes[EP2]["status"]), ("play", "new"), "statuses")
    expect("action" in episodes[EP1], False, "no action without include_actions")
    first = answer["timestamp"]
    status, answer = raw("GET", f"/api/2/updates/{USER}/phone.json?since=0&include_actions=true")
    action = {e["url"]: e for e in answer["updates"]}[EP1]["action"]
    expect((action["action"], action["position"], action["total"]), ("play", 100, 1000), "the action")
    client.update_subscriptions("phone", remove_urls=[B])
    status, answer = raw("GET", f"/api/2/updates/{USER}/laptop.json?since={first}")
    expect((answer["add"], answer["remove"], answer["updates"]), ([], [B], []), "changes since")
    if answer["timestamp"] <= first:
        raise AssertionError(f"timestamp did not move: {first} then {answer['timestamp']}")
    ok("updates: podcasts added, removed, episodes with status and action, since")


def sync_devices():
    want = {"synchronized": [["laptop", "phone"]], "not-synchronized": []}
    expect(raw("GET", f"/api/2/sync-devices/{USER}.json"), (200, want), "one group")
    body = json.dumps({"synchronize": [["laptop", "phone"]]}).encode()
    expect(raw("POST", f"/api/2/sync-devices/{USER}.json", body), (200, want), "already synchronised")
    body = json.dumps({"stop-synchronize": ["phone"]}).encode()
    expect(raw("POST", f"/api/2/sync-devices/{USER}.json", body)[0], 400, "stop is unsupported")
    body = json.dumps({"synchronize": [["laptop", "nope"]]}).encode()
    expect(raw("POST", f"/api/2/sync-devices/{USER}.json", body)[0], 400, "an unknown device")
    ok("sync-devices: one group of every device; stop-synchronize 400")


def toplist():
    directory = public.PublicClient(root_url=BASE)
    deadline = time.time() + 30
    while True:
        top = directory.get_toplist(10)
        urls = [p.url for p in top]
        if A in urls:
            break
        if time.time() > deadline:
            raise AssertionError(f"{A} not in the toplist: {urls}")
        time.sleep(0.5)
    podcast = top[urls.index(A)]
    if podcast.subscribers < 1:
        raise AssertionError(f"subscribers {podcast.subscribers}")
    status, answer = raw("GET", "/toplist/500.json")
    if status != 200 or len(answer) > 100:
        raise AssertionError(f"a count beyond 100: {status} {len(answer or [])}")
    ok("toplist: our popularity, parsed by PublicClient.get_toplist")


def settings(client):
    expect(client.get_settings("account"), {"public_profile": True, "public_subscriptions": True},
           "account defaults")
    got = client.set_settings("account", None, None, set={"public_subscriptions": False, "flattr": "x"})
    expect(got, {"public_profile": False, "public_subscriptions": False}, "private; flattr not kept")
    got = client.set_settings("account", None, None, remove=["public_profile"])
    expect(got["public_profile"], True, "removed: back to public")
    got = client.set_settings("podcast", A, None, set={"public_subscription": False})
    expect(got, {"public_subscription": False}, "a private feed")
    expect(client.get_settings("podcast", B), {"public_subscription": True}, "another feed")
    got = client.set_settings("device", "laptop", None, set={"auto_download": True})
    expect(got, {}, "device settings are not kept")
    try:
        client.set_settings("account", None, None, set={"public_profile": "yes"})
        raise AssertionError("a setting that is not a boolean was accepted")
    except http.BadRequest:
        pass
    ok("settings: account and podcast privacy kept, other keys not")


def favorites(client):
    expect(client.get_favorite_episodes(), [], "no favorites yet")
    got = client.set_settings("episode", A, EP1, set={"is_favorite": True})
    expect(got, {"is_favorite": True}, "a favorite")
    found = client.get_favorite_episodes()
    expect([(e.url, e.podcast_url) for e in found], [(EP1, A)], "the favorites")
    client.set_settings("episode", A, EP1, set={"is_favorite": False})
    expect(client.get_favorite_episodes(), [], "no longer a favorite")
    ok("favorites: saved episodes, is_favorite through the episode settings")


def main():
    client = api.MygPodderClient(USER, PASSWORD, root_url=BASE)
    setup(client)
    updates(client)
    sync_devices()
    toplist()
    settings(client)
    favorites(client)
    ok("all")


if __name__ == "__main__":
    main()
