//! [`LogTail`]: one container's output, followed from its start, cut into activations at
//! OpenWhisk's sentinel lines (spec §7.4).

use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use shoal_router::{LogCollector, LogStream, format_log_line};
use tokio::sync::mpsc;

use crate::driver::LogLine;

/// The line an action proxy prints on stdout and on stderr after each activation.
pub const SENTINEL: &str = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX";

/// The image label (value `true`) by which a `blackbox` image declares that its proxy prints
/// the sentinels (shoal's proxy does). Runtime images of the manifest are expected to print
/// them; other `blackbox` images are not waited for.
pub const SENTINELS_LABEL: &str = "shoal.log-sentinels";

/// The stderr line OpenWhisk appends when an activation's logs may be incomplete: after a
/// developer error, or when the sentinels did not come (spec §3.4).
pub const LOG_DATA_MISSING: &str =
    "The action did not initialize or run as expected. Log data might be missing.";

/// Lines read ahead of the activation that collects them. Past it, shoal stops reading the
/// engine's stream (which buffers, or slows the container), so a container printing between
/// activations cannot grow shoal's memory.
const LINES_AHEAD: usize = 1024;
/// How long to wait for both sentinels after an activation.
const SENTINEL_WAIT: Duration = Duration::from_secs(2);
/// How long to take stray lines when no sentinel is awaited (after a developer error, or
/// from an image that does not print them).
const GRACE: Duration = Duration::from_millis(50);

/// How one activation's lines are cut from the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// At both streams' sentinels, waited for up to 2 s.
    AtSentinels,
    /// After what arrives within 50 ms: the proxy does not print sentinels, or it failed.
    AfterGrace,
}

/// One activation's log lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collected {
    /// Formatted for the activation record, cut at the log limit.
    pub lines: Vec<String>,
    /// Whether the lines end where the activation did: both sentinels came, or none was
    /// awaited. A container whose logs were not delimited would mix them into the next
    /// activation's, so it must not be reused.
    pub delimited: bool,
}

/// The lines a container has written and nobody has collected yet. Owned by whoever holds the
/// container; a background task forwards the engine's stream into it until the container goes.
#[derive(Debug)]
pub struct LogTail {
    lines: mpsc::Receiver<LogLine>,
    /// Whether the engine merges the container's streams (every line comes as stdout): the
    /// two sentinels are then told apart by order.
    merged: bool,
}

impl LogTail {
    /// Starts forwarding `stream` (on the current tokio runtime); `merged` says whether the
    /// engine reports both of the container's streams as one.
    pub fn follow(mut stream: BoxStream<'static, LogLine>, merged: bool) -> Self {
        let (tx, lines) = mpsc::channel(LINES_AHEAD);
        tokio::spawn(async move {
            while let Some(line) = stream.next().await {
                if tx.send(line).await.is_err() {
                    break;
                }
            }
        });
        LogTail { lines, merged }
    }

