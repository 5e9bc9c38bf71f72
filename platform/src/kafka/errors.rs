//! What to do about a Kafka error: librdkafka's own classification (retriable / abort the
//! transaction / fatal), the errors that only say the broker connection is down, and the capped
//! back-off with which a retriable call is made again.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// librdkafka says the same call may succeed if made again: retry it, with back-off.
    Retriable,
    /// Abort the transaction and replay from the last committed offsets.
    Abort,
    /// The client is unusable (e.g. fenced): recreate it, then replay.
    Fatal,
}

/// What librdkafka says of the error of a transactional call (`rd_kafka_error_is_fatal`, …).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxnFlags {
    pub fatal: bool,
    pub requires_abort: bool,
    pub retriable: bool,
}

pub fn classify(error: &KafkaError) -> ErrorClass {
    class_of(match error {
        KafkaError::Transaction(e) => Some(TxnFlags {
            fatal: e.is_fatal(),
            requires_abort: e.txn_requires_abort(),
            retriable: e.is_retriable(),
        }),
        _ => None,
    })
}

/// The class of an error from its flags (`None`: not the error of a transactional call). Fatal
/// wins over abortable, abortable over retriable: a retry cannot save a transaction that must be
/// aborted. Anything else inside a transaction (a failed delivery, a timeout of our own) leaves
/// it in doubt: abort and replay, which is always safe because decisions are deterministic.
pub fn class_of(flags: Option<TxnFlags>) -> ErrorClass {
    match flags {
        Some(f) if f.fatal => ErrorClass::Fatal,
        Some(f) if f.requires_abort => ErrorClass::Abort,
        Some(f) if f.retriable => ErrorClass::Retriable,
        _ => ErrorClass::Abort,
    }
}

/// The code under any error, the transactional ones included.
pub fn code_of(error: &KafkaError) -> Option<RDKafkaErrorCode> {
    match error {
        KafkaError::Transaction(e) => Some(e.code()),
        other => other.rdkafka_error_code(),
    }
}

/// Whether the error says another producer took this one's transactional id: a second process
/// configured with the same id, or this one's newer incarnation.
pub fn is_fenced(error: &KafkaError) -> bool {
    code_of(error).is_some_and(fencing_code)
}

fn fencing_code(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::Fenced
            | RDKafkaErrorCode::ProducerFenced
            | RDKafkaErrorCode::InvalidProducerEpoch
    )
}

/// Whether the error only says the broker connection is lost (librdkafka reconnects by itself).
pub fn is_transport(error: &KafkaError) -> bool {
    code_of(error).is_some_and(transport_code)
}

fn transport_code(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::BrokerTransportFailure
            | RDKafkaErrorCode::AllBrokersDown
            | RDKafkaErrorCode::BrokerNotAvailable
    )
}

/// Logs an error a consumer's poll returned. Losing the broker is expected and librdkafka
/// reconnects by itself: those errors come by the dozen per second during an outage, so they are
/// debug-level (readiness and the lag metrics say the broker is gone); anything else is a warning.
pub fn log_consumer_error(component: &'static str, error: &KafkaError) {
    if is_transport(error) {
        tracing::debug!(component, error = %error, "consumer: broker connection lost; reconnecting");
    } else {
        tracing::warn!(component, error = %error, "consumer error");
    }
}

/// Capped exponential back-off: `first`, doubling, never more than `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Self {
            next: first.min(max),
            max,
        }
    }

    /// The delay to wait now; the following one is twice as long, up to the cap.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }
}

/// How a call that librdkafka says is retriable is made again: at most `attempts` calls in all,
/// with a capped back-off between them.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub first: Duration,
    pub max: Duration,
}

impl Retry {
    /// Makes `call` until it succeeds, fails with an error that is not retriable, or has been
    /// made `attempts` times; `on_retry` hears each error retried and the delay before the next
    /// call (to count and log it). The last error is returned as it is: its class stays
    /// `Retriable`, and the caller's recovery (abort and replay) takes over.
    pub fn run<T, E>(
        &self,
        class: impl Fn(&E) -> ErrorClass,
        call: impl FnMut() -> Result<T, E>,
        on_retry: impl FnMut(&E, Duration),
    ) -> Result<T, E> {
        self.run_with(class, call, on_retry, std::thread::sleep)
    }

