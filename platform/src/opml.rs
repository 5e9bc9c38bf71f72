//! OPML, as podcast apps exchange subscription lists: the writer of our exports (the account
//! page's and the API's, collections as outline groups) and a reader of what apps export.
//!
//! The reader is a small scanner rather than an XML parser: OPML files in the wild are often not
//! well-formed XML, and only the outlines' `xmlUrl` and the groups' `text`/`title` matter.

/// A feed outline of an OPML file: its `xmlUrl` as written (entities decoded, not normalised), and
/// the title of the group it sits in (the innermost, when groups nest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    pub url: String,
    pub group: Option<String>,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// OPML 2.0: every feed of `feeds` once at the top level, then each group of `grouped`
/// (`(title, feed URL)` pairs, a group's pairs adjacent) as an outline holding its feeds.
pub fn write(feeds: &[&str], grouped: &[(String, String)]) -> String {
    let outline = |url: &str| {
        format!(
            r#"    <outline type="rss" text="{0}" xmlUrl="{0}"/>"#,
            escape(url)
        )
    };
    let mut body: Vec<String> = feeds.iter().map(|f| outline(f)).collect();
    let mut titles: Vec<&str> = grouped.iter().map(|(t, _)| t.as_str()).collect();
    titles.dedup();
    for title in titles {
        body.push(format!(r#"    <outline text="{}">"#, escape(title)));
        body.extend(
            grouped
                .iter()
                .filter(|(t, _)| t == title)
                .map(|(_, url)| format!("  {}", outline(url))),
        );
        body.push("    </outline>".to_owned());
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head><title>Balados Sync subscriptions</title></head>\n  <body>\n{}\n  </body>\n</opml>\n",
        body.join("\n")
    )
}

/// A user's subscriptions as OPML, from the read models: every active feed at the top level,
/// each collection but the default one as a group (the account page's export and
/// `GET /api/v1/subscriptions/opml`).
pub async fn export(
    readers: &sqlx::PgPool,
    user_id: &str,
    with_groups: bool,
) -> Result<String, sqlx::Error> {
    let feeds: Vec<(String,)> = sqlx::query_as(
        "SELECT feed_url FROM users.subscriptions
         WHERE user_id = $1 AND subscribed_at IS NOT NULL
           AND (unsubscribed_at IS NULL OR unsubscribed_at <= subscribed_at)
         ORDER BY feed_url",
    )
    .bind(user_id)
    .fetch_all(readers)
    .await?;
    // The collections are their own data: only a caller who may read them gets them as groups.
    let grouped: Vec<(String, String)> = if with_groups {
        sqlx::query_as(
            "SELECT c.title, f.feed_url FROM users.collections c
             JOIN users.collection_feeds f USING (user_id, collection_id)
             WHERE c.user_id = $1 AND NOT c.is_default ORDER BY c.title, f.position",
        )
        .bind(user_id)
        .fetch_all(readers)
        .await?
    } else {
        Vec::new()
    };
    let feeds: Vec<&str> = feeds.iter().map(|(url,)| url.as_str()).collect();
    Ok(write(&feeds, &grouped))
}

/// Feed outlines read at most: a list longer than any import accepts is cut here (one more than
/// this, so that callers can tell), before its cost grows with the input.
pub const MAX_READ: usize = 10_000;

/// The longest group name kept (in characters); longer ones are cut.
const MAX_GROUP_CHARS: usize = 200;

/// The feed outlines of an OPML text, in order, with their groups; `None` when the text is not
/// OPML. An outline without `xmlUrl` that holds others is a group, named by its `text` (else
/// `title`); a blank name is no group. Linear in the text: at most [`MAX_READ`] + 1 outlines.
pub fn read(body: &str) -> Option<Vec<Outline>> {
    if !body.contains("<opml") {
        return None;
    }
    let mut outlines = Vec::new();
    // One entry per open outline: the group it names, if it is one, and where in this stack the
    // nearest named one (itself included) is — so that a feed finds its group at once.
    let mut open: Vec<(Option<String>, Option<usize>)> = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find("outline") {
        if outlines.len() > MAX_READ {
            break;
        }
        let before = &rest[..at];
        let after = &rest[at + "outline".len()..];
        if before.ends_with("</") {
            open.pop();
            rest = after;
            continue;
        }
        if !before.ends_with('<') {
            rest = after;
            continue;
        }
        let Some(end) = after.find('>') else {
            break;
        };
        let tag = &after[..end];
        let closed = tag.trim_end().ends_with('/');
        let url = attribute(tag, "xmlUrl").map(|u| unescape(&u));
        let name = match &url {
            Some(_) => None,
            None => attribute(tag, "text")
                .or_else(|| attribute(tag, "title"))
                .map(|t| {
                    unescape(&t)
                        .trim()
                        .chars()
                        .take(MAX_GROUP_CHARS)
                        .collect::<String>()
                })
                .filter(|t| !t.is_empty()),
        };
        let inherited = open.last().and_then(|(_, nearest)| *nearest);
        if let Some(url) = url {
            let group = inherited.and_then(|i| open[i].0.clone());
            outlines.push(Outline { url, group });
        }
        if !closed {
            let nearest = if name.is_some() {
                Some(open.len())
            } else {
                inherited
            };
            open.push((name, nearest));
        }
        rest = &after[end + 1..];
    }
    Some(outlines)
}

/// The value of attribute `name` (its case ignored, either quote) within a tag's text.
pub fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag;
    while let Some(at) = rest.find('=') {
        let key = rest[..at].trim_end();
        let key = key
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .unwrap_or(key);
        let after = rest[at + 1..].trim_start();
        let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let value_end = after[1..].find(quote)?;
        if key.eq_ignore_ascii_case(name) {
            return Some(after[1..=value_end].to_owned());
        }
        rest = &after[value_end + 2..];
    }
    None
}

/// XML entities decoded; an unknown or malformed one is left as written.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let entity = &rest[at..];
        // Only the next few bytes: an entity is short, and searching the whole rest for every `&`
        // would make a long value cost its length squared.
        let Some(end) = entity.bytes().take(11).position(|b| b == b';') else {
            out.push('&');
            rest = &entity[1..];
            continue;
        };
        let decoded = match &entity[1..end] {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            numeric => numeric
                .strip_prefix("#x")
                .or_else(|| numeric.strip_prefix("#X"))
                .map(|hex| u32::from_str_radix(hex, 16))
                .or_else(|| numeric.strip_prefix('#').map(str::parse::<u32>))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &entity[end + 1..];
            }
            None => {
                out.push('&');
                rest = &entity[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(url: &str, group: Option<&str>) -> Outline {
        Outline {
            url: url.to_owned(),
            group: group.map(str::to_owned),
        }
    }

    #[test]
    fn what_we_write_reads_back_with_its_groups() {
        let text = write(
            &["https://a.example/feed?x=1&y=2", "https://b.example/rss"],
            &[("News & more".into(), "https://b.example/rss".into())],
        );
        assert!(text.contains(r#"xmlUrl="https://a.example/feed?x=1&amp;y=2""#));
        assert_eq!(
            read(&text),
            Some(vec![
                feed("https://a.example/feed?x=1&y=2", None),
                feed("https://b.example/rss", None),
                feed("https://b.example/rss", Some("News & more")),
            ])
        );
    }

    #[test]
    fn opml_from_other_apps_is_read_with_nested_and_unnamed_groups() {
        let body = r#"<?xml version='1.0'?><opml version="1.0"><body>
            <outline text="Tech"><outline text="Deep" title="x"><outline XMLURL='http://a.example/rss?a=1&amp;b=2'/></outline>
            <outline text="b" xmlUrl="http://b.example/rss"></outline></outline>
            <outline text=" "><outline xmlUrl="http://c.example/&#x72;ss"/></outline>
            <outline title="no url"/><outlines/></body></opml>"#;
        assert_eq!(
            read(body),
            Some(vec![
                feed("http://a.example/rss?a=1&b=2", Some("Deep")),
                feed("http://b.example/rss", Some("Tech")),
                feed("http://c.example/rss", None),
            ])
        );
        assert_eq!(read("not opml"), None);
        assert_eq!(read("<opml><outline xmlUrl=\"x"), Some(vec![]));
    }

    #[test]
    fn hostile_shapes_are_read_in_bounds() {
        // Thousands of ampersands in a value: each left as written (no entity within reach).
        let amps = "&".repeat(20_000);
        let text =
            format!(r#"<opml><body><outline xmlUrl="https://a.example/{amps}"/></body></opml>"#);
        assert_eq!(
            read(&text).expect("OPML")[0].url.len(),
            "https://a.example/".len() + 20_000
        );
        // Deep unnamed nesting under one group: every feed finds it; a huge name is cut.
        let name = "n".repeat(5_000);
        let mut text = format!(r#"<opml><body><outline text="{name}">"#);
        text.push_str(&"<outline>".repeat(2_000));
        for n in 0..(MAX_READ + 50) {
            text.push_str(&format!(r#"<outline xmlUrl="https://f.example/{n}"/>"#));
        }
        let outlines = read(&text).expect("OPML");
        assert_eq!(
            outlines.len(),
            MAX_READ + 1,
            "cut after one more than the most read"
        );
        let group = outlines[0].group.as_deref().expect("the group");
        assert_eq!(group.chars().count(), 200);
    }

    #[test]
    fn unescaping_leaves_unknown_entities_alone() {
        assert_eq!(
            unescape("a &bogus; &#xZZ; & b &amp;"),
            "a &bogus; &#xZZ; & b &"
        );
    }
}