    /// Collects one activation's lines, formatted for the activation record and cut at
    /// `limit_bytes` (0 keeps none, but the lines are still consumed), as `cut` says. Sentinel
    /// lines are dropped. [`LOG_DATA_MISSING`] is appended on stderr after a
    /// `developer_error`, and when awaited sentinels did not come.
    pub async fn collect(
        &mut self,
        limit_bytes: usize,
        cut: Cut,
        developer_error: bool,
    ) -> Collected {
        let until = tokio::time::Instant::now()
            + match cut {
                Cut::AtSentinels => SENTINEL_WAIT,
                Cut::AfterGrace => GRACE,
            };
        let mut out = LogCollector::new(limit_bytes);
        let (mut stdout_done, mut stderr_done) = (false, false);
        while !(cut == Cut::AtSentinels && stdout_done && stderr_done) {
            let next = tokio::time::timeout_at(until, self.lines.recv()).await;
            let Ok(Some(line)) = next else { break };
            if line.text == SENTINEL {
                match line.stream {
                    _ if self.merged && stdout_done => stderr_done = true,
                    LogStream::Stdout => stdout_done = true,
                    LogStream::Stderr => stderr_done = true,
                }
                continue;
            }
            out.push_at(line.at, line.stream, &line.text);
        }
        let delimited = cut == Cut::AfterGrace || (stdout_done && stderr_done);
        let mut lines = out.finish();
        if limit_bytes > 0 && (developer_error || !delimited) {
            lines.push(format_log_line(
                SystemTime::now(),
                LogStream::Stderr,
                LOG_DATA_MISSING,
            ));
        }
        Collected { lines, delimited }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(stream: LogStream, text: &str) -> LogLine {
        LogLine {
            stream,
            at: SystemTime::now(),
            text: text.into(),
        }
    }

    fn tail(lines: Vec<LogLine>) -> LogTail {
        tail_of(lines, false)
    }

    fn tail_of(lines: Vec<LogLine>, merged: bool) -> LogTail {
        let stream = futures_util::stream::iter(lines).chain(futures_util::stream::pending());
        LogTail::follow(stream.boxed(), merged)
    }

    #[tokio::test]
    async fn a_container_printing_between_activations_is_read_ahead_a_bounded_amount() {
        let pulled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = pulled.clone();
        let endless = futures_util::stream::repeat_with(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            line(LogStream::Stdout, "spam")
        });
        let _tail = LogTail::follow(endless.boxed(), false);
        for _ in 0..20_000 {
            tokio::task::yield_now().await;
        }
        let read = pulled.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            (LINES_AHEAD..=LINES_AHEAD + 2).contains(&read),
            "{read} lines read ahead"
        );
    }

    #[tokio::test]
    async fn merged_streams_are_cut_at_their_second_sentinel() {
        let mut tail = tail_of(
            vec![
                line(LogStream::Stdout, "first"),
                line(LogStream::Stdout, SENTINEL),
                line(LogStream::Stdout, "late"),
                line(LogStream::Stdout, SENTINEL),
                line(LogStream::Stdout, "next"),
            ],
            true,
        );
        let first = tail.collect(1024, Cut::AtSentinels, false).await;
        assert!(first.delimited);
        assert_eq!(first.lines.len(), 2, "{:?}", first.lines);
        assert!(first.lines[1].ends_with("stdout: late"));
    }

    #[tokio::test]
    async fn activations_are_cut_at_both_sentinels() {
        let mut tail = tail(vec![
            line(LogStream::Stdout, "first"),
            line(LogStream::Stdout, SENTINEL),
            line(LogStream::Stderr, "warn"),
            line(LogStream::Stderr, SENTINEL),
            line(LogStream::Stdout, "second"),
            line(LogStream::Stdout, SENTINEL),
            line(LogStream::Stderr, SENTINEL),
        ]);
        let first = tail.collect(1024, Cut::AtSentinels, false).await;
        assert!(first.delimited);
        assert_eq!(first.lines.len(), 2);
        assert!(first.lines[0].ends_with("stdout: first"));
        assert!(first.lines[1].ends_with("stderr: warn"));
        let second = tail.collect(0, Cut::AtSentinels, false).await;
        assert_eq!((second.lines.len(), second.delimited), (0, true));
        let none = tail.collect(1024, Cut::AfterGrace, false).await;
        assert_eq!(
            none,
            Collected {
                lines: vec![],
                delimited: true
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn missing_sentinels_leave_the_logs_undelimited_with_the_notice() {
        let mut tail = tail(vec![
            line(LogStream::Stdout, "out"),
            line(LogStream::Stderr, SENTINEL),
        ]);
        let got = tail.collect(1024, Cut::AtSentinels, false).await;
        assert!(!got.delimited);
        assert_eq!(got.lines.len(), 2);
        assert!(got.lines[0].ends_with("stdout: out"));
        assert!(got.lines[1].ends_with(&format!("stderr: {LOG_DATA_MISSING}")));
    }

    #[tokio::test(start_paused = true)]
    async fn developer_errors_get_the_notice_without_waiting_for_sentinels() {
        let mut tail = tail(vec![line(LogStream::Stderr, "Traceback")]);
        let began = tokio::time::Instant::now();
        let got = tail.collect(1024, Cut::AfterGrace, true).await;
        assert!(began.elapsed() < SENTINEL_WAIT, "no wait for sentinels");
        assert!(got.delimited);
        assert_eq!(got.lines.len(), 2);
        assert!(got.lines[1].ends_with(&format!("stderr: {LOG_DATA_MISSING}")));
        let silent = tail.collect(0, Cut::AfterGrace, true).await;
        assert!(silent.lines.is_empty(), "limits.logs = 0 collects nothing");
    }
}
