//! Turning raw element and attribute text into the values an [`Episode`](super::Episode) keeps.
//! Every function here is total: odd input yields `None` or a cleaned string, never an error.

use chrono::{DateTime, Utc};

use super::{MAX_GUID_BYTES, MAX_TITLE_CHARS, MAX_URL_BYTES};

/// Longest entity name looked for in attribute values; longer runs are a bare `&`, not a reference.
const MAX_ENTITY_NAME: usize = 32;

/// The character an entity reference (without its `&` and `;`) stands for: the five predefined
/// entities and numeric character references. Anything else (a DTD-defined entity, which feeds
/// cannot rely on anyway) is `None`, and is dropped by callers.
pub(super) fn resolve_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => resolve_char_ref(name.strip_prefix('#')?),
    }
}

fn resolve_char_ref(number: &str) -> Option<char> {
    let (digits, radix) = match number.strip_prefix(['x', 'X']) {
        Some(hex) => (hex, 16),
        None => (number, 10),
    };
    // `from_str_radix` would accept a leading `+`, which XML does not.
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let code = u32::from_str_radix(digits, radix).ok()?;
    char::from_u32(code).filter(|&c| c != '\0')
}

/// Unescapes an attribute value. quick-xml's own unescaping fails on an unknown entity or a bare
/// `&`; feeds have both, so unknown references are dropped and a bare `&` is kept as written.
pub(super) fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let name_end = after
            .char_indices()
            .take(MAX_ENTITY_NAME + 1)
            .find(|&(_, c)| !is_entity_name_char(c))
            .and_then(|(i, c)| (c == ';').then_some(i));
        match name_end {
            Some(end) => {
                out.extend(resolve_entity(&after[..end]));
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Name characters of XML entities and character references (`#x1F600`), ASCII subset: wider
/// than needed only matters for unknown entities, which are dropped anyway.
fn is_entity_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '#' | '_' | '-' | '.' | ':')
}

/// Trims and drops control characters other than tab and line breaks, and the non-characters
/// U+FFFE/U+FFFF: XML 1.0 does not allow them in text, yet they arrive through character
/// references, and would corrupt what we store or later re-emit.
pub(super) fn clean(raw: &str) -> String {
    raw.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r')
                || !(c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}'))
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A title as displayed: cleaned, runs of whitespace (line breaks included) made one space,
/// and bounded so a hostile feed cannot make us store megabytes per episode.
pub(crate) fn title(raw: &str) -> String {
    let collapsed = clean(raw).split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.chars().take(MAX_TITLE_CHARS).collect()
}

/// A guid is an identity: a truncated one would collide, so an oversized one is dropped instead.
pub(crate) fn guid(raw: &str) -> Option<String> {
    let guid = clean(raw);
    (!guid.is_empty() && guid.len() <= MAX_GUID_BYTES).then_some(guid)
}

/// A media URL we are willing to hand to players: http(s) only (no `javascript:`, `file:`…),
/// bounded, and without whitespace or controls that would make it ambiguous once re-emitted.
pub(super) fn media_url(raw: &str) -> Option<String> {
    let url = raw.trim();
    let has_scheme = |scheme: &str| {
        url.get(..scheme.len())
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(scheme))
    };
    let acceptable = (has_scheme("http://") || has_scheme("https://"))
        && url.len() <= MAX_URL_BYTES
        && !url.chars().any(|c| c.is_control() || c.is_whitespace());
    acceptable.then(|| url.to_owned())
}

/// The longest media type kept (RFC 6838: 127 characters for the type and the subtype each).
const MAX_TYPE_BYTES: usize = 255;

/// A media type: cleaned text, `None` when empty or longer than a media type can be.
pub(super) fn media_type(raw: &str) -> Option<String> {
    let text = clean(raw);
    (!text.is_empty() && text.len() <= MAX_TYPE_BYTES).then_some(text)
}

/// An RFC 2822 date. Feeds often write the zone as `UTC` or `Z`, which RFC 2822 lacks, or omit
/// it; those are read as UTC rather than losing the date.
pub(super) fn date(raw: &str) -> Option<DateTime<Utc>> {
    let text = raw.trim();
    let without_zone = ["UTC", "Z", "GMT"]
        .iter()
        .find_map(|zone| text.strip_suffix(zone))
        .unwrap_or(text);
    [
        text.to_owned(),
        format!("{} +0000", without_zone.trim_end()),
    ]
    .iter()
    .find_map(|candidate| DateTime::parse_from_rfc2822(candidate).ok())
    .map(|date| date.with_timezone(&Utc))
}

/// `<itunes:duration>`: `SS`, `MM:SS` or `HH:MM:SS`, the seconds possibly fractional (floored).
pub(super) fn duration(raw: &str) -> Option<u64> {
    let parts: Vec<&str> = raw.trim().split(':').collect();
    let (seconds, leading) = parts.split_last()?;
    if leading.len() > 2 {
        return None;
    }
    let whole_seconds = match seconds.split_once('.') {
        Some((whole, fraction)) if fraction.bytes().all(|b| b.is_ascii_digit()) => whole,
        Some(_) => return None,
        None => seconds,
    };
    leading
        .iter()
        .chain(std::iter::once(&whole_seconds))
        .try_fold(0u64, |total, part| {
            total.checked_mul(60)?.checked_add(digits(part)?)
        })
}

fn digits(text: &str) -> Option<u64> {
    // `u64::from_str` would accept a sign, which no duration has.
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}
