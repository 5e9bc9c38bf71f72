use super::*;
use proptest::prelude::*;

const SECOND: u64 = 1_000_000_000;

fn limiter(per_second: f64, burst: u32, max_keys: usize) -> RateLimiter<u32> {
    RateLimiter::new(Rate { per_second, burst }, max_keys)
}

#[test]
fn a_burst_is_allowed_at_once_then_the_sustained_rate() {
    let l = limiter(10.0, 5, 100);
    for _ in 0..5 {
        assert_eq!(l.check_at(1, 0), Admission::Allowed);
    }
    let Admission::Limited(wait) = l.check_at(1, 0) else {
        panic!("the sixth request at once is limited");
    };
    assert_eq!(wait, Duration::from_millis(100), "one interval at 10/s");
    // Another key has its own bucket.
    assert_eq!(l.check_at(2, 0), Admission::Allowed);
    // One interval later, one more request.
    assert_eq!(l.check_at(1, SECOND / 10), Admission::Allowed);
    assert!(matches!(l.check_at(1, SECOND / 10), Admission::Limited(_)));
    // After a full second idle, the whole burst again.
    for _ in 0..5 {
        assert_eq!(l.check_at(1, 3 * SECOND), Admission::Allowed);
    }
}

#[test]
fn a_zero_rate_disables_the_limit() {
    let l = limiter(0.0, 1, 10);
    for _ in 0..1_000 {
        assert_eq!(l.check_at(1, 0), Admission::Allowed);
    }
    assert_eq!(l.tracked(), 0);
}

#[test]
fn the_table_of_keys_is_bounded_and_idle_keys_go_first() {
    let l = limiter(1.0, 1, SHARDS);
    // Far more keys than the table holds, all active at the same instant.
    let untracked = (0..1_000)
        .filter(|k| l.check_at(*k, 0) == Admission::Untracked)
        .count();
    assert!(l.tracked() <= SHARDS, "{} tracked", l.tracked());
    assert!(untracked >= 1_000 - SHARDS);
    // Once their buckets are full again, new keys take their places.
    assert_eq!(l.check_at(5_000, 10 * SECOND), Admission::Allowed);
    assert!(l.tracked() <= SHARDS);
}

proptest! {
    /// Whatever the arrival times, a key is never allowed more than its burst plus the rate
    /// times the time elapsed.
    #[test]
    fn never_more_than_the_burst_plus_the_rate(
        gaps in proptest::collection::vec(0u64..SECOND / 5, 1..300),
        per_second in 1u32..50,
        burst in 1u32..20,
    ) {
        let l = limiter(f64::from(per_second), burst, 10);
        let mut now = 0;
        let mut allowed = 0u64;
        for gap in gaps {
            now += gap;
            if l.check_at(7, now) == Admission::Allowed {
                allowed += 1;
            }
        }
        let bound = u64::from(burst) + now * u64::from(per_second) / SECOND + 1;
        prop_assert!(allowed <= bound, "{allowed} > {bound}");
    }
}

#[test]
fn a_batch_passes_once_and_its_key_waits_until_it_is_paid_for() {
    let l = limiter(10.0, 5, 100);
    // 50 commands at once: more than the burst, admitted because one fits now.
    assert_eq!(l.charge_at(1, 50, 0), Admission::Allowed);
    // The key now owes 45 cells: the next request waits about 4.5 s.
    let Admission::Limited(wait) = l.check_at(1, 0) else {
        panic!("the batch is paid for first");
    };
    assert!(wait >= Duration::from_millis(4_500), "{wait:?}");
    assert_eq!(l.check_at(1, 5 * SECOND), Admission::Allowed);
    // Extreme rates and times saturate instead of overflowing (the settings refuse such rates).
    let slow = limiter(1e-12, 1, 10);
    let _ = slow.charge_at(1, u64::MAX, u64::MAX - 1);
    let _ = slow.check_at(1, u64::MAX - 1);
}

fn budget(per_second: f64, burst: u32) -> Budget {
    let rate = Rate { per_second, burst };
    Budget {
        name: "writes",
        users: RateLimiter::new(rate, 100),
        apps: RateLimiter::new(rate, 100),
    }
}

#[tokio::test]
async fn a_paced_writer_waits_within_its_patience_and_is_refused_beyond_it() {
    let b = budget(20.0, 1);
    let patience = Duration::from_secs(1);
    let metrics = crate::metrics::Metrics::default();
    let pace = |user: &'static str, cells: u64, patience: Duration| {
        let (b, metrics) = (&b, &metrics);
        async move { b.pace_user(user, cells, patience, metrics).await }
    };
    pace("u", 1, patience).await.expect("the burst");
    // The next command fits 50 ms later: waited for, not refused.
    let started = std::time::Instant::now();
    pace("u", 1, patience).await.expect("waited for");
    assert!(
        started.elapsed() >= Duration::from_millis(40),
        "{:?}",
        started.elapsed()
    );
    // 100 commands at once pass, and leave the user owing ~5 s: beyond the patience, a 429.
    pace("u", 100, patience).await.expect("one cell fits");
    let refused = pace("u", 1, patience).await.expect_err("over");
    assert_eq!(refused.status.as_u16(), 429);
    assert!(refused.retry_after.is_some_and(|s| s >= 4), "{refused:?}");
    // Another user, and the apps, owe nothing.
    pace("v", 1, Duration::ZERO).await.expect("another user");
    assert_eq!(b.apps.check("web".to_owned()), Admission::Allowed);
    let counted = metrics.render();
    assert!(
        counted
            .contains(r#"balados_rate_limit_total{budget="writes",by="user",outcome="limited"} 1"#),
        "the refusal counted, the wait not: {counted}"
    );
}
