//! Where a page of a sync answer ends. Subscriptions and play statuses are each read after the
//! cursor in the order of answers, one row more than a page; a page ends at the earlier of the two
//! lists' page ends, so that everything before the cut — of both lists — is in it and nothing after
//! it: the next page starts exactly there, without a duplicate. Positions are unique per user, so a
//! cut is a position; only rows from before positions existed share one (0), and a cut among them
//! names its last row.

use super::token::{After, Cursor, Kind};

/// Rows of each list in one answer. With typical URLs a play status is about 600 bytes of JSON and
/// a subscription 300, so a page is about a megabyte (at the longest URLs and GUIDs the schemas
/// allow, ten times that); 20 pages hold the most a user may track (20,000 episodes), and it is
/// the page of the gpodder API's answers.
pub const PAGE: usize = 1_000;

/// A row as the order of answers sees it.
pub trait Placed {
    fn sync_position(&self) -> i64;
    fn key(&self) -> &str;
}

#[derive(Debug, PartialEq, Eq)]
pub struct Cut {
    /// How many of the subscriptions read are in the page (the first ones).
    pub subscriptions: usize,
    /// How many of the play statuses read are in the page.
    pub plays: usize,
    /// Where the next page starts; `None` when everything read is in this one.
    pub next: Option<Cursor>,
}

/// The page of `subs` and `plays`, each read after one cursor in the order of answers, at most
/// `page + 1` rows (the one more says whether rows of the cut's position were left out).
pub fn cut<S: Placed, P: Placed>(subs: &[S], plays: &[P], page: usize) -> Cut {
    let page = page.max(1);
    let ends = [
        page_end(subs, page, Kind::Subscription),
        page_end(plays, page, Kind::Play),
    ];
    let Some(end) = ends.into_iter().flatten().min() else {
        return Cut {
            subscriptions: subs.len(),
            plays: plays.len(),
            next: None,
        };
    };
    let (position, kind) = end;
    let subscriptions = before(subs, page, Kind::Subscription, end);
    let plays_taken = before(plays, page, Kind::Play, end);
    // Rows of the cut's position left out — read ones suffice: a row not read comes after the one
    // more — make the cursor name the row it stops after, else the next page would skip them.
    let tied =
        tied_at(&subs[subscriptions..], position) || tied_at(&plays[plays_taken..], position);
    let after = tied.then(|| After {
        kind,
        id: match kind {
            Kind::Subscription => subs[page - 1].key().to_owned(),
            Kind::Play => plays[page - 1].key().to_owned(),
        },
    });
    Cut {
        subscriptions,
        plays: plays_taken,
        next: Some(Cursor { position, after }),
    }
}

/// Where a full page of `rows` ends (one row beyond it was read): its last row's place.
fn page_end<R: Placed>(rows: &[R], page: usize, kind: Kind) -> Option<(i64, Kind)> {
    (rows.len() > page).then(|| (rows[page - 1].sync_position(), kind))
}

/// How many of the first `page` rows come at or before `end` in the order of answers.
fn before<R: Placed>(rows: &[R], page: usize, kind: Kind, end: (i64, Kind)) -> usize {
    (rows.iter().take(page))
        .take_while(|r| (r.sync_position(), kind) <= end)
        .count()
}

fn tied_at<R: Placed>(rows: &[R], position: i64) -> bool {
    rows.iter().any(|r| r.sync_position() == position)
}

#[cfg(test)]
#[path = "page/tests.rs"]
mod tests;
