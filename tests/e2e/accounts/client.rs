//! A browser as far as the pages care: it keeps cookies, reads the CSRF field of a page, posts
//! forms, and does not follow redirects (the tests look at where they go).

use std::collections::BTreeMap;

pub struct Browser {
    pub base: String,
    pub http: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
}

pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    pub set_cookies: Vec<String>,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn answer(&mut self, response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let set_cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        for cookie in &set_cookies {
            let pair = cookie.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        Answer {
            status,
            location,
            body: response.text().await.unwrap_or_default(),
            set_cookies,
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("GET");
        self.answer(response).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"))
            .send()
            .await
            .expect("POST");
        self.answer(response).await
    }

    /// The CSRF token of the page at `path`.
    pub async fn csrf(&mut self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        csrf_of(&page.body)
    }

    /// Logs in as `username` through the log-in form; its answer (303 to `/account` when it
    /// worked).
    pub async fn log_in(&mut self, username: &str, password: &str) -> Answer {
        let csrf = self.csrf("/login").await;
        let form = [
            ("csrf", csrf.as_str()),
            ("username", username),
            ("password", password),
            ("next", "/account"),
        ];
        self.post("/login", &form).await
    }

    /// Registers `username` and stays logged in; the new account's user id.
    pub async fn register(&mut self, username: &str, password: &str) -> String {
        let csrf = self.csrf("/register").await;
        let done = self
            .post(
                "/register",
                &[
                    ("csrf", &csrf),
                    ("username", username),
                    ("password", password),
                    ("next", "/account"),
                ],
            )
            .await;
        assert_eq!(
            (done.status, done.location.as_deref()),
            (303, Some("/account")),
            "{}",
            done.body
        );
        let session = done
            .set_cookies
            .iter()
            .find(|c| c.starts_with("balados_session="));
        let session = session.expect("a session cookie");
        assert!(
            session.contains("HttpOnly") && session.contains("SameSite=Lax"),
            "{session}"
        );
        let home = self.get("/account").await;
        let id = home
            .body
            .split("<code>")
            .nth(1)
            .and_then(|s| s.split("</code>").next());
        id.expect("the account page shows the user id").to_owned()
    }
}

pub fn csrf_of(page: &str) -> String {
    let value = page
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a CSRF field");
    value.to_owned()
}

pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
