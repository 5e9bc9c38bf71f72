//! Cookies as the server's front ends (the account pages, the gpodder API) read and set them.

use axum::http::{HeaderMap, HeaderValue, header};

/// The value of cookie `name` in the request; an empty value (a cookie being cleared) is none.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value)
}

/// A `Set-Cookie` for the whole site, never readable by scripts; `Secure` when the server is
/// reached over TLS. `max_age` 0 clears the cookie.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age: i64,
    same_site: &str,
    secure: bool,
) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_exact_name_and_an_empty_one_is_none() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("x_session=no; session=yes; cleared="),
        );
        assert_eq!(cookie(&headers, "session"), Some("yes"));
        assert_eq!(cookie(&headers, "cleared"), None);
        let set = set_cookie("session", "v", 60, "Lax", true);
        assert_eq!(
            set.to_str().expect("ascii"),
            "session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
    }
}
