//! [`LogTail`]: one container's output, followed from its start, cut into activations at
//! OpenWhisk's sentinel lines (spec §7.4).

use std::time::Instant;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use shoal_router::{LogCollector, LogStream};
use tokio::sync::mpsc;

use crate::driver::LogLine;

/// The line an action proxy prints on stdout and on stderr after each activation.
pub const SENTINEL: &str = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX";

/// The lines a container has written and nobody has collected yet. Owned by whoever holds the
/// container; a background task forwards the engine's stream into it until the container goes.
#[derive(Debug)]
pub struct LogTail {
    lines: mpsc::UnboundedReceiver<LogLine>,
}

impl LogTail {
    /// Starts forwarding `stream` (on the current tokio runtime).
    pub fn follow(mut stream: BoxStream<'static, LogLine>) -> Self {
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(line) = stream.next().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        LogTail { lines }
    }

    /// Collects one activation's lines, formatted for the activation record and cut at
    /// `limit_bytes` (0 keeps none, but the lines are still consumed). With `to_sentinels`,
    /// reads until both streams' sentinels (or `until`); without, takes what arrives by
    /// `until` (after a developer error the proxy may never print them).
    pub async fn collect(
        &mut self,
        limit_bytes: usize,
        until: Instant,
        to_sentinels: bool,
    ) -> Vec<String> {
        let mut out = LogCollector::new(limit_bytes);
        let (mut stdout_done, mut stderr_done) = (false, false);
        while !(to_sentinels && stdout_done && stderr_done) {
            let next = tokio::time::timeout_at(until.into(), self.lines.recv()).await;
            let Ok(Some(line)) = next else { break };
            if line.text == SENTINEL {
                match line.stream {
                    LogStream::Stdout => stdout_done = true,
                    LogStream::Stderr => stderr_done = true,
                }
                continue;
            }
            out.push_at(line.at, line.stream, &line.text);
        }
        out.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn line(stream: LogStream, text: &str) -> LogLine {
        LogLine {
            stream,
            at: SystemTime::now(),
            text: text.into(),
        }
    }

    #[tokio::test]
    async fn activations_are_cut_at_both_sentinels() {
        let lines = vec![
            line(LogStream::Stdout, "first"),
            line(LogStream::Stdout, SENTINEL),
            line(LogStream::Stderr, "warn"),
            line(LogStream::Stderr, SENTINEL),
            line(LogStream::Stdout, "second"),
            line(LogStream::Stdout, SENTINEL),
            line(LogStream::Stderr, SENTINEL),
        ];
        let mut tail = LogTail::follow(futures_util::stream::iter(lines).boxed());
        let until = Instant::now() + Duration::from_secs(2);
        let first = tail.collect(1024, until, true).await;
        assert_eq!(first.len(), 2);
        assert!(first[0].ends_with("stdout: first"));
        assert!(first[1].ends_with("stderr: warn"));
        let second = tail.collect(0, until, true).await;
        assert!(second.is_empty());
        let none = tail
            .collect(1024, Instant::now() + Duration::from_millis(20), false)
            .await;
        assert!(none.is_empty());
    }
}
