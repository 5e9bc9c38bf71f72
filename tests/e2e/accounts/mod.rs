//! Accounts and app authorization end to end, through the pages as a browser uses them and the
//! API as an app does: register, authorize an app with a signed request, use it within its
//! scopes, revoke it — and every attack of the issue refused with its status.

pub(crate) mod client;

use crate::helpers::{Stack, eventually};
use balados_auth::request::{AppInfo, AuthorizationRequest, sign_request};
use client::{Browser, csrf_of};
use serde_json::json;
use std::time::{Duration, Instant};

pub struct App {
    pub id: String,
    pub private: String,
    pub public: String,
}

impl App {
    pub fn new(id: &str) -> Self {
        let (private, public) = balados_auth::generate_app_keys().expect("keys");
        Self {
            id: id.to_owned(),
            private,
            public,
        }
    }

    /// The link the app sends its user to.
    pub fn authorize_path(&self, scopes: &str, redirect: Option<&str>) -> String {
        let now = chrono::Utc::now().timestamp();
        let request = AuthorizationRequest {
            iss: self.id.clone(),
            app: AppInfo {
                name: format!("The {} app", self.id),
                url: "https://app.example".into(),
                image: None,
                public_key: self.public.clone(),
            },
            scopes: scopes.into(),
            redirect_uri: redirect.map(str::to_owned),
            state: Some("s-42".into()),
            iat: now,
            exp: now + 600,
        };
        let token = sign_request(self.private.as_bytes(), &request).expect("signs");
        format!("/authorize?token={token}")
    }

    pub fn token(&self, user: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = balados_auth::Claims {
            iss: self.id.clone(),
            sub: user.into(),
            exp: now + 600,
            iat: Some(now),
            device_id: None,
            device_name: None,
        };
        balados_auth::mint_token(self.private.as_bytes(), &claims).expect("mints")
    }
}

/// Approves `app` for the browser's user; the user id the app is sent back with.
pub async fn approve(browser: &mut Browser, app: &App, scopes: &str) -> String {
    let path = app.authorize_path(scopes, Some("https://app.example/done"));
    let page = browser.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&format!("The {} app", app.id)));
    let token = path.trim_start_matches("/authorize?token=");
    let done = browser
        .post(
            "/authorize",
            &[
                ("csrf", &csrf_of(&page.body)),
                ("token", token),
                ("decision", "approve"),
            ],
        )
        .await;
    let back = done.location.expect("sent back to the app");
    assert!(
        back.starts_with("https://app.example/done?user_id="),
        "{back}"
    );
    assert!(back.ends_with("&state=s-42"), "{back}");
    back.trim_start_matches("https://app.example/done?user_id=")
        .trim_end_matches("&state=s-42")
        .to_owned()
}

