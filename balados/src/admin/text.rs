//! How the toolbox prints: aligned plain-text tables for people, and the values that go in them
//! (missing figures, ages, times, reasons stripped of URLs).

use std::fmt::Display;

/// A table of left-aligned columns, two spaces apart.
#[derive(Debug)]
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let header: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
        let lines: Vec<&Vec<String>> = std::iter::once(&header).chain(&self.rows).collect();
        let columns = lines.iter().map(|l| l.len()).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                lines
                    .iter()
                    .filter_map(|l| l.get(c))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for line in lines {
            let mut text = String::new();
            for (cell, width) in line.iter().zip(&widths) {
                text.push_str(cell);
                let pad = width - cell.chars().count() + 2;
                text.extend(std::iter::repeat_n(' ', pad));
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }
}

/// A figure, or `-` when it is not known.
pub fn opt<T: Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// Seconds with one decimal, or `-`.
pub fn seconds(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |s| format!("{s:.1}"))
}

/// A record's time (milliseconds since the epoch) in RFC 3339, or `-`.
pub fn time_ms(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || "-".to_owned(),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )
}

/// A reason fit to print: on one line, every URL replaced by `<url>` (a private feed's URL is a
/// credential, and a decoding error may quote one), at most `max` characters (0: no limit).
pub fn redact(reason: &str, max: usize) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut rest = reason;
    while let Some(at) = find_url(rest) {
        out.push_str(&rest[..at]);
        out.push_str("<url>");
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | ')' | '>' | ','))
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    let one_line: String = out
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if max > 0 && one_line.chars().count() > max {
        let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

fn find_url(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    ["http://", "https://"]
        .iter()
        .filter_map(|scheme| lower.find(scheme))
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let mut table = Table::new(&["GROUP", "P", "LAG"]);
        table.row(vec!["b.aggregator".into(), "0".into(), "12".into()]);
        table.row(vec!["b.materializer".into(), "10".into(), "0".into()]);
        assert_eq!(
            table.render(),
            "GROUP           P   LAG\n\
             b.aggregator    0   12\n\
             b.materializer  10  0\n"
        );
    }

    #[test]
    fn missing_figures_and_times_print_as_a_dash() {
        assert_eq!(opt(None::<i64>), "-");
        assert_eq!(opt(Some(7)), "7");
        assert_eq!(seconds(Some(1.26)), "1.3");
        assert_eq!(seconds(None), "-");
        assert_eq!(time_ms(Some(0)), "1970-01-01T00:00:00Z");
        assert_eq!(time_ms(None), "-");
    }

    #[test]
    fn urls_never_print_and_reasons_stay_on_one_line() {
        let reason = "invalid feed \"https://u:pw@host/feed?token=s3cret\" at\nHTTP://x.y/z, end";
        let shown = redact(reason, 0);
        assert_eq!(shown, "invalid feed \"<url>\" at <url>, end");
        assert!(!shown.contains("s3cret"));
    }

    #[test]
    fn a_long_reason_is_cut_with_an_ellipsis() {
        assert_eq!(redact("abcdefgh", 5), "abcd…");
        assert_eq!(redact("abc", 5), "abc");
        assert_eq!(redact("été", 2), "é…");
    }
}
