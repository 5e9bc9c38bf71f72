use super::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone)]
struct Row {
    position: i64,
    id: String,
}

impl Placed for Row {
    fn sync_position(&self) -> i64 {
        self.position
    }
    fn key(&self) -> &str {
        &self.id
    }
}

fn rows(list: &[(i64, &str)]) -> Vec<Row> {
    (list.iter())
        .map(|(position, id)| Row {
            position: *position,
            id: (*id).to_owned(),
        })
        .collect()
}

#[test]
fn lists_shorter_than_a_page_are_delivered_whole_and_end_the_reading() {
    let subs = rows(&[(3, "a"), (5, "b")]);
    let plays = rows(&[(4, "x")]);
    let expected = Cut {
        subscriptions: 2,
        plays: 1,
        next: None,
    };
    assert_eq!(cut(&subs, &plays, 2), expected);
}

#[test]
fn a_full_list_cuts_the_other_at_its_last_position() {
    // Subscriptions fill the page at 5; the plays beyond 5 wait for the next page.
    let subs = rows(&[(1, "a"), (5, "b"), (9, "c")]);
    let plays = rows(&[(2, "x"), (6, "y")]);
    let expected = Cut {
        subscriptions: 2,
        plays: 1,
        next: Some(Cursor::at(5)),
    };
    assert_eq!(cut(&subs, &plays, 2), expected);
}

#[test]
fn when_both_lists_are_full_the_earlier_end_is_the_cut() {
    let subs = rows(&[(1, "a"), (8, "b"), (9, "c")]);
    let plays = rows(&[(2, "x"), (4, "y"), (10, "z")]);
    let expected = Cut {
        subscriptions: 1,
        plays: 2,
        next: Some(Cursor::at(4)),
    };
    assert_eq!(cut(&subs, &plays, 2), expected);
}

#[test]
fn a_cut_among_rows_of_one_position_names_the_row_it_stops_after() {
    // Rows from before positions existed, all at 0.
    let subs = rows(&[(0, "a"), (0, "b"), (0, "c")]);
    let plays = rows(&[(0, "x")]);
    let expected = Cut {
        subscriptions: 2,
        plays: 0,
        next: Some(Cursor {
            position: 0,
            after: Some(After {
                kind: Kind::Subscription,
                id: "b".into(),
            }),
        }),
    };
    assert_eq!(cut(&subs, &plays, 2), expected);
    // The play at 0 was left out too, even when the subscriptions' one more is beyond 0.
    let subs = rows(&[(0, "a"), (0, "b"), (3, "c")]);
    assert_eq!(cut(&subs, &plays, 2).next, expected.next);
}

/// The readings' SQL, as a model: the rows of `kind` after `cursor` in the order of answers, one
/// more than a page (ids in byte order, as `COLLATE "C"` compares them).
fn read(
    user: &BTreeMap<(Kind, String), (i64, u32)>,
    kind: Kind,
    cursor: &Cursor,
    page: usize,
) -> Vec<Row> {
    let tied = cursor.tied_after(kind);
    let mut found: Vec<Row> = (user.iter())
        .filter(|((k, id), (position, _))| {
            *k == kind
                && (*position > cursor.position
                    || (*position == cursor.position && tied.is_some_and(|t| id.as_str() > t)))
        })
        .map(|((_, id), (position, _))| Row {
            position: *position,
            id: id.clone(),
        })
        .collect();
    found.sort_by(|a, b| (a.position, &a.id).cmp(&(b.position, &b.id)));
    found.truncate(page + 1);
    found
}

fn kind_of(n: u8) -> Kind {
    if n.is_multiple_of(2) {
        Kind::Subscription
    } else {
        Kind::Play
    }
}

proptest! {
    /// A user's rows — some from before positions existed (all at 0), the others at positions of
    /// their own — read page after page while writes change or add rows between pages: every page
    /// holds at most a page of each list, the reading ends, no version of a row comes twice, and the
    /// version of every row at the last page has come (what changed before a cut comes again).
    #[test]
    fn paging_under_concurrent_writes_never_loses_a_change(
        legacy in proptest::collection::btree_set((0u8..2, 0u16..400), 0..60),
        fresh in proptest::collection::btree_set((0u8..2, 0u16..400), 0..60),
        writes in proptest::collection::vec(proptest::collection::vec((0u8..2, 0u16..420), 0..4), 0..30),
        page in 1usize..8,
    ) {
        let mut user: BTreeMap<(Kind, String), (i64, u32)> = BTreeMap::new();
        for (k, n) in legacy {
            user.insert((kind_of(k), format!("r{n}")), (0, 0));
        }
        let mut last = 100;
        for (k, n) in fresh {
            last += 1;
            user.entry((kind_of(k), format!("r{n}"))).or_insert((last, 0));
        }
        let mut delivered: BTreeSet<(Kind, String, u32)> = BTreeSet::new();
        let mut cursor = Cursor::START;
        let mut writes = writes.into_iter();
        for pages in 0.. {
            prop_assert!(pages <= 400, "the reading ends");
            let subs = read(&user, Kind::Subscription, &cursor, page);
            let plays = read(&user, Kind::Play, &cursor, page);
            let c = cut(&subs, &plays, page);
            prop_assert!(c.subscriptions <= page && c.plays <= page);
            let taken = (subs.iter().take(c.subscriptions).map(|r| (Kind::Subscription, r)))
                .chain(plays.iter().take(c.plays).map(|r| (Kind::Play, r)));
            for (kind, row) in taken {
                let version = user[&(kind, row.id.clone())].1;
                prop_assert!(delivered.insert((kind, row.id.clone(), version)), "twice: {row:?}");
            }
            let Some(next) = c.next else { break };
            cursor = next;
            for (k, n) in writes.next().unwrap_or_default() {
                last += 1;
                let entry = user.entry((kind_of(k), format!("r{n}"))).or_insert((last, 0));
                *entry = (last, entry.1 + 1);
            }
        }
        for ((kind, id), (_, version)) in &user {
            prop_assert!(delivered.contains(&(*kind, id.clone(), *version)), "lost: {id} {version}");
        }
    }
}
