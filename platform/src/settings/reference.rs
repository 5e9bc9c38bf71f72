//! The configuration reference (`docs/configuration.md`), written from the built-in defaults
//! file: every setting with its environment variable, its default and the comment above it. The
//! defaults file is what `Settings` is built from first, so the reference names every setting the
//! typed configuration reads (a key missing there fails every start).

/// One setting of the defaults file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// `section.key`.
    pub key: String,
    /// The default as written in the file; `None` for a setting that has none (commented out).
    pub default: Option<String>,
    /// The comment lines above it, joined.
    pub doc: String,
}

impl Setting {
    /// The environment variable that overrides it (one per field of an inline table).
    pub fn variable(&self) -> String {
        let base = format!("BALADOS__{}", self.key.replace('.', "__").to_uppercase());
        let fields: Vec<String> = self
            .default
            .as_deref()
            .and_then(|d| d.strip_prefix('{')?.strip_suffix('}'))
            .map(|inner| {
                inner
                    .split(',')
                    .filter_map(|f| Some(f.split_once('=')?.0.trim().to_uppercase()))
                    .collect()
            })
            .unwrap_or_default();
        if fields.is_empty() {
            base
        } else {
            format!("{base}__{{{}}}", fields.join(","))
        }
    }
}

/// The settings of the defaults file, in its order.
pub fn settings(defaults: &str) -> Vec<Setting> {
    let mut section = String::new();
    let mut comments: Vec<&str> = Vec::new();
    let mut found = Vec::new();
    for line in defaults.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            // A table of free keys (`[kafka.client]`) is described by the comment above it.
            if name.contains('.') {
                found.push(setting(name, "*", None, &comments));
            }
            section = name.to_owned();
            comments.clear();
        } else if line.is_empty() {
            comments.clear();
        } else if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim();
            // A commented-out assignment is a setting without a default.
            match assignment(comment) {
                Some((key, _)) if !section.is_empty() => {
                    found.push(setting(&section, key, None, &comments));
                    comments.clear();
                }
                _ => comments.push(comment),
            }
        } else if let Some((key, value)) = assignment(line) {
            found.push(setting(&section, key, Some(value), &comments));
            comments.clear();
        }
    }
    found
}

fn assignment(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once('=')?;
    let key = key.trim();
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    plain.then(|| (key, value.trim()))
}

fn setting(section: &str, key: &str, default: Option<&str>, comments: &[&str]) -> Setting {
    Setting {
        key: format!("{section}.{key}"),
        default: default.map(str::to_owned),
        doc: comments.join(" "),
    }
}

/// `docs/configuration.md`.
pub fn render(defaults: &str) -> String {
    let mut out = String::from(
        "# Configuration reference\n\n\
         Generated from `platform/src/defaults.toml` (the built-in defaults) by\n\
         `BALADOS_BLESS=1 cargo test -p balados-platform --test configuration`; the test fails when\n\
         this file and the defaults differ.\n\n\
         Each setting is read, in this order, from the built-in default, then a TOML file\n\
         (`--config FILE` or `BALADOS_CONFIG`, with the sections below), then its environment\n\
         variable. Every value is validated at start-up; an invalid one stops the start with a\n\
         message naming the setting.\n",
    );
    let mut section = String::new();
    for s in settings(defaults) {
        let this = s.key.rsplit_once('.').map_or("", |(table, _)| table);
        if this != section {
            section = this.to_owned();
            out.push_str(&format!(
                "\n## `[{section}]`\n\n| Setting | Environment variable | Default | Meaning |\n|---|---|---|---|\n"
            ));
        }
        let default = s.default.as_deref().map_or_else(
            || "(none)".to_owned(),
            |d| format!("`{}`", d.replace('|', "\\|")),
        );
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} |\n",
            s.key,
            s.variable(),
            default,
            s.doc.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# File comment.\n\n[http]\n# Where it listens.\n# Two lines.\naddr = \"127.0.0.1:8080\"\nlimit = 5\n\n[registry]\n# The password.\n# password = \"...\"\nrate = { per_second = 1, burst = 2 }\n# Extra properties.\n[kafka.client]\n";

    #[test]
    fn each_setting_has_its_key_variable_default_and_comment() {
        let found = settings(SAMPLE);
        let keys: Vec<&str> = found.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "http.addr",
                "http.limit",
                "registry.password",
                "registry.rate",
                "kafka.client.*"
            ]
        );
        assert_eq!(found[0].doc, "Where it listens. Two lines.");
        assert_eq!(found[0].default.as_deref(), Some("\"127.0.0.1:8080\""));
        assert_eq!(found[1].doc, "");
        assert_eq!(found[2].default, None);
        assert_eq!(found[2].variable(), "BALADOS__REGISTRY__PASSWORD");
        assert_eq!(
            found[3].variable(),
            "BALADOS__REGISTRY__RATE__{PER_SECOND,BURST}"
        );
        assert_eq!(found[4].doc, "Extra properties.");
    }

    #[test]
    fn the_reference_has_a_table_per_section() {
        let page = render(SAMPLE);
        assert!(page.contains("## `[http]`"));
        assert!(page.contains(
            "| `http.addr` | `BALADOS__HTTP__ADDR` | `\"127.0.0.1:8080\"` | Where it listens. Two lines. |"
        ));
        assert!(page.contains("| `registry.password` | `BALADOS__REGISTRY__PASSWORD` | (none) |"));
    }
}
