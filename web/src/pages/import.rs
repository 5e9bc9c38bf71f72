//! `/account/import`: an OPML file pasted into a form (the file's text; a textarea needs no
//! multipart parsing and keeps the form's CSRF check like every other), imported by the ingest's
//! OPML import — feeds subscribed, groups made collections — and the outcome listed per feed.

use super::data::web_origin;
use crate::WebState;
use crate::error::PageError;
use crate::form::Form;
use crate::html::{csrf_field, esc, notice};
use crate::session::LoggedIn;
use axum::extract::State;
use axum::response::Html;
use balados_ingest::opml_import::{ImportReport, import};
use balados_schemas::UserId;
use serde::Deserialize;

fn form(who: &LoggedIn, top: &str) -> Html<String> {
    who.page("Import subscriptions").render(&format!(
        r#"{top}<p>Paste an OPML file exported by your podcast app: each feed is subscribed, and each group becomes a collection of its feeds. Importing the same file again changes nothing.</p>
<form method="post" action="/account/import">{csrf}<label for="opml">OPML file</label><textarea id="opml" name="opml" rows="12" required></textarea>
<button type="submit">Import</button></form>"#,
        csrf = csrf_field(&who.session.csrf),
    ))
}

pub async fn page(who: LoggedIn) -> Html<String> {
    form(&who, "")
}

#[derive(Debug, Deserialize)]
pub struct Upload {
    csrf: String,
    opml: String,
}

/// The outcome as a notice and a list.
fn summary(report: &ImportReport) -> String {
    let count = |status: &str| report.feeds.iter().filter(|f| f.status == status).count();
    let feeds: String = report
        .feeds
        .iter()
        .map(|f| format!("<li>{} — {}</li>", esc(&f.url), f.status))
        .collect();
    let collections: String = report
        .collections
        .iter()
        .map(|c| {
            format!(
                "<li>{} — {}, {} feeds</li>",
                esc(&c.title),
                c.status,
                c.feeds
            )
        })
        .collect();
    format!(
        "{}<h2>Feeds</h2><ul>{feeds}</ul><h2>Collections</h2><ul>{collections}</ul>",
        notice(&format!(
            "Imported: {} subscribed, {} already subscribed, {} invalid.",
            count("subscribed"),
            count("already"),
            count("invalid")
        ))
    )
}

pub async fn upload(
    State(state): State<WebState>,
    who: LoggedIn,
    Form(upload): Form<Upload>,
) -> Result<Html<String>, PageError> {
    who.check(&upload.csrf)?;
    let user =
        UserId::parse(&who.session.user_id).map_err(|e| PageError::Invalid(e.to_string()))?;
    let report = import(&state.ingest, &user, web_origin(), &upload.opml, true).await?;
    Ok(form(&who, &summary(&report)))
}
