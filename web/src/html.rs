//! Server-rendered HTML: every value a user or an app chose is escaped on the way in; one layout
//! (readable on a phone, keyboard-navigable, high contrast), forms that carry their CSRF token.

use axum::response::Html;
use std::fmt::Write as _;

/// Escapes text for an HTML element or a quoted attribute.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:1.05rem/1.5 system-ui,sans-serif;max-width:42rem;margin:0 auto;\
padding:1rem;color:#111;background:#fff}a{color:#0645ad}nav{display:flex;flex-wrap:wrap;gap:.4rem 1rem;\
border-bottom:1px solid #888;padding-bottom:.5rem;margin-bottom:1rem}label{display:block;\
font-weight:600;margin-top:.8rem}input,select,button{font:inherit;padding:.45rem;max-width:100%}\
input[type=text],input[type=password],input[type=url]{width:100%;box-sizing:border-box;\
border:1px solid #555}button{margin-top:.8rem;border:2px solid #0645ad;background:#0645ad;color:#fff;\
cursor:pointer}button.secondary{background:#fff;color:#0645ad}button.danger{background:#a10000;\
border-color:#a10000}:focus{outline:3px solid #f90;outline-offset:2px}.notice{border-left:4px solid \
#0645ad;padding:.5rem 1rem;background:#eef}.error{border-left:4px solid #a10000;padding:.5rem 1rem;\
background:#fee}.items{list-style:none;padding:0}.items li{border-bottom:1px solid #ccc;padding:.6rem 0;\
overflow-wrap:anywhere}.items form{margin:.3rem 0 0}.items button{margin-top:0}form{margin:.6rem 0 1rem}\
code,.secret{font-family:monospace;background:#f3f3f3;padding:.1rem .2rem;overflow-wrap:anywhere}\
.inline{display:inline;margin:0}nav button{margin:0;padding:0;border:0;background:none;color:#0645ad;\
text-decoration:underline}\
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff}";

/// Who the page is for: the navigation shows the account's pages when logged in.
pub struct Page<'a> {
    pub title: &'a str,
    pub username: Option<&'a str>,
    pub csrf: Option<&'a str>,
}

impl<'a> Page<'a> {
    /// A page for someone not logged in (no account navigation).
    pub fn anonymous(title: &'a str) -> Self {
        Self {
            title,
            username: None,
            csrf: None,
        }
    }

    pub fn render(&self, body: &str) -> Html<String> {
        let mut nav = String::new();
        match (self.username, self.csrf) {
            (Some(name), Some(csrf)) => {
                // The pages used most; the account's page links every one.
                for (href, label) in [
                    ("/account", "Account"),
                    ("/account/subscriptions", "Subscriptions"),
                    ("/account/listening", "Listening"),
                    ("/account/devices", "Devices"),
                    ("/account/privacy", "Privacy"),
                    ("/account/app-passwords", "App passwords"),
                ] {
                    let _ = write!(nav, r#"<a href="{href}">{label}</a>"#);
                }
                let _ = write!(
                    nav,
                    r#"<form class="inline" method="post" action="/logout">{}<button class="secondary" type="submit">Log out {}</button></form>"#,
                    csrf_field(csrf),
                    esc(name)
                );
            }
            _ => nav.push_str(r#"<a href="/login">Log in</a><a href="/register">Register</a>"#),
        }
        Html(format!(
            r##"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{title} · Balados Sync</title><style>{STYLE}</style></head><body><a class="skip" href="#main">Skip to content</a><header><nav aria-label="Account">{nav}</nav></header><main id="main"><h1>{title}</h1>{body}</main></body></html>"##,
            title = esc(self.title),
        ))
    }
}

/// The hidden field every form posts its CSRF token in.
pub fn csrf_field(token: &str) -> String {
    format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        esc(token)
    )
}

/// A secret just created, shown this once: what it is (`created`), the secret, and the warning.
pub fn shown_once(created: &str, secret: &str, label: &str) -> String {
    format!(
        r#"{}<p>Copy it now: it will not be shown again.</p><p><output class="secret" id="new-secret" aria-label="{}">{}</output></p>"#,
        notice(created),
        esc(label),
        esc(secret)
    )
}

/// Marks a response as never to be stored by any cache (it shows a secret or personal data).
pub fn no_store(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

pub fn notice(text: &str) -> String {
    format!(r#"<p class="notice" role="status">{}</p>"#, esc(text))
}

pub fn error(text: &str) -> String {
    format!(r#"<p class="error" role="alert">{}</p>"#, esc(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            esc(r#"<script>alert("x")</script>&'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
        let page = Page {
            title: "<b>",
            username: Some("<i>"),
            csrf: Some("\"t"),
        }
        .render("");
        assert!(!page.0.contains("<b>") && !page.0.contains("<i>"));
        assert!(page.0.contains("value=\"&quot;t\""));
    }
}