    fn run_with<T, E>(
        &self,
        class: impl Fn(&E) -> ErrorClass,
        mut call: impl FnMut() -> Result<T, E>,
        mut on_retry: impl FnMut(&E, Duration),
        mut sleep: impl FnMut(Duration),
    ) -> Result<T, E> {
        let mut backoff = Backoff::new(self.first, self.max);
        let mut made = 0;
        loop {
            made += 1;
            match call() {
                Err(e) if made < self.attempts && class(&e) == ErrorClass::Retriable => {
                    let delay = backoff.next_delay();
                    on_retry(&e, delay);
                    sleep(delay);
                }
                done => return done,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(fatal: bool, requires_abort: bool, retriable: bool) -> Option<TxnFlags> {
        Some(TxnFlags {
            fatal,
            requires_abort,
            retriable,
        })
    }

    #[test]
    fn fatal_wins_then_abort_then_retriable() {
        assert_eq!(class_of(flags(true, true, true)), ErrorClass::Fatal);
        assert_eq!(class_of(flags(false, true, true)), ErrorClass::Abort);
        assert_eq!(class_of(flags(false, false, true)), ErrorClass::Retriable);
        assert_eq!(class_of(flags(false, false, false)), ErrorClass::Abort);
    }

    #[test]
    fn errors_outside_a_transactional_call_abort_and_replay() {
        assert_eq!(class_of(None), ErrorClass::Abort);
        let delivery = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert_eq!(classify(&delivery), ErrorClass::Abort);
        assert_eq!(classify(&KafkaError::Canceled), ErrorClass::Abort);
    }

    #[test]
    fn fencing_and_transport_codes_are_told_apart() {
        let fenced = KafkaError::MessageProduction(RDKafkaErrorCode::ProducerFenced);
        assert!(is_fenced(&fenced));
        assert!(!is_transport(&fenced));
        let down = KafkaError::MessageConsumption(RDKafkaErrorCode::AllBrokersDown);
        assert!(is_transport(&down));
        assert!(!is_fenced(&down));
        assert!(!is_fenced(&KafkaError::Canceled));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        let delays: Vec<u128> = (0..4).map(|_| backoff.next_delay().as_millis()).collect();
        assert_eq!(delays, [100, 200, 350, 350]);
    }

    #[derive(Debug, PartialEq)]
    enum Fake {
        Retriable,
        Abort,
    }

    fn fake_class(e: &Fake) -> ErrorClass {
        match e {
            Fake::Retriable => ErrorClass::Retriable,
            Fake::Abort => ErrorClass::Abort,
        }
    }

    const RETRY: Retry = Retry {
        attempts: 4,
        first: Duration::from_millis(10),
        max: Duration::from_millis(25),
    };

    #[test]
    fn a_retriable_error_is_retried_with_capped_backoff_and_counted() {
        let mut results = vec![Err(Fake::Retriable), Err(Fake::Retriable), Ok(7)].into_iter();
        let (mut retried, mut slept) = (0, Vec::new());
        let done = RETRY.run_with(
            fake_class,
            || results.next().expect("called at most 3 times"),
            |_, _| retried += 1,
            |d| slept.push(d.as_millis()),
        );
        assert_eq!(done, Ok(7));
        assert_eq!(retried, 2);
        assert_eq!(slept, [10, 20]);
    }

    #[test]
    fn an_abortable_error_is_not_retried() {
        let mut calls = 0;
        let done: Result<(), Fake> = RETRY.run_with(
            fake_class,
            || {
                calls += 1;
                Err(Fake::Abort)
            },
            |_, _| panic!("not retried"),
            |_| panic!("no sleep"),
        );
        assert_eq!(done, Err(Fake::Abort));
        assert_eq!(calls, 1);
    }

    #[test]
    fn retries_end_after_the_attempts_with_the_last_error() {
        let mut calls = 0;
        let mut slept = Vec::new();
        let done: Result<(), Fake> = RETRY.run_with(
            fake_class,
            || {
                calls += 1;
                Err(Fake::Retriable)
            },
            |_, _| {},
            |d| slept.push(d.as_millis()),
        );
        assert_eq!(done, Err(Fake::Retriable));
        assert_eq!(calls, 4);
        assert_eq!(slept, [10, 20, 25]);
    }
}
