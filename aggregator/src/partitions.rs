//! The users' aggregates per partition, in memory, each partition with the offset of `commands`
//! its state is committed at. Restoring a partition reads the whole of it from `user-state`, so the
//! store avoids it where the state it holds is provably still right:
//!
//! - a failed batch is undone (the users it touched get back their state from before it) instead
//!   of dropping everything; the partition is kept only if the committed offset is still the one
//!   the state was at — a batch whose commit failed on the client's side may have been committed
//!   on the broker's;
//! - a partition taken away by a rebalance is parked, and taken back as it is if it comes back
//!   with the committed offset unchanged (nobody committed work on it meanwhile) — a broker restart
//!   makes the group revoke and reassign every partition, to the same instance.
//!
//! A disk-backed store can replace the maps behind the same methods.

use balados_domain::UserState;
use balados_schemas::UserId;
use std::collections::HashMap;

#[derive(Debug, Default)]
struct Partition {
    users: HashMap<UserId, UserState>,
    /// The offset of `commands` this state is committed at.
    committed: i64,
    /// Taken away by a rebalance; valid again only if the committed offset has not moved.
    parked: bool,
}

#[derive(Debug, Default)]
pub struct StateStore {
    partitions: HashMap<i32, Partition>,
    /// Per partition, the users the current batch touched, as they were before it (`None`: not
    /// there).
    undo: HashMap<i32, HashMap<UserId, Option<UserState>>>,
}

/// Whether a partition's state can be used for the next batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Ready,
    /// Usable if the committed offset is still this one (see [`StateStore::confirm`]).
    Parked(i64),
    /// Must be restored.
    Missing,
}

impl StateStore {
    pub fn standing(&self, partition: i32) -> Standing {
        match self.partitions.get(&partition) {
            None => Standing::Missing,
            Some(p) if p.parked => Standing::Parked(p.committed),
            Some(_) => Standing::Ready,
        }
    }

    /// The offset of `commands` the partition's state is committed at: a command below it was
    /// decided already (a consumer sent back by its broker must not decide it again).
    pub fn committed(&self, partition: i32) -> Option<i64> {
        self.partitions.get(&partition).map(|p| p.committed)
    }

    /// A restored partition, committed at `committed`.
    pub fn load(&mut self, partition: i32, users: HashMap<UserId, UserState>, committed: i64) {
        self.partitions.insert(
            partition,
            Partition {
                users,
                committed,
                parked: false,
            },
        );
    }

    /// Keeps the partition if `committed` (the group's committed offset now) is where its state
    /// is; drops it otherwise. Returns whether it was kept.
    pub fn confirm(&mut self, partition: i32, committed: i64) -> bool {
        match self.partitions.get_mut(&partition) {
            Some(p) if p.committed == committed => {
                p.parked = false;
                true
            }
            Some(_) => {
                self.partitions.remove(&partition);
                false
            }
            None => false,
        }
    }

    /// A rebalance took the partition away: its state may be taken back (see `confirm`).
    pub fn park(&mut self, partition: i32) {
        if let Some(p) = self.partitions.get_mut(&partition) {
            p.parked = true;
        }
    }

    /// Drops the partitions not in `assigned` (parked ones that did not come back).
    pub fn retain(&mut self, assigned: &[i32]) {
        self.partitions.retain(|p, _| assigned.contains(p));
    }

    pub fn user_count(&self) -> usize {
        self.partitions.values().map(|p| p.users.len()).sum()
    }

    /// The user's state (a new, empty one for a user never seen), remembered as it was before the
    /// current batch.
    pub fn user_mut(&mut self, partition: i32, user: &UserId) -> &mut UserState {
        let users = &mut self.partitions.entry(partition).or_default().users;
        let touched = self.undo.entry(partition).or_default();
        // Looked up first: the key is cloned only on a user's first touch in the batch.
        if !touched.contains_key(user) {
            touched.insert(user.clone(), users.get(user).cloned());
        }
        if !users.contains_key(user) {
            users.insert(user.clone(), UserState::default());
        }
        users.get_mut(user).expect("inserted above")
    }

    /// The batch is committed: its offsets per partition are the new committed ones.
    pub fn commit(&mut self, next_offsets: impl IntoIterator<Item = (i32, i64)>) {
        self.undo.clear();
        for (partition, next) in next_offsets {
            if let Some(p) = self.partitions.get_mut(&partition) {
                p.committed = next;
            }
        }
    }

    /// The batch failed: every user it touched gets back their state from before it.
    pub fn undo(&mut self) {
        for (partition, touched) in self.undo.drain() {
            let Some(p) = self.partitions.get_mut(&partition) else {
                continue;
            };
            for (user, before) in touched {
                match before {
                    Some(state) => p.users.insert(user, state),
                    None => p.users.remove(&user),
                };
            }
        }
    }

    /// After a failed batch is undone: keeps the partitions whose committed offset is the one
    /// their state is at (`committed` per partition; absent ones are dropped).
    pub fn confirm_all(&mut self, committed: &HashMap<i32, i64>) {
        self.partitions
            .retain(|partition, p| committed.get(partition) == Some(&p.committed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> UserId {
        UserId::parse(name).expect("valid")
    }

    #[test]
    fn a_failed_batch_is_undone_user_by_user() {
        let mut store = StateStore::default();
        store.load(0, HashMap::new(), 10);
        store.user_mut(0, &user("a")).sequence = 3;
        store.commit([(0, 12)]);
        store.user_mut(0, &user("a")).sequence = 5;
        store.user_mut(0, &user("b")).sequence = 1;
        store.undo();
        assert_eq!(store.user_count(), 1, "b was never committed");
        assert_eq!(store.user_mut(0, &user("a")).sequence, 3);
        store.undo();
        // The partition stands if nothing was committed since, else it is restored.
        store.confirm_all(&HashMap::from([(0, 12)]));
        assert_eq!(store.standing(0), Standing::Ready);
        store.confirm_all(&HashMap::from([(0, 14)]));
        assert_eq!(store.standing(0), Standing::Missing);
    }

    #[test]
    fn a_parked_partition_comes_back_only_where_nobody_committed() {
        let mut store = StateStore::default();
        store.load(1, HashMap::new(), 7);
        store.load(2, HashMap::new(), 9);
        store.park(1);
        store.park(2);
        assert_eq!(store.standing(1), Standing::Parked(7));
        assert!(store.confirm(1, 7));
        assert_eq!(store.standing(1), Standing::Ready);
        assert!(!store.confirm(2, 11), "another instance committed on it");
        assert_eq!(store.standing(2), Standing::Missing);
        store.retain(&[2]);
        assert_eq!(store.standing(1), Standing::Missing);
    }
}