pub async fn call(
    url: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> u16 {
    let client = reqwest::Client::new();
    let mut request = client
        .request(method.parse().expect("method"), format!("{url}{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    if status >= 400 {
        eprintln!(
            "{method} {path}: {status} {}",
            response.text().await.unwrap_or_default()
        );
    }
    status
}

fn subscribe() -> Option<serde_json::Value> {
    Some(json!({"rss_source_feed": crate::helpers::feed_id("https://feeds.example/a.xml")}))
}

#[tokio::test]
async fn a_user_registers_authorizes_an_app_uses_it_within_its_scopes_and_revokes_it() {
    let stack = Stack::start(true).await;
    let url = stack.server().url.clone();
    let mut ann = Browser::new(&url);
    let ann_id = ann.register("ann_e2e", "correct horse battery").await;
    let app = App::new("podapp");
    let granted = approve(&mut ann, &app, "user.subscriptions user.plays.read").await;
    assert_eq!(granted, ann_id);

    let token = app.token(&ann_id);
    assert_eq!(
        call(&url, "POST", "/api/v1/subscriptions", &token, subscribe()).await,
        202
    );
    assert_eq!(call(&url, "GET", "/api/v1/play", &token, None).await, 200);
    // Never granted: 403, whatever the token says.
    let play =
        json!({"rss_source_feed": "x", "rss_source_item": "y", "position": 1, "played": false});
    assert_eq!(
        call(&url, "POST", "/api/v1/play", &token, Some(play)).await,
        403
    );
    // The app's key, another user: refused like a bad signature.
    let bob_id = Browser::new(&url)
        .register("bob_e2e", "another good passphrase")
        .await;
    assert_eq!(
        call(
            &url,
            "GET",
            "/api/v1/subscriptions",
            &app.token(&bob_id),
            None
        )
        .await,
        401
    );
    // Another app's key for Ann: refused.
    let other = App::new("podapp");
    assert_eq!(
        call(
            &url,
            "GET",
            "/api/v1/subscriptions",
            &other.token(&ann_id),
            None
        )
        .await,
        401
    );

    // The export holds it, as JSON and as OPML.
    let export = eventually(
        Duration::from_secs(10),
        "the subscription in the export",
        || {
            let (url, cookie) = (
                url.clone(),
                format!("balados_session={}", ann.cookies["balados_session"]),
            );
            async move {
                let text = reqwest::Client::new()
                    .get(format!("{url}/account/export.json"))
                    .header("cookie", cookie)
                    .send()
                    .await
                    .ok()?
                    .text()
                    .await
                    .ok()?;
                text.contains("https://feeds.example/a.xml").then_some(text)
            }
        },
    )
    .await;
    let export: serde_json::Value = serde_json::from_str(&export).expect("JSON");
    assert_eq!(export["user_id"], ann_id.as_str());
    assert_eq!(export["apps"][0]["app_id"], "podapp", "{export}");
    assert!(
        export["play_statuses"].is_array() && export["public_events"].is_array(),
        "{export}"
    );
    assert!(
        !export.to_string().contains("public_key"),
        "no keys or secrets"
    );
    let opml = ann.get("/account/export.opml").await;
    assert!(
        opml.body
            .contains(r#"xmlUrl="https://feeds.example/a.xml""#),
        "{}",
        opml.body
    );

    let apps = reqwest::Client::new()
        .get(format!("{url}/api/v1/apps"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("apps")
        .json::<serde_json::Value>()
        .await
        .expect("json");
    assert_eq!(apps["apps"][0]["app_id"], "podapp", "{apps}");
    assert_eq!(
        apps["apps"][0]["scopes"],
        "user.subscriptions user.plays.read"
    );

    // Revoked on the page: refused within a second.
    let page = ann.get("/account/apps").await;
    assert!(page.body.contains("podapp"));
    let revoked = ann
        .post(
            "/account/apps/podapp/revoke",
            &[("csrf", &csrf_of(&page.body))],
        )
        .await;
    assert_eq!(revoked.status, 303);
    let start = Instant::now();
    eventually(Duration::from_secs(2), "the revoked app refused", || {
        let (url, token) = (url.clone(), token.clone());
        async move {
            (call(&url, "GET", "/api/v1/subscriptions", &token, None).await == 401).then_some(())
        }
    })
    .await;
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "refused after {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn forms_without_their_token_sessions_planted_and_redirects_elsewhere_are_refused() {
    let stack = Stack::start(true).await;
    let url = stack.server().url.clone();

    // Session fixation: a session id planted before log-in is never the one logged in.
    let mut eve = Browser::new(&url);
    eve.cookies.insert(balados_web_cookie(), "planted".into());
    let _ = eve.register("eve_e2e", "correct horse battery").await;
    assert_ne!(
        eve.cookies.get(&balados_web_cookie()).map(String::as_str),
        Some("planted")
    );
    let mut planted = Browser::new(&url);
    planted
        .cookies
        .insert(balados_web_cookie(), "planted".into());
    assert_eq!(
        planted.get("/account").await.status,
        303,
        "a planted id logs no one in"
    );

    // A session opened with an app password (gpodder's login.json) never opens the pages.
    let csrf = eve.csrf("/account/app-passwords").await;
    let created = eve
        .post(
            "/account/app-passwords",
            &[("csrf", &csrf), ("name", "gpodder")],
        )
        .await;
    let secret = created
        .body
        .split(r#"id="new-secret""#)
        .nth(1)
        .and_then(|s| s.split('>').nth(1))
        .and_then(|s| s.split('<').next())
        .expect("the new app password shown")
        .to_owned();
    let login = reqwest::Client::new()
        .post(format!("{url}/api/2/auth/eve_e2e/login.json"))
        .basic_auth("eve_e2e", Some(&secret))
        .send()
        .await
        .expect("login.json");
    assert_eq!(login.status().as_u16(), 200);
    let sessionid = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("sessionid="))
        .and_then(|c| c.split(';').next())
        .expect("a sessionid cookie")
        .to_owned();
    let mut smuggled = Browser::new(&url);
    smuggled.cookies.insert(balados_web_cookie(), sessionid);
    assert_eq!(
        smuggled.get("/account").await.status,
        303,
        "an app password's session opens no page"
    );

    // CSRF: every form refuses a post without the page's token, or with another session's.
    let mut other = Browser::new(&url);
    let _ = other
        .register("mallory_e2e", "another good passphrase")
        .await;
    let foreign = other.csrf("/account").await;
    let app = App::new("csrfapp");
    let authorize = app.authorize_path("user.plays", None);
    let token = authorize.trim_start_matches("/authorize?token=");
    for (path, fields) in [
        ("/logout", vec![]),
        (
            "/account/password",
            vec![
                ("current", "correct horse battery"),
                ("new", "a new passphrase here"),
            ],
        ),
        (
            "/authorize",
            vec![("token", token), ("decision", "approve")],
        ),
        ("/account/apps/csrfapp/revoke", vec![]),
        ("/account/app-passwords", vec![("name", "phone")]),
        (
            "/account/privacy",
            vec![("privacy", "private"), ("feed", "")],
        ),
        (
            "/account/subscriptions",
            vec![("url", "https://feeds.example/csrf.xml")],
        ),
        (
            "/account/subscriptions/remove",
            vec![("feed", "aHR0cHM6Ly9mZWVkcy5leGFtcGxlL2NzcmYueG1s")],
        ),
        (
            "/account/play-tokens",
            vec![("name", "feeds"), ("days", "30")],
        ),
        (
            "/account/app-passwords/00000000-0000-0000-0000-000000000000/revoke",
            vec![],
        ),
        (
            "/account/play-tokens/00000000-0000-0000-0000-000000000000/revoke",
            vec![],
        ),
        (
            "/account/delete",
            vec![
                ("confirm", "eve_e2e"),
                ("password", "correct horse battery"),
            ],
        ),
    ] {
        for csrf in ["", foreign.as_str()] {
            let mut form = fields.clone();
            form.push(("csrf", csrf));
            let answer = eve.post(path, &form).await;
            assert_eq!(
                answer.status, 403,
                "{path} with csrf {csrf:?}: {}",
                answer.body
            );
        }
    }
    // The anonymous forms: a token that is not the cookie's.
    let mut stranger = Browser::new(&url);
    let _ = stranger.csrf("/login").await;
    for path in ["/login", "/register"] {
        let answer = stranger
            .post(
                path,
                &[
                    ("csrf", "forged"),
                    ("username", "eve_e2e"),
                    ("password", "correct horse battery"),
                ],
            )
            .await;
        assert_eq!(answer.status, 403, "{path}");
    }

    // Open redirects: after log-in only to this site; an app's return URL only on its origin.
    let mut visitor = Browser::new(&url);
    let csrf = visitor.csrf("/login").await;
    let answer = visitor
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", "eve_e2e"),
                ("password", "correct horse battery"),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(answer.location.as_deref(), Some("/account"));
    let evil = app.authorize_path("user.plays", Some("https://evil.example/steal"));
    let answer = visitor.get(&evil).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert!(answer.body.contains("invalid_redirect"));
    assert!(answer.location.is_none());

    // A weak key at authorization.
    let weak = include_str!("../../../auth/tests/fixtures/refused/weak-1024.pem");
    let mut weak_app = App::new("weakapp");
    weak_app.public = weak.to_owned();
    let answer = visitor
        .get(&weak_app.authorize_path("user.plays", None))
        .await;
    assert_eq!(answer.status, 422);

    // Brute force: locked after the free attempts, said clearly.
    let mut attacker = Browser::new(&url);
    let mut last = String::new();
    for n in 0..7 {
        let csrf = attacker.csrf("/login").await;
        let answer = attacker
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("username", "mallory_e2e"),
                    ("password", &format!("guess number {n}")),
                ],
            )
            .await;
        assert_eq!(answer.status, 401);
        last = answer.body;
    }
    assert!(last.contains("locked until"), "{last}");
    let csrf = attacker.csrf("/login").await;
    let right = attacker
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", "mallory_e2e"),
                ("password", "another good passphrase"),
            ],
        )
        .await;
    assert_eq!(
        right.status, 401,
        "even the right password waits out the lock"
    );

    // A flood of password checks from one address is cut short (each costs an Argon2 hash). The
    // 30 arrive together, as a flood does: sent one after another they would take longer than
    // the budget takes to refill on a busy machine, each waiting for the previous one's hash.
    let mut flooders = Vec::new();
    for _ in 0..30 {
        let mut flooder = Browser::new(&url);
        let csrf = flooder.csrf("/login").await;
        flooders.push((flooder, csrf));
    }
    let statuses: Vec<u16> =
        futures::future::join_all(flooders.iter_mut().enumerate().map(|(n, (flooder, csrf))| {
            let user = format!("nobody{n}");
            async move {
                let form = [
                    ("csrf", csrf.as_str()),
                    ("username", &user),
                    ("password", "guess"),
                ];
                flooder.post("/login", &form).await.status
            }
        }))
        .await;
    assert!(statuses.contains(&429), "{statuses:?}");
}

fn balados_web_cookie() -> String {
    "balados_session".to_owned()
}

/// Two servers over the same database and topics: an app revoked through one is refused by the
/// other within a second, though the other had verified (and cached) its token.
#[tokio::test]
async fn a_revocation_on_one_instance_is_refused_on_the_other_within_a_second() {
    let stack = Stack::start(true).await;
    let first = stack.server().url.clone();
    let second = stack.spawn_service(
        "serve",
        &[("BALADOS__AGGREGATOR__INSTANCE_ID".into(), "e2e-2".into())],
    );
    let mut ann = Browser::new(&first);
    let ann_id = ann.register("ann_two", "correct horse battery").await;
    let app = App::new("twoapp");
    approve(&mut ann, &app, "user").await;
    let token = app.token(&ann_id);
    let second_url = second.url.clone();
    // The other instance learns of the grant within its refresh, then remembers the token.
    eventually(
        Duration::from_secs(5),
        "the grant known on the second instance",
        || {
            let (url, token) = (second_url.clone(), token.clone());
            async move {
                (call(&url, "GET", "/api/v1/subscriptions", &token, None).await == 200)
                    .then_some(())
            }
        },
    )
    .await;
    assert_eq!(
        call(&second_url, "GET", "/api/v1/apps", &token, None).await,
        200
    );

    assert_eq!(
        call(&first, "DELETE", "/api/v1/apps/twoapp", &token, None).await,
        204
    );
    let start = Instant::now();
    eventually(
        Duration::from_secs(3),
        "the revoked app refused on the second instance",
        || {
            let (url, token) = (second_url.clone(), token.clone());
            async move {
                (call(&url, "GET", "/api/v1/subscriptions", &token, None).await == 401)
                    .then_some(())
            }
        },
    )
    .await;
    let took = start.elapsed();
    eprintln!("revoked on one instance, refused on the other after {took:?} (polled every 100 ms)");
    assert!(took < Duration::from_secs(1), "refused after {took:?}");
    assert_eq!(
        call(&first, "DELETE", "/api/v1/apps/twoapp", &token, None).await,
        401
    );
}

/// Deleting the account from its page: confirmed by username and password; then nothing of the
/// user acts or logs in any more (session, app, password), and the name is free again.
#[tokio::test]
async fn a_user_deletes_their_account_from_its_page() {
    let stack = Stack::start(true).await;
    let url = stack.server().url.clone();
    let mut zoe = Browser::new(&url);
    let zoe_id = zoe.register("zoe_e2e", "correct horse battery").await;
    let app = App::new("zoeapp");
    approve(&mut zoe, &app, "user").await;
    let token = app.token(&zoe_id);
    assert_eq!(
        call(&url, "POST", "/api/v1/subscriptions", &token, subscribe()).await,
        202
    );

    eventually(Duration::from_secs(10), "her subscription stored", || {
        let (url, token) = (url.clone(), token.clone());
        async move {
            let list = reqwest::Client::new()
                .get(format!("{url}/api/v1/subscriptions"))
                .bearer_auth(token)
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            list.contains("feeds.example/a.xml").then_some(())
        }
    })
    .await;
    let csrf = zoe.csrf("/account/delete").await;
    let wrong = zoe
        .post(
            "/account/delete",
            &[
                ("csrf", &csrf),
                ("confirm", "someone"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422, "the username must be typed");
    let done = zoe
        .post(
            "/account/delete",
            &[
                ("csrf", &csrf),
                ("confirm", "zoe_e2e"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("deleted"), "{}", done.body);
    assert_eq!(
        call(&url, "GET", "/api/v1/subscriptions", &token, None).await,
        401
    );
    assert_eq!(zoe.get("/account").await.status, 303, "logged out");
    // Her data went through the pipeline: the subscription her app made is gone.
    let db = sqlx::PgPool::connect(&stack.database_url)
        .await
        .expect("db");
    eventually(Duration::from_secs(10), "her subscriptions deleted", || {
        let (db, id) = (db.clone(), zoe_id.clone());
        async move {
            let (rows,): (i64,) =
                sqlx::query_as("SELECT count(*) FROM users.subscriptions WHERE user_id = $1")
                    .bind(id)
                    .fetch_one(&db)
                    .await
                    .ok()?;
            (rows == 0).then_some(())
        }
    })
    .await;
    let mut again = Browser::new(&url);
    let csrf = again.csrf("/login").await;
    let login = again
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", "zoe_e2e"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(login.status, 401);
    let new_id = again.register("zoe_e2e", "a brand new passphrase").await;
    assert_ne!(new_id, zoe_id);
}

/// OPML with an app granted subscriptions only: the feeds come in, the groups do not become
/// collections, and the export carries no groups (collections are their own scope).
#[tokio::test]
async fn opml_import_and_export_stay_within_the_apps_scopes() {
    let stack = Stack::start(true).await;
    let url = stack.server().url.clone();
    let mut ann = Browser::new(&url);
    let ann_id = ann.register("ann_opml", "correct horse battery").await;
    let app = App::new("opmlapp");
    approve(&mut ann, &app, "user.subscriptions").await;
    let token = app.token(&ann_id);
    let opml = r#"<?xml version="1.0"?><opml version="2.0"><body><outline text="News">
        <outline text="a" xmlUrl="https://feeds.example/news.xml"/></outline></body></opml>"#;
    let http = reqwest::Client::new();
    let imported: serde_json::Value = http
        .post(format!("{url}/api/v1/subscriptions/opml"))
        .bearer_auth(&token)
        .body(opml)
        .send()
        .await
        .expect("import")
        .json()
        .await
        .expect("JSON");
    assert!(imported.to_string().contains("news.xml"), "{imported}");
    assert_eq!(
        imported["collections"],
        serde_json::json!([]),
        "no group made a collection: {imported}"
    );
    let everything = crate::helpers::token(&ann_id, 300);
    let collections = http
        .get(format!("{url}/api/v1/collections"))
        .bearer_auth(&everything)
        .send()
        .await
        .expect("collections")
        .text()
        .await
        .expect("text");
    assert!(
        !collections.contains("News"),
        "no collection made: {collections}"
    );
    // The import answers once decided; the read models follow a moment later.
    let exported = eventually(Duration::from_secs(10), "the feed in the export", || {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        async move {
            let text = http
                .get(format!("{url}/api/v1/subscriptions/opml"))
                .bearer_auth(&token)
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            text.contains("news.xml").then_some(text)
        }
    })
    .await;
    assert!(
        !exported.contains("News"),
        "no groups without collections.read: {exported}"
    );
}
